"""How the app is served: uvicorn options and the hardened HTTP protocol (docs/security.md)."""
