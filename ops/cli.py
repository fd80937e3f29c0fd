"""The operator CLI: ``switchboard <command>`` (or ``python -m ops``).

``check``, ``graph`` and ``providers`` build and validate the dependency graph WITHOUT importing the HTTP
app (no Litestar): tests/ops assert it. ``serve`` validates first, then starts uvicorn.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from backend.settings import ConfigError, Settings, load_settings


def _settings() -> Settings:
    return load_settings()


def _warn(settings: Settings) -> None:
    for warning in settings.warnings:
        print(f"switchboard: warning: {warning}", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate configuration and the dependency graph, and reach the database and Redis, without serving."""
    from backend.wiring.routes import describe_routes
    from backend.wiring.stores import reachability_problems
    from backend.wiring.table import compile_graph

    settings = _settings()
    _warn(settings)
    compiled = compile_graph(settings)
    if not args.offline:
        problems = asyncio.run(reachability_problems(settings))
        if problems:
            raise ConfigError("; ".join(problems))
    print(
        f"configuration ok: {len(compiled.order)} services, providers: "
        f"{', '.join(settings.providers.enabled)} (default {settings.providers.default_name})"
    )
    for line in describe_routes(settings.routing, settings.providers):
        print(f"  route {line}")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """Print the validated dependency graph (text, or Mermaid with --mermaid) and the configuration's
    version (the one a server loading this configuration reports in GET /v1/providers)."""
    from datetime import UTC, datetime

    from backend.wiring.reload import config_version
    from backend.wiring.table import compile_graph

    settings = _settings()
    graph = compile_graph(settings).graph
    loaded = datetime.now(UTC).isoformat(timespec="seconds")
    header = f"configuration {config_version(settings)} loaded at {loaded}"
    if args.mermaid:  # a Mermaid comment may not come before the diagram's type
        first, _, rest = graph.render_mermaid().partition("\n")
        print(f"{first}\n  %% {header}\n{rest}")
    else:
        print(f"# {header}\n{graph.render_text()}")
    return 0


def cmd_reload(args: argparse.Namespace) -> int:
    """Ask a running server to reload its configuration (POST /v1/admin/reload, operator key)."""
    import json
    import urllib.error
    import urllib.request
    from pathlib import Path

    key = Path(args.key_file).read_text(encoding="utf-8").strip() if args.key_file else args.key
    if not key:
        raise ConfigError("reload: give the operator key with --key or --key-file")
    url = args.url
    if not url:
        server = _settings().server
        host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
        url = f"http://{host}:{server.port}"
    request = urllib.request.Request(
        f"{url.rstrip('/')}/v1/admin/reload", method="POST", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        problem = json.loads(exc.read() or b"{}")
        print(
            f"switchboard: reload refused ({exc.code}): {problem.get('detail', exc.reason)}", file=sys.stderr
        )
        return 2 if problem.get("code") == "config_rejected" else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"switchboard: cannot reach {url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1
    config = body["config"]
    print(
        f"configuration {body['outcome']}: version {config['version']} (was {body['previous_version']}), "
        f"generation {config['generation']}, loaded at {config['loaded_at']}"
        + ("; other workers signalled" if body.get("workers_signalled") else "")
    )
    return 0


def cmd_providers(_args: argparse.Namespace) -> int:
    """What the environment enables, the default and the order."""
    from backend.wiring.providers import PROVIDER_KINDS
    from backend.wiring.routes import describe_routes
    from backend.wiring.table import compile_graph

    settings = compile_graph(_settings()).settings
    providers = settings.providers
    for position, name in enumerate(providers.enabled, start=1):
        kind = providers.kind_of(name)
        marker = " (default)" if name == providers.default_name else ""
        print(f"{position}. {name}  kind={kind}  module={PROVIDER_KINDS[kind]}{marker}")
    disabled = sorted(set(PROVIDER_KINDS) - {providers.kind_of(n) for n in providers.enabled})
    if disabled:
        print(f"kinds available but not enabled: {', '.join(disabled)} (add them to SWITCHBOARD_PROVIDERS)")
    print("routes:")
    for line in describe_routes(settings.routing, providers):
        print(f"  {line}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply database migrations (DATABASE_URL, default the SQLite file under var/)."""
    from pathlib import Path

    from adapters.persistence.migrate import upgrade

    settings = _settings()
    if settings.database_url.startswith("sqlite"):
        Path(settings.server.var_dir).mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade(settings.database_url, args.revision))
    print(f"database at revision {args.revision}")
    return 0


async def _preflight(settings: Settings) -> None:
    """Build every service once and close it again: database reachable and migrated, keys present,
    providers built. A failure here is one clear line instead of a worker's traceback."""
    from backend.wiring.table import build_registry, compile_graph

    registry = await build_registry(compile_graph(settings))
    await registry.aclose()


def _startup_failed(exc: Exception) -> ConfigError:
    return (
        exc if isinstance(exc, ConfigError) else ConfigError(f"startup failed: {type(exc).__name__}: {exc}")
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Validate, then serve with uvicorn (uvloop + httptools); SIGTERM drains first (ops/serving.py)."""
    import gc

    gc.disable()  # start-up without collections; the app's startup turns them on (backend/runtime/heap.py)
    import uvloop

    from backend.wiring.keys import dev_key, parse_keys
    from ops.serving import serve_one, serve_workers

    settings = _settings()
    _warn(settings)
    server = settings.server
    host, port = args.host or server.host, args.port or server.port
    workers = args.workers or server.workers
    if not parse_keys(settings.auth.api_keys) and server.env == "dev":
        dev_key(server, create=True)
    try:
        if workers == 1:
            uvloop.run(serve_one(settings, host, port, lambda: _announce(settings, host, port, 1)))
            return 0
        asyncio.run(_preflight(settings))
    except Exception as exc:
        raise _startup_failed(exc) from None
    gc.enable()  # this process only supervises the workers (each starts with its own collector)
    _announce(settings, host, port, workers)
    serve_workers(settings, host, port, workers)  # exits the process when the workers have ended
    return 0


def _announce(settings: Settings, host: str, port: int, workers: int) -> None:
    from backend.wiring.keys import dev_key, parse_keys

    base = f"http://{host}:{port}"
    print(
        f"Switchboard serving on {base} ({workers} worker{'s' if workers > 1 else ''}, "
        f"providers: {', '.join(settings.providers.enabled)})"
    )
    print(f"API docs: {base}/docs")
    print(f"Console:  {base}/console (sign in with an API key)")
    if not parse_keys(settings.auth.api_keys) and settings.server.env == "dev":
        print(
            f"Authenticate with: Authorization: Bearer {dev_key(settings.server, create=False)}"
            "  (dev key, tenant 'dev')"
        )
    else:
        print(
            "Authenticate with: Authorization: Bearer <one of SWITCHBOARD_API_KEYS or a `switchboard keys` key>"
        )
    print(
        f"Try: curl -s {base}/v1/chat -H 'Authorization: Bearer <key>' -H 'content-type: application/json' "
        '-d \'{"message": "what is 6 * 7?"}\'',
        flush=True,
    )


def _key_store(settings: Settings):  # type: ignore[no-untyped-def]
    from adapters.keys.sqlalchemy_keys import SqlAlchemyApiKeyStore
    from adapters.persistence.migrate import upgrade
    from adapters.persistence.sql_runner import create_runner

    async def open_store():  # type: ignore[no-untyped-def]
        await upgrade(settings.database_url)
        runner = create_runner(settings.database_url)
        return runner, SqlAlchemyApiKeyStore(runner)

    return open_store()


def cmd_keys(args: argparse.Namespace) -> int:
    """Create, list and revoke API keys stored (hashed) in the database."""
    from datetime import UTC, datetime, timedelta

    from backend.wiring.keys import scopes_problem, split_scopes, tenant_problem

    settings = _settings()

    async def run() -> int:
        runner, store = await _key_store(settings)
        try:
            if args.keys_command == "create":
                scopes = split_scopes(args.scopes)
                problem = tenant_problem(args.tenant) or scopes_problem(scopes, stored=True)
                if problem:
                    raise ConfigError(f"keys create: {problem}")
                expires = (
                    datetime.now(UTC) + timedelta(days=args.expires_in_days) if args.expires_in_days else None
                )
                secret, record = await store.create(
                    args.tenant,
                    frozenset(scopes),
                    expires_at=expires,
                    requests_per_minute=args.rpm,
                    tokens_per_minute=args.tpm,
                    concurrent_streams=args.streams,
                )
                print(
                    f"created key {record.id} for tenant {record.tenant_id} (scopes {'+'.join(sorted(scopes))})"
                )
                print(f"secret (shown once, store it now): {secret}")
            elif args.keys_command == "list":
                now = datetime.now(UTC)
                for r in await store.list(args.tenant):
                    state = "active" if r.active(now) else ("revoked" if r.revoked_at else "expired")
                    print(
                        f"{r.id}  tenant={r.tenant_id}  scopes={'+'.join(sorted(r.scopes))}  "
                        f"prefix={r.prefix}  {state}  expires={r.expires_at or '-'}"
                    )
            elif not await store.revoke(args.key_id):
                print(f"no active key {args.key_id}", file=sys.stderr)
                return 1
            else:
                print(f"revoked {args.key_id}")
            return 0
        finally:
            await runner.aclose()

    if settings.database_url.startswith("sqlite"):
        from pathlib import Path

        Path(settings.server.var_dir).mkdir(parents=True, exist_ok=True)
    return asyncio.run(run())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help=cmd_check.__doc__)
    check.add_argument("--offline", action="store_true", help="do not connect to the database or Redis")
    check.set_defaults(func=cmd_check)
    graph = sub.add_parser("graph", help=cmd_graph.__doc__)
    graph.add_argument("--mermaid", action="store_true")
    graph.set_defaults(func=cmd_graph)
    sub.add_parser("providers", help=cmd_providers.__doc__).set_defaults(func=cmd_providers)
    reload = sub.add_parser("reload", help=cmd_reload.__doc__)
    reload.add_argument(
        "--url", help="the server's base URL (default: SWITCHBOARD_HOST and SWITCHBOARD_PORT)"
    )
    reload.add_argument("--key", help="an operator key of SWITCHBOARD_API_KEYS (prefer --key-file)")
    reload.add_argument("--key-file", help="a file holding the operator key")
    reload.add_argument("--timeout", type=float, default=30.0)
    reload.set_defaults(func=cmd_reload)
    migrate = sub.add_parser("migrate", help=cmd_migrate.__doc__)
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(func=cmd_migrate)
    keys = sub.add_parser("keys", help=cmd_keys.__doc__)
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key and print its secret once")
    create.add_argument("--tenant", required=True)
    create.add_argument(
        "--scopes",
        default="chat",
        help="separated by ',' or '+' (as in SWITCHBOARD_API_KEYS): read (conversations, usage, catalog), "
        "chat (read + run turns, delete conversations), admin (everything, including guardrail policies)",
    )
    create.add_argument("--expires-in-days", type=int)
    create.add_argument("--rpm", type=int, help="requests per minute for this key")
    create.add_argument("--tpm", type=int, help="tokens per minute for this key")
    create.add_argument("--streams", type=int, help="concurrent streams for this key")
    listing = keys_sub.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--tenant")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    keys.set_defaults(func=cmd_keys)
    serve = sub.add_parser("serve", help=cmd_serve.__doc__)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()
        return code
    except ConfigError as exc:
        print(f"switchboard: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `switchboard graph | head`: the reader left; that is not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
