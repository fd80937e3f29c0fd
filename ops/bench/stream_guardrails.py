"""What streamed output guardrails cost: time to first token and CPU per delta (docs/benchmarks.md).

``python -m ops.bench guardrails``: a live server on the offline provider pacing tokens 20 ms apart (a
realistic model), sequential ``POST /v1/chat/stream`` turns under four tenant policies: no output rules,
the default (card numbers redacted), strict output rules (every PII kind, blocked terms, a regex), and the
same strict rules with ``stream_output: raw`` (the opt-out). Time to first token (TTFT) is from sending the
request to receiving the first ``text.delta``. Then the filter alone: microseconds per delta.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ADMIN = "bench-admin-key"
TOKEN_DELAY_MS = 20
PROMPT = "Please write to ann.lee@example.org or call +33 1 23 45 67 89 about the order"
STRICT_RULES: list[dict[str, Any]] = [
    {"type": "pii", "kinds": ["email", "phone", "card"], "action": "redact", "applies_to": "output"},
    {
        "type": "blocked_terms",
        "terms": ["top secret", "launch code"],
        "action": "redact",
        "applies_to": "output",
    },
    {
        "type": "regex",
        "name": "ticket",
        "pattern": r"TICKET-\d{4,8}",
        "action": "redact",
        "applies_to": "output",
    },
]
POLICIES: dict[str, dict[str, Any] | None] = {
    "no output rules": {"name": "default", "rules": []},
    "default (card redact)": None,
    "strict output rules": {"name": "default", "rules": STRICT_RULES},
    "strict, stream_output=raw": {"name": "default", "rules": STRICT_RULES, "stream_output": "raw"},
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _ttft(http: Any, body: dict[str, Any]) -> tuple[float, float]:
    start = time.perf_counter()
    first = None
    async with http.stream(
        "POST", "/v1/chat/stream", json=body, headers={"Authorization": f"Bearer {ADMIN}"}
    ) as r:
        async for line in r.aiter_lines():
            if first is None and line == "event: text.delta":
                first = time.perf_counter() - start
    return (first if first is not None else float("nan")), time.perf_counter() - start


async def _server_run(turns: int) -> dict[str, tuple[float, float, float]]:
    import httpx
    import uvicorn

    from backend.app import create_app
    from backend.serving.options import uvicorn_options
    from backend.settings import load_settings

    root = Path(tempfile.mkdtemp(prefix="sb-bench-guardrails-"))
    settings = load_settings(
        {
            "SWITCHBOARD_ENV": "test",
            "SWITCHBOARD_VAR_DIR": str(root / "var"),
            "SWITCHBOARD_API_KEYS": f"{ADMIN}:bench:admin",
            "SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS": str(TOKEN_DELAY_MS),
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "SWITCHBOARD_LOG_FORMAT": "json",
        },
        dotenv=None,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, **uvicorn_options(settings.server))
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    results: dict[str, tuple[float, float, float]] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for label, policy in POLICIES.items():
                if policy is not None:
                    put = await http.put(
                        "/v1/guardrails/policies/default",
                        json=policy,
                        headers={"Authorization": f"Bearer {ADMIN}"},
                    )
                    put.raise_for_status()
                else:  # back to the file's default policy: a tenant override of the same rules
                    await http.put(
                        "/v1/guardrails/policies/default",
                        json={
                            "name": "default",
                            "rules": [
                                {"type": "max_length", "max_chars": 16000, "applies_to": "input"},
                                {"type": "pii", "kinds": ["card"], "action": "redact", "applies_to": "both"},
                            ],
                        },
                        headers={"Authorization": f"Bearer {ADMIN}"},
                    )
                await _ttft(http, {"message": PROMPT})  # warm-up
                samples = [await _ttft(http, {"message": PROMPT}) for _ in range(turns)]
                ttfts = [s[0] * 1000 for s in samples]
                totals = [s[1] * 1000 for s in samples]
                results[label] = (
                    statistics.median(ttfts),
                    _percentile(ttfts, 0.95),
                    statistics.median(totals),
                )
    finally:
        server.should_exit = True
        await task
    return results


PROSE = (
    "The migration plan has three steps. First we copy the tables while the old service keeps writing, then "
    "we replay what changed during the copy, and finally we switch the readers over one region at a time. "
)


def _filter_cost(text: str, deltas: int = 2000) -> dict[str, float]:
    import msgspec

    from adapters.guardrails.stream_filter import stream_filter
    from contracts.guardrails import GuardrailPolicy

    words = [w + " " for w in (text * 40).split(" ")][:deltas]
    costs = {}
    for label, policy in POLICIES.items():
        if policy is None:
            policy = {"name": "default", "rules": [{"type": "pii", "kinds": ["card"], "action": "redact"}]}
        parsed = msgspec.convert(policy, GuardrailPolicy)
        screen = stream_filter(parsed)
        if screen is None:
            costs[label] = 0.0
            continue
        start = time.perf_counter()
        for word in words:
            screen.feed(word)
        screen.finish()
        costs[label] = (time.perf_counter() - start) / len(words) * 1e6
    return costs


def run(turns: int = 30) -> None:
    os.environ.setdefault("PYTHONHASHSEED", "0")
    results = asyncio.run(_server_run(turns))
    print(
        f"streamed output guardrails: {turns} sequential turns per policy, tokens paced {TOKEN_DELAY_MS} ms"
    )
    dense = "You said: " + PROMPT + ". The TICKET-12345 is open; nothing top secret here. "
    prose, personal = _filter_cost(PROSE), _filter_cost(dense)
    print(
        f"{'policy':<28} {'TTFT p50 ms':>12} {'TTFT p95 ms':>12} {'stream p50 ms':>14} "
        f"{'us/delta prose':>15} {'us/delta PII-dense':>19}"
    )
    for label, (p50, p95, total) in results.items():
        print(
            f"{label:<28} {p50:>12.1f} {p95:>12.1f} {total:>14.1f} {prose[label]:>15.1f} {personal[label]:>19.1f}"
        )
