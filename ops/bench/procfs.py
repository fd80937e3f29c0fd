"""Linux /proc readers: resident memory and CPU time of the service (and its worker processes)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn workers when SWITCHBOARD_WORKERS > 1)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            children = []
        todo.extend(int(c) for c in children)
    return pids


def rss_mib(pid: int) -> float:
    """VmRSS of the process tree, MiB."""
    return sum(_status_kib(p, "VmRSS:") for p in tree(pid)) / 1024


def hwm_mib(pid: int) -> float:
    """VmHWM (the kernel's own peak RSS) of the process tree, MiB (a sum of per-process peaks)."""
    return sum(_status_kib(p, "VmHWM:") for p in tree(pid)) / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree so far."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (OSError, ValueError, IndexError):
            pass
    return total / _CLK_TCK


def self_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


class RssSampler:
    """Samples ``rss_mib(pid)`` every ``interval_s`` on a thread (steady even when the event loop lags)."""

    def __init__(self, pid: int, interval_s: float = 0.1) -> None:
        self.pid, self.interval_s = pid, interval_s
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(rss_mib(self.pid))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    @property
    def peak(self) -> float:
        return max(self.samples, default=float("nan"))
