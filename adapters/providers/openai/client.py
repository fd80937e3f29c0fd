"""The ``openai`` client for one instance: kept only as the reference ``ops/bench/codec.py`` measures our
native codecs against (no request path uses it). Created lazily in the running loop."""

from __future__ import annotations

import openai

from adapters.providers.openai.settings import OpenAISettings

LOCAL_PLACEHOLDER_KEY = "no-key-needed"


class ClientHolder:
    """Creates the instance's client on first use (aiohttp pools belong to an event loop) and closes it.

    The client's own retries are off (``max_retries=0``) so both sides of the benchmark make one call. A local upstream
    without a key gets a placeholder key (the ``openai`` client insists on one; it never reads the
    environment for it here).
    """

    def __init__(self, settings: OpenAISettings) -> None:
        self._settings = settings
        self._client: openai.AsyncOpenAI | None = None

    def get(self) -> openai.AsyncOpenAI:
        """The shared client (created on the first call)."""
        if self._client is None:
            settings = self._settings
            timeout = openai.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
            self._client = openai.AsyncOpenAI(
                api_key=settings.api_key or LOCAL_PLACEHOLDER_KEY,
                base_url=settings.base_url,
                http_client=openai.DefaultAioHttpClient(timeout=timeout),
                max_retries=0,
                timeout=timeout,
            )
        return self._client

    async def aclose(self) -> None:
        """Close the pooled connections (safe to call twice)."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()
