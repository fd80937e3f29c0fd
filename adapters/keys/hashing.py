"""How API key secrets are hashed and compared: SHA-256 hex, constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "sb_"


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a secret (what stores keep instead of the secret)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def digests_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_secret() -> str:
    """A fresh secret: ``sb_`` followed by 32 random bytes, URL-safe base64."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)
