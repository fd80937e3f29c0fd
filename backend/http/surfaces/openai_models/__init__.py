"""``GET /v1/models`` and ``GET /v1/models/{id}``: what a client may put in ``model``."""
