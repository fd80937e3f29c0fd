"""Provider-neutral language of Switchboard: msgspec Structs, stream events, domain errors and ports.

This package imports only the standard library and msgspec (enforced by tests/architecture).
"""
