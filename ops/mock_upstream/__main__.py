"""``python -m ops.mock_upstream --port N [--latency-ms MS] [--token-delay-ms MS] [--stall-s S]``: serve on
127.0.0.1 (faults: ``ops/mock_upstream/faults.py``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from ops.mock_upstream.faults import MockConfig
from ops.mock_upstream.server import MockUpstream


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m ops.mock_upstream", description=__doc__)
    parser.add_argument("--port", type=int, default=8787, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before every answer")
    parser.add_argument("--token-delay-ms", type=float, default=0.0, help="delay between streamed pieces")
    parser.add_argument(
        "--timeout-sleep-s", type=float, default=120.0, help="how long the timeout fault waits"
    )
    parser.add_argument(
        "--stall-s", type=float, default=30.0, help="how long the stall fault goes silent (default)"
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run until cancelled (Ctrl-C / SIGTERM)."""
    config = MockConfig(
        latency_ms=args.latency_ms,
        token_delay_ms=args.token_delay_ms,
        timeout_sleep_s=args.timeout_sleep_s,
        stall_s=args.stall_s,
    )
    mock = MockUpstream(config)
    await mock.start(args.port)
    print(f"listening on {mock.url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await mock.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
