"""Telemetry adapters: metrics (prometheus-client)."""
