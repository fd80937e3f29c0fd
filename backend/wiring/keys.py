"""API keys from settings: ``SWITCHBOARD_API_KEYS`` entries, or the dev key in development.

Secrets are hashed (SHA-256) as soon as they are read; only hashes are kept.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from adapters.keys.hashing import hash_secret
from backend.settings import AuthSettings, ConfigError, ServerSettings

DEV_TENANT = "dev"
DEV_KEY_FILE = "dev-api-key"


@dataclass(frozen=True, slots=True)
class KeyEntry:
    key_id: str
    secret_sha256: str
    tenant_id: str
    scopes: frozenset[str]


def parse_keys(raw: str) -> list[KeyEntry]:
    """Parse ``secret:tenant:scope+scope`` entries (comma-separated; ``sha256=<hex>`` instead of a secret)."""
    entries = []
    for position, chunk in enumerate(filter(None, (c.strip() for c in raw.split(","))), start=1):
        parts = chunk.rsplit(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ConfigError(
                f"SWITCHBOARD_API_KEYS entry #{position} must look like secret:tenant:scope+scope "
                "(e.g. sk-123:acme:chat or sha256=<hex>:acme:chat+admin)"
            )
        secret, tenant, scopes = parts
        digest = secret.removeprefix("sha256=") if secret.startswith("sha256=") else hash_secret(secret)
        if len(digest) != 64:
            raise ConfigError(f"SWITCHBOARD_API_KEYS entry #{position}: sha256= needs 64 hex characters")
        entries.append(
            KeyEntry(
                key_id=f"env-{digest[:8]}",
                secret_sha256=digest,
                tenant_id=tenant,
                scopes=frozenset(s for s in scopes.split("+") if s),
            )
        )
    return entries


def dev_key(server: ServerSettings, *, create: bool) -> str | None:
    """The development key stored under ``var_dir`` (created on first use when ``create``)."""
    path = Path(server.var_dir) / DEV_KEY_FILE
    if path.is_file():
        return path.read_text().strip()
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = "sb_dev_" + secrets.token_urlsafe(24)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


def key_problems(auth: AuthSettings, server: ServerSettings) -> list[str]:
    try:
        entries = parse_keys(auth.api_keys)
    except ConfigError as exc:
        return [str(exc)]
    del entries  # outside dev, keys may also live in the database: checked at startup (api_keys factory)
    return []


def static_key_entries(auth: AuthSettings, server: ServerSettings) -> list[KeyEntry]:
    entries = parse_keys(auth.api_keys)
    if not entries and server.env == "dev":
        secret = dev_key(server, create=True)
        assert secret is not None
        entries = [
            KeyEntry(
                key_id="dev",
                secret_sha256=hash_secret(secret),
                tenant_id=DEV_TENANT,
                scopes=frozenset({"chat", "admin"}),
            )
        ]
    return entries
