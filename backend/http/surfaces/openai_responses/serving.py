"""Responses answers: the response object, and the Responses event sequence for a stream.

Stream: ``response.created``, ``response.in_progress``, then per output item ``response.output_item.added``
(+ ``response.content_part.added`` for a message), its deltas (``response.output_text.delta`` or
``response.function_call_arguments.delta``), its done events, and exactly one terminal event last:
``response.completed`` with the whole response (the Agents SDK requires it) or ``response.failed`` with
``response.error``. Every event has an increasing ``sequence_number``. Pass-through frames are relayed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog

from backend.http.surfaces.openai_errors import envelope
from backend.http.surfaces.openai_responses.wire import (
    ErrorOut,
    FunctionCallItemOut,
    InputDetailsOut,
    MessageItemOut,
    OutputDetailsOut,
    OutputItem,
    OutputTextOut,
    ResponseOut,
    UsageOut,
)
from contracts.errors import DomainError
from contracts.models import (
    ModelDone,
    ModelEvent,
    ModelResponse,
    ModelTextDelta,
    ModelToolCallDelta,
    ModelToolCallStart,
    WireFrame,
)
from contracts.usage import Usage

log = structlog.get_logger("switchboard.http")
_encode = msgspec.json.Encoder().encode
_INTERNAL = DomainError("the stream failed unexpectedly; it has been logged")


def usage_out(usage: Usage | None) -> UsageOut | None:
    if usage is None:
        return None
    return UsageOut(
        input_tokens=usage.input_tokens,
        input_tokens_details=InputDetailsOut(cached_tokens=usage.cached_tokens),
        output_tokens=usage.output_tokens,
        output_tokens_details=OutputDetailsOut(reasoning_tokens=usage.reasoning_tokens),
        total_tokens=usage.total_tokens or usage.input_tokens + usage.output_tokens,
    )


def output_items(response: ModelResponse, response_id: str) -> list[OutputItem]:
    items: list[OutputItem] = [
        FunctionCallItemOut(
            id=f"fc_{call.call_id}",
            call_id=call.call_id,
            name=call.name,
            arguments=_encode(call.arguments).decode(),
            status="completed",
        )
        for call in response.tool_calls
    ]
    if response.text or not items:
        message = MessageItemOut(
            id=f"msg_{response_id.removeprefix('resp_')}",
            status="completed",
            content=[OutputTextOut(text=response.text)],
        )
        items.insert(0, message)
    return items


@dataclass(slots=True)
class ResponseShell:
    """What every event's response object repeats."""

    id: str
    model: str
    created_at: int = field(default_factory=lambda: int(time.time()))
    instructions: str | None = None
    previous_response_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    store: bool = True

    def build(
        self, status: str, output: list[OutputItem], usage: Usage | None, error: ErrorOut | None = None
    ) -> ResponseOut:
        return ResponseOut(
            id=self.id,
            created_at=self.created_at,
            model=self.model,
            status=status,
            output=output,
            usage=usage_out(usage),
            error=error,
            instructions=self.instructions,
            previous_response_id=self.previous_response_id,
            metadata=self.metadata,
            store=self.store,
        )


def response_body(shell: ResponseShell, response: ModelResponse) -> bytes:
    shell.model = response.model or shell.model
    status = "incomplete" if response.finish_reason == "length" else "completed"
    out = shell.build(status, output_items(response, shell.id), response.usage)
    if status == "incomplete":
        out.incomplete_details = {"reason": "max_output_tokens"}
    return _encode(out)


@dataclass(slots=True)
class EventWriter:
    """The events of one neutral stream."""

    shell: ResponseShell
    sequence: int = 0
    message_index: int | None = None
    text: list[str] = field(default_factory=list)
    calls: dict[int, tuple[int, str, str]] = field(default_factory=dict)
    """Model call index -> (output index, call id, name)."""
    arguments: dict[int, list[str]] = field(default_factory=dict)
    next_index: int = 0

    def _event(self, kind: str, **fields: Any) -> bytes:
        body = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + _encode(body) + b"\n\n"

    def start(self) -> list[bytes]:
        shell = self.shell.build("in_progress", [], None)
        return [
            self._event("response.created", response=shell),
            self._event("response.in_progress", response=shell),
        ]

    @property
    def message_id(self) -> str:
        return f"msg_{self.shell.id.removeprefix('resp_')}"

    def frames(self, event: ModelEvent) -> list[bytes]:
        out: list[bytes] = []
        if type(event) is ModelTextDelta:
            if self.message_index is None:
                self.message_index, self.next_index = self.next_index, self.next_index + 1
                item = MessageItemOut(id=self.message_id, status="in_progress", content=[])
                part = OutputTextOut(text="")
                out.append(
                    self._event("response.output_item.added", output_index=self.message_index, item=item)
                )
                out.append(
                    self._event(
                        "response.content_part.added",
                        item_id=self.message_id,
                        output_index=self.message_index,
                        content_index=0,
                        part=part,
                    )
                )
            self.text.append(event.delta)
            out.append(
                self._event(
                    "response.output_text.delta",
                    item_id=self.message_id,
                    output_index=self.message_index,
                    content_index=0,
                    delta=event.delta,
                    logprobs=[],
                )
            )
        elif type(event) is ModelToolCallStart:
            index = self.next_index
            self.next_index += 1
            self.calls[event.index] = (index, event.call_id, event.name)
            self.arguments[event.index] = []
            started = FunctionCallItemOut(
                id=f"fc_{event.call_id}",
                call_id=event.call_id,
                name=event.name,
                arguments="",
                status="in_progress",
            )
            out.append(self._event("response.output_item.added", output_index=index, item=started))
        elif type(event) is ModelToolCallDelta and event.index in self.calls:
            index, call_id, _ = self.calls[event.index]
            self.arguments[event.index].append(event.arguments)
            out.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=f"fc_{call_id}",
                    output_index=index,
                    delta=event.arguments,
                )
            )
        elif type(event) is ModelDone:
            out += self._finish(event.response)
        return out

    def _finish(self, response: ModelResponse) -> list[bytes]:
        out: list[bytes] = []
        if self.message_index is not None:
            text = "".join(self.text)
            where = {"item_id": self.message_id, "output_index": self.message_index, "content_index": 0}
            out.append(self._event("response.output_text.done", **where, text=text, logprobs=[]))
            out.append(self._event("response.content_part.done", **where, part=OutputTextOut(text=text)))
            item = MessageItemOut(id=self.message_id, status="completed", content=[OutputTextOut(text=text)])
            out.append(self._event("response.output_item.done", output_index=self.message_index, item=item))
        for model_index, (index, call_id, name) in self.calls.items():
            arguments = "".join(self.arguments.get(model_index, []))
            item_id = f"fc_{call_id}"
            out.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item_id,
                    output_index=index,
                    arguments=arguments,
                )
            )
            done = FunctionCallItemOut(
                id=item_id, call_id=call_id, name=name, arguments=arguments, status="completed"
            )
            out.append(self._event("response.output_item.done", output_index=index, item=done))
        self.shell.model = response.model or self.shell.model
        final = msgspec.json.decode(response_body(self.shell, response))
        out.append(self._event("response.completed", response=final))
        return out

    def failed(self, exc: DomainError) -> bytes:
        _status, error, _headers = envelope(exc)
        out = self.shell.build(
            "failed", [], None, ErrorOut(code=error.code or error.type, message=error.message)
        )
        return self._event("response.failed", response=out)


async def event_stream(
    events: AsyncIterator[WireFrame | ModelEvent], shell: ResponseShell
) -> AsyncGenerator[bytes, None]:
    """SSE bytes for the client; exactly one terminal event whatever happens."""
    writer = EventWriter(shell)
    started = ended = False
    try:
        async for event in events:
            if type(event) is WireFrame:  # pass-through: the upstream's own sequence, relayed
                started = True
                if event.data:
                    yield event.data
                ended = ended or bool(event.events and type(event.events[-1]) is ModelDone)
                continue
            if not started:
                started = True
                for frame in writer.start():
                    yield frame
            for frame in writer.frames(event):  # type: ignore[arg-type]
                yield frame
            ended = ended or type(event) is ModelDone
    except DomainError as exc:
        ended = True
        yield from_start(writer, started)
        yield writer.failed(exc)
    except Exception as exc:
        log.error("openai_responses.stream_failed", error=type(exc).__name__, exc_info=exc)
        ended = True
        yield from_start(writer, started)
        yield writer.failed(_INTERNAL)
    if not ended:
        yield from_start(writer, started)
        yield writer.failed(_INTERNAL)


def from_start(writer: EventWriter, started: bool) -> bytes:
    """The opening events when nothing was sent yet (so even a failure is a whole sequence)."""
    return b"" if started else b"".join(writer.start())


def new_response_id() -> str:
    return f"resp_{uuid.uuid4().hex}{uuid.uuid4().hex[:16]}"
