"""``StreamLog`` adapters: in-process memory (one instance) and Redis Streams (resume on any instance)."""
