"""Realtime channels over the OpenAI Realtime WebSocket API."""
