"""Process-level tuning applied once the services are built (heap, garbage collector)."""
