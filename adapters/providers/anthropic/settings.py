"""Settings of an Anthropic provider instance, and their validation before startup.

An instance named ``NAME`` reads ``SWITCHBOARD_PROVIDER_<NAME>_<FIELD>``; the instance named ``anthropic``
also falls back to ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` (``KIND.env_defaults``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec

from adapters.providers.openai.settings import env_name, is_local_host


class AnthropicSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How one Anthropic Messages API instance connects and behaves.

    ``api_key``: sent as ``x-api-key``; may be omitted only for a local base URL (a mock, a proxy).
    ``base_url``: the upstream's root URL, without ``/v1`` (calls go to ``<base_url>/v1/messages``).
    ``model``: the model used when neither the call nor the agent names one.
    ``anthropic_version``: the ``anthropic-version`` header of every call.
    ``betas``: comma-separated ``anthropic-beta`` features sent with every call (empty: none).
    ``max_tokens``: sent when a neutral request sets no limit (the Messages API requires one), and
    added to a passed-through body that has none.
    ``timeout_s``: read timeout of one upstream request; ``connect_timeout_s``: its connect timeout.
    ``stream_idle_timeout_s``: longest silence between two pieces of a streamed answer before the call
    fails as ``stalled`` (Anthropic sends ``ping`` events while a model thinks, so silence means trouble).
    ``max_connections``: pooled HTTP connections to the upstream at most.
    """

    api_key: str | None = None
    base_url: str = "https://api.anthropic.com"
    model: str = "claude-sonnet-4-5"
    anthropic_version: str = "2023-06-01"
    betas: str = ""
    max_tokens: int = 4096
    timeout_s: float = 120.0
    connect_timeout_s: float = 5.0
    stream_idle_timeout_s: float = 60.0
    max_connections: int = 1000

    def beta_header(self) -> str:
        """The ``anthropic-beta`` value (features trimmed, empty ones dropped)."""
        return ",".join(b.strip() for b in self.betas.split(",") if b.strip())


def validate_settings(name: str, settings: AnthropicSettings) -> list[str]:
    """Problems with ``settings`` of the instance ``name``, each naming the variable to fix (never the
    key itself)."""
    problems: list[str] = []
    parts = urlsplit(settings.base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        problems.append(
            f"{env_name(name, 'base_url')} must be an http(s) URL such as https://api.anthropic.com"
        )
    elif parts.path.rstrip("/").endswith("/v1"):
        problems.append(
            f"{env_name(name, 'base_url')} must not end with /v1: calls go to <base_url>/v1/messages"
        )
    if not settings.api_key and not (parts.hostname and is_local_host(parts.hostname)):
        hint = " (or ANTHROPIC_API_KEY)" if name.lower() == "anthropic" else ""
        problems.append(
            f"{env_name(name, 'api_key')}{hint} is not set: provider {name!r} needs an API key for "
            f"{parts.hostname or 'its base URL'} (only a local base URL may go without one)"
        )
    if not settings.model.strip():
        problems.append(f"{env_name(name, 'model')} must not be empty")
    if not settings.anthropic_version.strip():
        problems.append(f"{env_name(name, 'anthropic_version')} must not be empty (e.g. 2023-06-01)")
    if settings.max_tokens < 1:
        problems.append(f"{env_name(name, 'max_tokens')} must be >= 1 (the Messages API requires a limit)")
    for field, value in (
        ("timeout_s", settings.timeout_s),
        ("connect_timeout_s", settings.connect_timeout_s),
        ("stream_idle_timeout_s", settings.stream_idle_timeout_s),
    ):
        if value <= 0:
            problems.append(f"{env_name(name, field)} must be > 0")
    if settings.max_connections < 1:
        problems.append(f"{env_name(name, 'max_connections')} must be >= 1")
    return problems
