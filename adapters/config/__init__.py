"""Configuration adapters: reload notices shared by instances."""
