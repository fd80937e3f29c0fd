"""API key stores: static (from settings) and SQL-backed (created and revoked at runtime)."""
