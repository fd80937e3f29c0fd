"""API keys from settings: ``SWITCHBOARD_API_KEYS`` entries, or the dev key in development.

Secrets are hashed (SHA-256) as soon as they are read; only hashes are kept.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from adapters.keys.hashing import hash_secret
from backend.settings import AuthSettings, ConfigError, ServerSettings
from contracts.auth import KNOWN_SCOPES as KNOWN_SCOPES  # re-exported: ops and tests import them from here
from contracts.auth import scopes_problem as scopes_problem
from contracts.auth import tenant_problem as tenant_problem

DEV_TENANT = "dev"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
CONFIGURED_KEY_PREFIX = "env-"
"""Key ids of ``SWITCHBOARD_API_KEYS`` entries; stored keys' ids start with ``key_``."""


def split_scopes(raw: str) -> list[str]:
    """Scopes separated by ``+`` (as in ``SWITCHBOARD_API_KEYS``) or ``,`` (as CLIs usually are)."""
    return [scope.strip() for scope in raw.replace(",", "+").split("+") if scope.strip()]


DEV_KEY_FILE = "dev-api-key"


@dataclass(frozen=True, slots=True)
class KeyEntry:
    key_id: str
    secret_sha256: str
    tenant_id: str
    scopes: frozenset[str]


def parse_keys(raw: str) -> list[KeyEntry]:
    """Parse ``secret:tenant:scope+scope`` entries (comma-separated; ``sha256=<hex>`` instead of a secret).

    A secret with spaces around it (it could never be presented: headers are trimmed) and a secret given
    twice (the second entry would silently move the key to another tenant or scopes) are errors; messages
    name entries by position, never by secret."""
    entries: list[KeyEntry] = []
    first_seen: dict[str, int] = {}
    for position, chunk in enumerate(filter(None, (c.strip() for c in raw.split(","))), start=1):
        parts = chunk.rsplit(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ConfigError(
                f"SWITCHBOARD_API_KEYS entry #{position} must look like secret:tenant:scope+scope "
                "(e.g. sk-123:acme:chat or sha256=<hex>:acme:chat+admin)"
            )
        secret, tenant, scopes = parts
        if secret != secret.strip() or not secret.strip():
            raise ConfigError(
                f"SWITCHBOARD_API_KEYS entry #{position}: the secret has spaces around it; remove them"
            )
        digest = (
            secret.removeprefix("sha256=").lower() if secret.startswith("sha256=") else hash_secret(secret)
        )
        where = f"SWITCHBOARD_API_KEYS entry #{position}"
        if not _HEX64.fullmatch(digest):
            raise ConfigError(f"{where}: sha256= needs 64 hex characters")
        problem = tenant_problem(tenant) or scopes_problem(scopes.split("+"))
        if problem:
            raise ConfigError(f"{where}: {problem}")
        if digest in first_seen:
            raise ConfigError(
                f"{where}: the same secret as entry #{first_seen[digest]}; each key must appear once "
                "(a repeated secret would silently take the last entry's tenant and scopes)"
            )
        first_seen[digest] = position
        entries.append(
            KeyEntry(
                key_id=f"{CONFIGURED_KEY_PREFIX}{digest[:8]}",
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


def key_problems(auth: AuthSettings) -> list[str]:
    """Malformed ``SWITCHBOARD_API_KEYS`` entries. (Outside dev, having no key at all is checked at
    startup, since keys may also live in the database: see the ``api_keys`` factory.)"""
    try:
        parse_keys(auth.api_keys)
    except ConfigError as exc:
        return [str(exc)]
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


def is_configured_key(key_id: str) -> bool:
    """Whether ``key_id`` names a key from ``SWITCHBOARD_API_KEYS`` (stored keys are ``key_...``)."""
    return key_id.startswith(CONFIGURED_KEY_PREFIX)
