"""Naming where a turn runs: route aliases, provider/model pairs, pinned providers, the default route,
and the answers that say who answered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.contract.test_chat import assert_problem
from tests.support.app import app_client, auth, make_settings

TWO = {
    "SWITCHBOARD_PROVIDERS": "scripted,backup",
    "SWITCHBOARD_PROVIDER_BACKUP_KIND": "scripted",
    "SWITCHBOARD_PROVIDER_BACKUP_MODEL": "backup-1",
    "SWITCHBOARD_ROUTE_FAST": "backup:tiny, scripted",
}


async def chat(client: Any, **body: Any) -> Any:
    return await client.post("/v1/chat", json={"message": "hello", **body}, headers=auth())


async def test_a_route_alias_runs_on_its_first_deployment_and_says_so(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path, **TWO)) as client:
        body = (await chat(client, model="fast")).json()
    assert (body["route"], body["provider"], body["model"], body["attempts"]) == (
        "fast",
        "backup",
        "tiny",
        [],
    )


async def test_provider_slash_model_pins_that_pair(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path, **TWO)) as client:
        body = (await chat(client, model="backup/custom-7")).json()
    assert (body["provider"], body["model"]) == ("backup", "custom-7")


async def test_a_named_provider_is_pinned_with_its_default_model(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path, **TWO)) as client:
        body = (await chat(client, provider="backup")).json()
    assert (body["route"], body["provider"], body["model"]) == ("backup", "backup", "backup-1")


async def test_naming_nothing_takes_the_default_route(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path, **TWO)) as client:
        body = (await chat(client)).json()
        routes = (await client.get("/v1/routes", headers=auth())).json()["data"]
    assert (body["route"], body["provider"]) == ("default", "scripted")
    default = next(r for r in routes if r["name"] == "default")
    assert [d["id"] for d in default["deployments"]] == ["scripted:scripted-1", "backup:backup-1"]
    fast = next(r for r in routes if r["name"] == "fast")
    assert (fast["source"], fast["strategy"]) == ("env", "priority")
    assert all(d["health"]["state"] == "ok" for d in fast["deployments"])


async def test_a_stream_says_route_and_answering_provider(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path, **TWO)) as client:
        response = await client.post(
            "/v1/chat/stream", json={"message": "hi", "model": "fast"}, headers=auth()
        )
    text = response.text
    assert '"route":"fast"' in text
    assert '"protocol":"2"' in text
    completed = text.split("event: run.completed\ndata: ")[1]
    assert '"provider":"backup"' in completed
    assert '"model":"tiny"' in completed


async def test_an_unknown_provider_is_a_422_naming_the_field(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path, **TWO)) as client:
        response = await chat(client, provider="nope")
    assert_problem(response, 422, "invalid_request", field="provider")


async def test_an_agent_needing_structured_output_on_a_provider_without_it_is_a_clear_422(
    tmp_path: Path,
) -> None:
    catalog = tmp_path / "agents.toml"
    catalog.write_text(
        'default = "extractor"\n[[agents]]\nkey = "extractor"\ndescription = "x"\ninstructions = "x"\n'
        'output_schema = { type = "object", properties = { city = { type = "string" } } }\n'
    )
    settings = make_settings(tmp_path, SWITCHBOARD_AGENTS_FILE=str(catalog))
    async with app_client(settings) as client:
        response = await chat(client)
    body = assert_problem(response, 422, "invalid_request", field="model")
    assert "structured_output" in body["detail"]
