"""Store settings checked before anything is built: ``DATABASE_URL`` and ``REDIS_URL`` must parse as a
supported URL (compile time), and ``switchboard check`` / ``serve`` must reach them (``reachability``).
Messages name the variable and show the URL without its password."""

from __future__ import annotations

import asyncio

from backend.settings import Settings

CONNECT_TIMEOUT_S = 3.0


def url_problems(settings: Settings) -> list[str]:
    from adapters.persistence.engine import url_problem

    problems = []
    database = url_problem(settings.database_url)
    if database:
        problems.append(f"DATABASE_URL: {database}")
    redis_url = settings.stores.redis_url
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        problems.append("REDIS_URL: must start with redis://, rediss:// or unix://")
    return problems


async def reachability_problems(settings: Settings) -> list[str]:
    """Connect to the database and Redis once each (bounded by ``CONNECT_TIMEOUT_S``)."""
    from adapters.persistence.engine import reach_database

    problems = []
    try:
        await asyncio.wait_for(reach_database(settings.database_url), CONNECT_TIMEOUT_S)
    except Exception as exc:
        problems.append(f"DATABASE_URL: cannot reach {safe_url(settings.database_url)} ({_why(exc)})")
    if settings.stores.redis_url:
        try:
            await asyncio.wait_for(_ping_redis(settings.stores.redis_url), CONNECT_TIMEOUT_S)
        except Exception as exc:
            problems.append(f"REDIS_URL: cannot reach {safe_url(settings.stores.redis_url)} ({_why(exc)})")
    return problems


async def _ping_redis(url: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S)
    try:
        await client.ping()
    finally:
        await client.aclose()


def _why(exc: BaseException) -> str:
    return "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__


def safe_url(url: str) -> str:
    """``url`` with its password masked."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))
