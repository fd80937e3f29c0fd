"""A PostgreSQL outage or an exhausted pool answers 503 problem+json (``store_unavailable``, retryable), never
500 and never a hang, and the running service recovers by itself once the database is back.

Each test runs the real app (uvicorn, in this event loop) against a PRIVATE PostgreSQL server that the
``postgres_cluster`` fixture creates in a temp dir on a free 127.0.0.1 port, so stopping and restarting it
never touches the shared test server on 5432.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.app import auth, free_port, live_server, make_settings

pytestmark = pytest.mark.services

PROBLEM_JSON = "application/problem+json"
CLIENT_TIMEOUT = httpx.Timeout(5.0)
"""Every request must answer well within this; a client timeout fails the test as a hang."""
MAX_REQUESTS = 200
RECOVERY_DEADLINE_S = 15.0
PG_TOOLS = ("initdb", "pg_ctl", "pg_isready")


def _unavailable(message: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _pg_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` with the server tools, else the directory on PATH."""
    candidates = [Path(p) for p in sorted(glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    return next((c for c in candidates if all((c / tool).is_file() for tool in PG_TOOLS)), None)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (trust auth) on ``127.0.0.1:<port>``, its socket in its own dir.

    As root the tools run as the ``postgres`` OS user (initdb refuses root)."""

    def __init__(self, bin_dir: Path, root: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = port
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as_postgres, str(self.bin_dir / tool), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _check(self, tool: str, *args: str) -> None:
        result = self._run(tool, *args)
        if result.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args[:1])} failed ({result.returncode}): {result.stderr.strip()[-400:]}\n"
                f"{self.log_tail()}"
            )

    def log_tail(self) -> str:
        try:
            return "postgres log: " + self.log.read_text(errors="replace")[-800:]
        except OSError:
            return "(no postgres log)"

    def init(self) -> None:
        if self._as_postgres:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._check(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40"
        )
        self._check(
            "pg_ctl", "start", "-w", "-t", "20", "-D", str(self.data), "-l", str(self.log), "-o", options
        )

    def stop(self, mode: str = "fast", *, wait: bool = True) -> None:
        self._check("pg_ctl", "stop", "-w" if wait else "-W", "-t", "20", "-m", mode, "-D", str(self.data))

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def is_ready(self) -> bool:
        return self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "2").returncode == 0

    def ensure_started(self) -> None:
        """Accepting connections again, whatever state a previous test left the server in."""
        if self.is_running() and self.is_ready():
            return
        if self.is_running():
            with contextlib.suppress(RuntimeError):
                self.stop("immediate")
        self.start()

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self, mode: str = "fast", *, wait: bool = True) -> None:
        await asyncio.to_thread(self.stop, mode, wait=wait)

    async def create_database(self) -> str:
        name = f"sb_outage_{secrets.token_hex(4)}"
        connection = await asyncpg.connect(self.dsn("postgres"), timeout=5)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return name


@pytest.fixture(scope="module")
def postgres_cluster() -> Iterator[PrivatePostgres]:
    """One private cluster for the module; always stopped and its directory removed, whatever happens."""
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        _unavailable(
            f"PostgreSQL server tools ({', '.join(PG_TOOLS)}) not found under /usr/lib/postgresql/*/bin or "
            "on PATH; install the postgresql server package to run the outage tests (CI sets REQUIRE_SERVICES=1)"
        )
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="sb-pg-"))
    cluster = PrivatePostgres(bin_dir, root, free_port())
    try:
        try:
            cluster.init()
            cluster.start()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            _unavailable(f"could not start a private PostgreSQL server with {bin_dir}: {exc}")
        yield cluster
    finally:
        if cluster.is_running():
            with contextlib.suppress(RuntimeError, OSError, subprocess.TimeoutExpired):
                cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def private_postgres(postgres_cluster: PrivatePostgres) -> PrivatePostgres:
    """The module's cluster, accepting connections (restarted if a previous test left it stopped)."""
    postgres_cluster.ensure_started()
    return postgres_cluster


# -- requests and their outcomes --------------------------------------------------------------------------


@dataclass
class Outcome:
    phase: str
    """The phase when the request was sent."""
    end_phase: str
    route: str
    status: int | None
    """``None``: no answer (client timeout or transport error, see ``error``)."""
    content_type: str = ""
    body: Any = None
    error: str | None = None

    def is_store_unavailable(self) -> bool:
        return (
            self.status == 503
            and self.content_type.startswith(PROBLEM_JSON)
            and isinstance(self.body, dict)
            and self.body.get("code") == "store_unavailable"
            and self.body.get("retryable") is True
        )

    def __str__(self) -> str:
        shown = self.error or f"{self.status} {self.content_type} {str(self.body)[:300]}"
        return f"[{self.phase}->{self.end_phase}] {self.route}: {shown}"


def report(outcomes: list[Outcome]) -> str:
    return "\n".join(str(o) for o in outcomes[-40:])


async def send(client: httpx.AsyncClient, route: str, phase: Callable[[], str] = lambda: "-") -> Outcome:
    """``chat``: POST /v1/chat (a new conversation); ``list``: GET /v1/conversations."""
    started = phase()
    try:
        if route == "chat":
            response = await client.post(
                "/v1/chat", json={"message": f"load {secrets.token_hex(3)}"}, headers=auth()
            )
        else:
            response = await client.get("/v1/conversations", params={"limit": 5}, headers=auth())
    except httpx.HTTPError as exc:
        return Outcome(started, phase(), route, None, error=f"{type(exc).__name__}: {exc}")
    try:
        body = response.json()
    except ValueError:
        body = response.text[:300]
    return Outcome(
        started, phase(), route, response.status_code, response.headers.get("content-type", ""), body
    )


@dataclass
class Load:
    """A few workers alternating POST /v1/chat and GET /v1/conversations, at most ``MAX_REQUESTS`` in all."""

    client: httpx.AsyncClient
    phase: str = "before"
    outcomes: list[Outcome] = field(default_factory=list)
    sent: int = 0
    stopped: bool = False

    async def worker(self, index: int) -> None:
        routes = ("chat", "list") if index % 2 else ("list", "chat")
        n = 0
        while not self.stopped and self.sent < MAX_REQUESTS:
            self.sent += 1
            self.outcomes.append(await send(self.client, routes[n % 2], lambda: self.phase))
            n += 1
            await asyncio.sleep(0.04)

    async def run(self, scenario: Callable[[], Awaitable[None]], workers: int = 3) -> None:
        tasks = [asyncio.create_task(self.worker(i)) for i in range(workers)]
        try:
            await scenario()
        finally:
            self.stopped = True
            await asyncio.gather(*tasks, return_exceptions=True)

    def in_phase(self, phase: str) -> list[Outcome]:
        """Requests sent and answered within ``phase``."""
        return [o for o in self.outcomes if o.phase == phase and o.end_phase == phase]

    async def wait_for(self, what: str, condition: Callable[[], bool], within: float) -> None:
        deadline = time.monotonic() + within
        while not condition():
            if self.sent >= MAX_REQUESTS:
                pytest.fail(
                    f"request budget ({MAX_REQUESTS}) spent waiting for {what}:\n{report(self.outcomes)}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"timed out ({within}s) waiting for {what}:\n{report(self.outcomes)}")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def conversations_locked(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A separate session holding ACCESS EXCLUSIVE on ``conversations``: a request touching that table waits
    while keeping its pooled connection. Tolerates the server going away underneath."""
    locker = await asyncpg.connect(dsn, timeout=5)
    try:
        await locker.execute("BEGIN; LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE")
        yield locker
    finally:
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await locker.execute("ROLLBACK")
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await locker.close(timeout=2)


async def wait_for_lock_waiter(locker: asyncpg.Connection, database: str, request: asyncio.Task[Any]) -> None:
    deadline = time.monotonic() + 5
    while not await locker.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", database
    ):
        assert time.monotonic() < deadline, "the request never waited on the lock"
        assert not request.done(), f"the request did not wait on the lock: {request.result()}"
        await asyncio.sleep(0.02)


async def ready_status(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/health/ready")


# -- tests ------------------------------------------------------------------------------------------------


async def test_postgres_restart_answers_503_then_recovers_without_restarting_the_service(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    database = await private_postgres.create_database()
    settings = make_settings(
        tmp_path,
        DATABASE_URL=private_postgres.url(database),
        SWITCHBOARD_DB_POOL_TIMEOUT_S="1",
        SWITCHBOARD_DB_POOL_SIZE="4",
        SWITCHBOARD_DB_MAX_OVERFLOW="2",
    )
    async with (
        live_server(settings) as base,
        httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT) as client,
    ):
        canary = await client.post("/v1/chat", json={"message": "remember the outage canary"}, headers=auth())
        assert canary.status_code == 200, canary.text
        canary_id = canary.json()["conversation_id"]
        assert (await ready_status(client)).status_code == 200

        load = Load(client)
        in_flight: list[asyncio.Task[Outcome]] = []
        down_ready: list[httpx.Response] = []

        async def scenario() -> None:
            await load.wait_for("successes before the outage", lambda: len(load.in_phase("before")) >= 6, 5)

            # One request is mid-query (waiting on a lock) when the fast shutdown terminates its connection.
            async with conversations_locked(private_postgres.dsn(database)) as locker:
                in_flight.append(asyncio.create_task(send(client, "list", lambda: "in-flight")))
                await wait_for_lock_waiter(locker, database, in_flight[0])
                load.phase = "stopping"
                await private_postgres.astop("fast")
            load.phase = "down"
            await load.wait_for("requests during the outage", lambda: len(load.in_phase("down")) >= 8, 5)
            down_ready.append(await ready_status(client))

            load.phase = "restarting"
            await private_postgres.astart()
            load.phase = "recovering"
            await load.wait_for(
                "the first success after the restart",
                lambda: any(o.status == 200 for o in load.in_phase("recovering")),
                RECOVERY_DEADLINE_S,
            )
            load.phase = "recovered"
            await load.wait_for("successes after recovery", lambda: len(load.in_phase("recovered")) >= 6, 5)

        await load.run(scenario)

        killed = await in_flight[0]
        assert killed.is_store_unavailable(), f"a query cut by the shutdown: {killed}"
        # Never a 500, never a hang, never anything but success or a retryable store_unavailable.
        bad = [o for o in load.outcomes if not (o.status == 200 or o.is_store_unavailable())]
        assert not bad, "unexpected answers:\n" + report(bad)
        assert all(o.status == 200 for o in load.in_phase("before")), report(load.outcomes)
        down = load.in_phase("down")
        assert all(o.is_store_unavailable() for o in down), report(down)
        assert {o.route for o in down} == {"chat", "list"}, report(down)
        assert down_ready[0].status_code == 503, down_ready[0].text
        recovered = load.in_phase("recovered")
        assert all(o.status == 200 for o in recovered), report(recovered)
        assert load.sent <= MAX_REQUESTS

        # Same process, never restarted: data written before the outage is readable and it is ready again.
        again = await client.get(f"/v1/conversations/{canary_id}", headers=auth())
        assert again.status_code == 200, again.text
        assert "remember the outage canary" in again.text
        ready = await ready_status(client)
        assert ready.status_code == 200, ready.text


async def test_refused_connections_while_postgres_shuts_down_answer_503(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    """A server in (smart) shutdown refuses new connections with SQLSTATE 57P03, "the database system is
    shutting down" (the same code as "... is starting up" during a restart)."""
    database = await private_postgres.create_database()
    settings = make_settings(
        tmp_path, DATABASE_URL=private_postgres.url(database), SWITCHBOARD_DB_POOL_TIMEOUT_S="1"
    )
    async with (
        live_server(settings) as base,
        httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT) as client,
    ):
        assert (await send(client, "chat")).status == 200

        # A session that keeps the smart shutdown waiting, from which the app's connections are cut.
        observer = await asyncpg.connect(private_postgres.dsn(database), timeout=5)
        try:
            await private_postgres.astop("smart", wait=False)
            deadline = time.monotonic() + 5
            while True:
                try:
                    probe = await asyncpg.connect(private_postgres.dsn(database), timeout=2)
                except asyncpg.CannotConnectNowError:
                    break
                await probe.close()
                assert time.monotonic() < deadline, "the server never began shutting down"
                await asyncio.sleep(0.05)
            await observer.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
            refused = [await send(client, route) for route in ("list", "chat", "list", "chat")]
            refused_ready = await ready_status(client)
        finally:
            await observer.close(timeout=2)
        await private_postgres.astop("fast")

        assert all(o.is_store_unavailable() for o in refused), report(refused)
        assert refused_ready.status_code == 503, refused_ready.text

        await private_postgres.astart()
        deadline = time.monotonic() + RECOVERY_DEADLINE_S
        while (outcome := await send(client, "list")).status != 200:
            assert outcome.is_store_unavailable(), str(outcome)
            assert time.monotonic() < deadline, f"no recovery within {RECOVERY_DEADLINE_S}s: {outcome}"
            await asyncio.sleep(0.1)
        assert (await send(client, "chat")).status == 200
        assert (await ready_status(client)).status_code == 200


async def test_exhausted_pool_answers_503_and_recovers(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    database = await private_postgres.create_database()
    settings = make_settings(
        tmp_path,
        DATABASE_URL=private_postgres.url(database),
        SWITCHBOARD_DB_POOL_SIZE="1",
        SWITCHBOARD_DB_MAX_OVERFLOW="0",
        SWITCHBOARD_DB_POOL_TIMEOUT_S="0.2",
    )
    async with (
        live_server(settings) as base,
        httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT) as client,
    ):
        assert (await send(client, "chat")).status == 200

        # The app's only pooled connection is held by a listing that waits on a lock taken here.
        async with conversations_locked(private_postgres.dsn(database)) as locker:
            holder = asyncio.create_task(send(client, "list", lambda: "holder"))
            await wait_for_lock_waiter(locker, database, holder)
            pressure = await asyncio.gather(
                *(send(client, r, lambda: "pressure") for r in ["chat", "list"] * 15)
            )
            ready_under_pressure = await ready_status(client)

        held = await holder
        assert not [o for o in pressure if o.status == 500 or o.status is None], report(pressure)
        assert all(o.is_store_unavailable() for o in pressure), report(pressure)
        assert ready_under_pressure.status_code == 503, ready_under_pressure.text
        assert held.status == 200, f"the request holding the connection, once the lock went: {held}"

        after = [await send(client, route, lambda: "after") for route in ("chat", "list", "chat", "list")]
        assert all(o.status == 200 for o in after), report(after)
        assert (await ready_status(client)).status_code == 200
