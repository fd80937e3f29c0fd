"""Shared test support: app factories, fakes and SSE parsing (imported as ``tests.support``)."""
