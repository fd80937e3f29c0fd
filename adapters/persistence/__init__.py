"""Persistence adapters: SQLAlchemy (SQLite, Postgres), Redis and in-memory stores, plus migrations."""
