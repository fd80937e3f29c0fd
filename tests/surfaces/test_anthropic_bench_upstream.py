"""The benchmark kit's fast upstream (``ops/bench/upstream.py``) behind an Anthropic-kind instance:
``/v1/messages`` passes through to it, whole and streamed, as the pass-through benchmark drives it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anthropic
import pytest

from ops.bench.upstream import running_upstream
from tests.support.app import KEY_A, live_server, make_settings

TOKENS = 5


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with running_upstream(tokens=TOKENS, token_delay_ms=1) as upstream:
        env = {"SWITCHBOARD_PROVIDERS": "anthropic", "ANTHROPIC_BASE_URL": upstream.url}
        async with live_server(make_settings(tmp_path, **env)) as url:
            async with anthropic.AsyncAnthropic(api_key=KEY_A, base_url=url, max_retries=0) as client:
                yield client


async def test_pass_through_to_the_bench_upstream(api: anthropic.AsyncAnthropic) -> None:
    hi = [{"role": "user", "content": "hi"}]
    message = await api.messages.create(model="anthropic", max_tokens=16, messages=hi)  # type: ignore[arg-type]
    assert message.id == "msg_bench" and message.content[0].type == "text"
    async with api.messages.stream(model="anthropic", max_tokens=16, messages=hi) as stream:  # type: ignore[arg-type]
        pieces = [piece async for piece in stream.text_stream]
        final = await stream.get_final_message()
    assert len(pieces) == TOKENS and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == TOKENS
