"""When a streamed call's setup ends: the moment its model request leaves for an upstream.

The service admits a bounded number of streamed calls into their setup at once (``StreamStarts``,
backend/services/stream_starts.py; docs/streaming.md, "Bursts") and lets the next one in when a call's
setup is over. Only the adapter knows that moment: right before it waits on an upstream, it calls
``upstream_wait()``. Whoever runs the call has put the release of its slot in ``ON_UPSTREAM_WAIT``. A
context variable, so that no port's signature carries it: a call on a provider that never waits on an
upstream (the offline one) is released by its first output instead, and repeated calls (retries, fallback,
tool steps) release nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

ON_UPSTREAM_WAIT: ContextVar[Callable[[], None] | None] = ContextVar("on_upstream_wait", default=None)


def upstream_wait() -> None:
    """Say that this call's setup is over: it now waits on the network."""
    release = ON_UPSTREAM_WAIT.get()
    if release is not None:
        release()
