"""``GET /v1/models`` and ``POST /v1/embeddings`` through the official ``openai`` client."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest

from ops.mock_upstream import embeddings as mock_embeddings
from ops.mock_upstream.server import running_mock
from tests.support.app import KEY_A, live_server, make_settings


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[openai.AsyncOpenAI]:
    env = {"SWITCHBOARD_ROUTE_FAST": "scripted:tiny"}
    async with live_server(make_settings(tmp_path, **env)) as url:
        async with openai.AsyncOpenAI(api_key=KEY_A, base_url=f"{url}/v1", max_retries=0) as opened:
            yield opened


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


async def test_models_lists_routes_providers_and_pairs(api: openai.AsyncOpenAI) -> None:
    ids = [model.id async for model in api.models.list()]
    assert {"fast", "scripted", "scripted/scripted-1", "scripted/tiny"} <= set(ids)
    one = await api.models.retrieve("fast")
    assert (one.id, one.owned_by) == ("fast", "switchboard")
    with pytest.raises(openai.NotFoundError) as missing:
        await api.models.retrieve("no-such-model")
    assert missing.value.code == "model_not_found"


async def test_offline_embeddings_are_deterministic_and_close_for_close_texts(
    api: openai.AsyncOpenAI,
) -> None:
    texts = ["the cat sat on the mat", "the cat sat on a mat", "quarterly tax filing deadline"]
    first = await api.embeddings.create(input=texts, model="scripted")  # the client asks for base64
    second = await api.embeddings.create(input=texts[0], model="scripted", encoding_format="float")
    vectors = [item.embedding for item in first.data]
    assert [item.index for item in first.data] == [0, 1, 2]
    assert len(vectors[0]) == 64
    assert vectors[0] == pytest.approx(second.data[0].embedding, abs=1e-6)
    assert cosine(vectors[0], vectors[1]) > 0.7 > cosine(vectors[0], vectors[2])
    assert first.model == "scripted-embed-1"
    assert first.usage.prompt_tokens == 6 + 6 + 4


async def test_dimensions_and_bad_input(api: openai.AsyncOpenAI) -> None:
    short = await api.embeddings.create(input="hello", model="scripted", dimensions=16)
    assert len(short.data[0].embedding) == 16
    with pytest.raises(openai.BadRequestError) as bad:
        await api.embeddings.create(input=[[1, 2, 3]], model="scripted")
    assert bad.value.param is not None and bad.value.param.startswith("input")


async def test_embeddings_through_an_openai_kind_upstream(tmp_path: Path) -> None:
    async with running_mock() as mock:
        env = {
            "SWITCHBOARD_PROVIDERS": "local",
            "SWITCHBOARD_PROVIDER_LOCAL_KIND": "openai",
            "SWITCHBOARD_PROVIDER_LOCAL_BASE_URL": mock.base_url,
            "SWITCHBOARD_PROVIDER_LOCAL_API_MODE": "chat_completions",
            "SWITCHBOARD_PROVIDER_LOCAL_EMBEDDING_MODEL": "mock-embed-small",
        }
        async with live_server(make_settings(tmp_path, **env)) as url:
            async with openai.AsyncOpenAI(api_key=KEY_A, base_url=f"{url}/v1", max_retries=0) as api:
                answer = await api.embeddings.create(input=["alpha", "beta"], model="local")
                with pytest.raises(openai.InternalServerError):
                    await api.embeddings.create(input="x", model="local/fault-500")
    assert [item.embedding for item in answer.data] == [
        pytest.approx(mock_embeddings.vector("alpha")),
        pytest.approx(mock_embeddings.vector("beta")),
    ]
    [sent, _failed, *_] = [r.body for r in mock.requests_to("/v1/embeddings")]
    assert (sent["model"], sent["input"], sent["encoding_format"]) == (
        "mock-embed-small",
        ["alpha", "beta"],
        "float",
    )
