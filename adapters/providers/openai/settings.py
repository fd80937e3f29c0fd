"""Settings of an OpenAI provider instance, and their validation before startup.

An instance named ``NAME`` reads ``SWITCHBOARD_PROVIDER_<NAME>_<FIELD>``; the instance named ``openai``
also falls back to ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` (``KIND.env_defaults``).
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

import msgspec

ApiMode = Literal["responses", "chat_completions"]
API_MODES: tuple[str, ...] = ("responses", "chat_completions")


class OpenAISettings(msgspec.Struct, frozen=True, kw_only=True):
    """How one OpenAI (or OpenAI-compatible) provider instance connects and behaves.

    ``api_key``: secret for the upstream; may be omitted only for a local base URL (vLLM, Ollama...).
    ``base_url``: the upstream's ``/v1`` URL.
    ``api_mode``: ``responses`` (OpenAI's Responses API) or ``chat_completions`` (what most
    OpenAI-compatible servers speak).
    ``model``: the model used when neither the turn nor the agent names one.
    ``timeout_s``: read timeout of one upstream request; ``connect_timeout_s``: its connect timeout.
    ``agent_engine``: what runs agent turns routed here first when the agent leaves it to the instance
    (``engine = "auto"``): ``tool_loop`` (Switchboard's neutral loop, the fastest) or ``agents_sdk`` (the
    OpenAI Agents SDK driven through this instance's native model).
    ``tracing``: export Agents SDK traces to OpenAI (off by default: nothing is exported unasked).
    ``moderation_model``: model of ``/v1/moderations``; ``realtime_model``: default realtime model;
    ``embedding_model``: model of ``/v1/embeddings`` when a client names only this instance.
    ``stream_idle_timeout_s``: longest silence between two pieces of a streamed answer before the call
    fails as ``stalled`` (a stream's wait for its response headers is bounded by ``timeout_s``); raise it
    for reasoning models that think silently.
    ``max_connections``: pooled HTTP connections to the upstream at most (calls beyond it wait, within
    ``connect_timeout_s``, for a free one).
    """

    api_key: str | None = None
    base_url: str = "https://api.openai.com/v1"
    api_mode: ApiMode = "responses"
    model: str = "gpt-4.1-mini"
    timeout_s: float = 60.0
    connect_timeout_s: float = 5.0
    agent_engine: Literal["tool_loop", "agents_sdk"] = "tool_loop"
    tracing: bool = False
    moderation_model: str = "omni-moderation-latest"
    embedding_model: str = "text-embedding-3-small"
    realtime_model: str = "gpt-4o-realtime-preview"
    stream_idle_timeout_s: float = 60.0
    max_connections: int = 1000


def env_name(instance: str, field: str) -> str:
    """The variable that sets ``field`` of the instance named ``instance``."""
    return f"SWITCHBOARD_PROVIDER_{instance.upper()}_{field.upper()}"


def is_local_host(host: str | None) -> bool:
    """True for loopback, ``localhost``, ``*.local`` and private-LAN addresses (no key needed there)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in {"localhost", "host.docker.internal"} or host.endswith((".local", ".localhost")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def validate_settings(name: str, settings: OpenAISettings) -> list[str]:
    """Problems with ``settings`` of the instance ``name``, each naming the variable to fix.

    Never includes the API key itself.
    """
    problems: list[str] = []
    parts = urlsplit(settings.base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        problems.append(
            f"{env_name(name, 'base_url')} must be an http(s) URL such as https://api.openai.com/v1"
        )
    if settings.api_mode not in API_MODES:
        problems.append(f"{env_name(name, 'api_mode')} must be one of: {', '.join(API_MODES)}")
    if not settings.api_key and not (parts.hostname and is_local_host(parts.hostname)):
        hint = " (or OPENAI_API_KEY)" if name.lower() == "openai" else ""
        problems.append(
            f"{env_name(name, 'api_key')}{hint} is not set: provider {name!r} needs an API key for "
            f"{parts.hostname or 'its base URL'} (only a local base URL may go without one)"
        )
    if not settings.model.strip():
        problems.append(f"{env_name(name, 'model')} must not be empty")
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
