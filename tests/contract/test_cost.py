"""Cost end to end: a priced deployment's calls are priced once, stored with their usage, summed by
``GET /v1/usage`` and counted by the cost metric; an unpriced one is reported as unpriced."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.app import KEY_A, app_client, auth, make_settings


async def test_cost_is_stored_with_usage_summed_by_day_and_metered(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        SWITCHBOARD_PRICES="scripted=2,10",
        SWITCHBOARD_METRICS="true",
        SWITCHBOARD_METRICS_AUTH="none",
    )
    async with app_client(settings) as client:
        answers = [
            (await client.post("/v1/chat", json={"message": f"price me {n}"}, headers=auth(KEY_A))).json()
            for n in range(3)
        ]
        body = {"model": "scripted", "messages": [{"role": "user", "content": "and me"}]}
        completion = (await client.post("/v1/chat/completions", json=body, headers=auth(KEY_A))).json()
        summary = (await client.get("/v1/usage", headers=auth(KEY_A))).json()
        metrics = (await client.get("/metrics")).text
    usages = [a["usage"] for a in answers] + [
        {
            "input_tokens": completion["usage"]["prompt_tokens"],
            "output_tokens": completion["usage"]["completion_tokens"],
        }
    ]
    expected = sum(u["input_tokens"] * 2 + u["output_tokens"] * 10 for u in usages) / 1e6
    [row] = summary["data"]
    assert row["cost_usd"] == pytest.approx(expected)
    assert row["unpriced"] == 0
    metered = sum(
        s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "switchboard_cost_usd_total"
    )
    assert metered == pytest.approx(expected)


async def test_an_unpriced_model_is_counted_as_unpriced(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path)) as client:
        await client.post("/v1/chat", json={"message": "free?"}, headers=auth(KEY_A))
        [row] = (await client.get("/v1/usage", headers=auth(KEY_A))).json()["data"]
    assert (row["cost_usd"], row["unpriced"]) == (0.0, 1)
