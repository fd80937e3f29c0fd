"""``RateLimiter`` adapters: in-process memory (one instance) and Redis (shared by every instance)."""
