"""``python -m ops.bench startup|chat|sse|appends|guardrails|connections|all|edge [options]`` (``just bench ...``):
see docs/benchmarks.md."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ops.bench import appends, chat, connections, sse, startup, stores, stream_guardrails


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated integers expected, got {text!r}") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("concurrency levels must be >= 1")
    return levels


def _stores(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in appends.STORES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"stores among {', '.join(appends.STORES)} expected, got {text!r}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops.bench", description=__doc__)
    sub = parser.add_subparsers(dest="name", required=True)

    p = sub.add_parser("startup", help="process start -> /health/ready, modules imported, RSS")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--poll-ms", type=float, default=5.0)
    p.add_argument(
        "--bytecode",
        choices=[*startup.MODES, "both"],
        default="both",
        help="inherited: this environment as is; bytecode: with a temporary compiled-bytecode cache",
    )

    p = sub.add_parser("chat", help="POST /v1/chat at fixed concurrency")
    p.add_argument("--concurrency", type=_levels, default=[1, 32], help="comma-separated levels (1,32)")
    p.add_argument(
        "--requests", type=int, help="measured requests per level (default 500 at 1, 2000 otherwise)"
    )
    p.add_argument("--max-seconds", type=float, default=30.0, help="time cap per level (and per warm-up)")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--store", choices=stores.STORES, default="sqlite")

    p = sub.add_parser("sse", help="concurrent SSE streams on POST /v1/chat/stream")
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--store", choices=stores.STORES, default="sqlite")

    p = sub.add_parser("appends", help="SessionStore.append alone, in-process (no HTTP)")
    p.add_argument("--concurrency", type=_levels, default=[1, 32], help="comma-separated levels (1,32)")
    p.add_argument("--count", type=int, default=1000, help="appends per level")
    p.add_argument(
        "--store", type=_stores, default=["memory", "sqlite"], help="comma-separated: memory,sqlite,postgres"
    )
    p = sub.add_parser("guardrails", help="streamed output guardrails: time to first token, CPU per delta")
    p.add_argument("--turns", type=int, default=30)

    sub.add_parser("connections", help="hostile connections: huge header, idle and slowloris clients")

    sub.add_parser("all", help="startup, chat (1 and 32), sse with their defaults, in sequence")
    sub.add_parser(
        "edge",
        help="the service against the direct upstream and the minimal forwarder in one run "
        "(options: python -m ops.bench edge --help)",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["edge"]:  # its own options: ops/bench/edge.py
        from ops.bench import edge

        return edge.main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        if args.name in ("startup", "all"):
            mode = getattr(args, "bytecode", "both")
            modes = startup.MODES if mode == "both" else (mode,)
            startup.run(runs=getattr(args, "runs", 5), poll_ms=getattr(args, "poll_ms", 5.0), modes=modes)
        if args.name == "all":
            print()
            chat.run()
            print()
            sse.run()
        elif args.name == "chat":
            chat.run(args.concurrency, args.requests, args.max_seconds, args.warmup, args.store)
        elif args.name == "sse":
            sse.run(args.streams, args.warmup, args.store)
        elif args.name == "appends":
            appends.run(args.concurrency, args.count, args.store)
        elif args.name == "connections":
            connections.run()
        elif args.name == "guardrails":
            stream_guardrails.run(args.turns)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:  # the service did not start: its log tail is in the message
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    return 0


raise SystemExit(main())
