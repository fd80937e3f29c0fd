"""Alembic migrations of the Switchboard schema (run through ``adapters.persistence.migrate``)."""
