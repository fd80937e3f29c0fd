"""Routing adapters: deployment health boards (memory, Redis) and the routes file."""
