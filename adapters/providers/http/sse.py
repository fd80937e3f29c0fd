"""A server-sent-events parser over a response body (the WHATWG event-stream format).

``SSEParser().feed(chunk)`` returns the ``(event, data)`` of each event the chunk completes (``close()``
at the end of the body): ``event`` is the
``event:`` field (``"message"`` when absent), ``data`` the ``data:`` lines joined by ``\\n`` as bytes
(ready for a typed msgspec decoder). Lines may end with LF, CRLF or CR, even split across chunks; comment
lines (``:``) and ``id:``/``retry:`` are skipped; one space after the colon is dropped; a leading UTF-8 BOM
is ignored. An event is dispatched at its blank line; at the end of the body, an event whose lines are all
complete is dispatched too (some servers omit the last blank line), an unterminated line is not.

Cheap per event: the body is cut at blank lines by one ``bytes.split``; a one-line ``data:`` event is a
slice; no regex; event names are decoded once per stream.
"""

from __future__ import annotations

MAX_PENDING_BYTES = 16 * 1024 * 1024
"""A line longer than this (no newline in 16 MiB) is not an event stream."""

_BOM = b"\xef\xbb\xbf"
_COLON = 0x3A


class SSEError(ValueError):
    """The body is not an event stream (a line over the size limit)."""


class SSEParser:
    """Incremental parser: ``feed`` each chunk as it arrives, ``close`` at the end of the body.

    Works on whole events: the body is cut at blank lines (one ``split`` in C), an event of a single
    ``data:`` line (every OpenAI chunk) costs a ``startswith`` and a slice; other events are read line by
    line. An incomplete event waits in ``_pending`` for the next chunk."""

    __slots__ = ("_carry_cr", "_max", "_names", "_pending", "_started")

    def __init__(self, max_pending: int = MAX_PENDING_BYTES) -> None:
        self._max = max_pending
        self._names: dict[bytes, str] = {b"": "message"}
        self._pending = b""
        self._carry_cr = False
        self._started = False

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        """The events completed by ``chunk`` (often one, possibly none or several)."""
        if (  # the common case of a paced stream: one whole one-line data event per chunk
            self._started
            and not self._pending
            and not self._carry_cr
            and chunk.startswith(b"data: ")
            and chunk.find(b"\n") == len(chunk) - 2
            and chunk.endswith(b"\n\n")
            and b"\r" not in chunk
        ):
            return [("message", chunk[6:-2])]
        if not self._started:
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
        if self._carry_cr:
            chunk = b"\r" + chunk
            self._carry_cr = False
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                chunk, self._carry_cr = chunk[:-1], True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        pending = self._pending
        buf = pending + chunk if pending else chunk
        if b"\n\n" not in buf:
            if len(buf) > self._max:
                raise SSEError("event-stream line over the size limit")
            self._pending = buf
            return []
        *blocks, self._pending = buf.split(b"\n\n")
        if len(self._pending) > self._max:
            raise SSEError("event-stream line over the size limit")
        out: list[tuple[str, bytes]] = []
        for block in blocks:
            if block.startswith(b"data: ") and b"\n" not in block:
                out.append(("message", block[6:]))
            elif block:
                self._event(block, out)
        return out

    def close(self) -> list[tuple[str, bytes]]:
        """The last event, if the body ended after complete lines without its blank line (a trailing
        unterminated line means the body was cut: that event is dropped)."""
        out = self.feed(b"\n") if self._carry_cr else []
        last, self._pending = self._pending, b""
        if last.endswith(b"\n"):
            self._event(last[:-1], out)
        return out

    def _event(self, block: bytes, out: list[tuple[str, bytes]]) -> None:
        """Read one event's lines (no blank line inside, maybe leading newlines) and dispatch it."""
        if block.startswith(b"event: "):  # "event: <name>\ndata: <one line>" (every Responses event)
            end = block.find(b"\n")
            if end > 0 and block.startswith(b"data: ", end + 1) and block.find(b"\n", end + 1) < 0:
                name = block[7:end]
                out.append((self._names.get(name) or self._name(name), block[end + 7 :]))
                return
        event = b""
        data: bytes | None = None
        for line in block.split(b"\n"):
            if not line or line[0] == _COLON:
                continue
            colon = line.find(b":")
            field, value = (line, b"") if colon < 0 else (line[:colon], line[colon + 1 :])
            if value.startswith(b" "):
                value = value[1:]
            if field == b"data":
                data = value if data is None else data + b"\n" + value
            elif field == b"event":
                event = value
        if data is not None:
            out.append((self._names.get(event) or self._name(event), data))

    def _name(self, event: bytes) -> str:
        name = event.decode("utf-8", "replace") if event else "message"
        self._names[event] = name
        return name
