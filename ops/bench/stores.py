"""``--store``: the environment for SQLite (default), PostgreSQL or Redis, prepared fresh, or a skip reason.
``memory`` keeps sessions in the service's memory (the baseline for persistence costs; guardrail policies,
keys and usage stay in the SQLite file).

PostgreSQL: ``psql -h 127.0.0.1 -U postgres -d test`` drops and creates the database ``switchboard_bench``
(dropped again by ``cleanup``). Redis: database 14 of 127.0.0.1:6379 is the benchmark's own and is flushed
first (the tests use 15). Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import shutil
import socket
import subprocess

PG_DB = "switchboard_bench"
PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"
REDIS_DB = 14
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
STORES = ("sqlite", "postgres", "redis", "memory")


class Skip(Exception):
    """The store's server is not reachable here: the benchmark is skipped, not failed."""


def _psql(*sql: str) -> None:
    if shutil.which("psql") is None:
        raise Skip("psql not found")
    args = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-v", "ON_ERROR_STOP=1", "-q"]
    for statement in sql:
        args += ["-c", statement]
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Skip(f"psql: {exc}") from None
    if proc.returncode != 0:
        raise Skip(f"PostgreSQL at 127.0.0.1:5432 not usable: {proc.stderr.strip()[:300]}")


def _redis(*command: str) -> bytes:
    """One RESP command per call on a fresh connection (SELECT first); returns the raw reply."""

    def encode(*parts: str) -> bytes:
        return f"*{len(parts)}\r\n".encode() + b"".join(
            f"${len(p.encode())}\r\n{p}\r\n".encode() for p in parts
        )

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=3) as sock:
            sock.sendall(encode("SELECT", str(REDIS_DB)) + encode(*command))
            reply = b""
            while reply.count(b"\r\n") < 2:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
    except OSError as exc:
        raise Skip(f"Redis at 127.0.0.1:6379 not reachable: {exc}") from None
    if not reply.startswith(b"+OK\r\n") or b"-" in reply[:1] or b"\r\n-" in reply:
        raise Skip(f"Redis refused: {reply[:200]!r}")
    return reply


def prepare(store: str) -> dict[str, str]:
    """Environment for the service; raises ``Skip`` when the store is not reachable."""
    if store == "sqlite":
        return {}
    if store == "memory":
        return {"SWITCHBOARD_SESSION_STORE": "memory"}
    if store == "postgres":
        _psql(f"DROP DATABASE IF EXISTS {PG_DB}", f"CREATE DATABASE {PG_DB}")
        return {"DATABASE_URL": PG_URL}
    if store == "redis":
        _redis("FLUSHDB")
        return {"SWITCHBOARD_SESSION_STORE": "redis", "REDIS_URL": REDIS_URL}
    raise ValueError(f"unknown store {store!r} (one of {', '.join(STORES)})")


def cleanup(store: str) -> None:
    """Drop what ``prepare`` created (best effort, after the service stopped)."""
    try:
        if store == "postgres":
            _psql(f"DROP DATABASE IF EXISTS {PG_DB}")
        elif store == "redis":
            _redis("FLUSHDB")
    except Skip:
        pass
