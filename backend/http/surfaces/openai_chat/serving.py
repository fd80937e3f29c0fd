"""Chat Completions answers: the neutral response as a ``chat.completion``, neutral events as
``chat.completion.chunk`` frames ending ``data: [DONE]``, pass-through bytes as they came.

A stream ends exactly once: ``[DONE]`` after the last chunk, or one ``data: {"error": ...}`` frame (which
the ``openai`` client raises as ``APIError``); never a silent truncation. The usage chunk (``choices:
[]``) goes out only when the client asked for it (``stream_options.include_usage``), though usage is
always requested upstream for accounting.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

import msgspec
import structlog

from backend.http.surfaces.openai_chat.wire import (
    ChoiceOut,
    ChunkChoiceOut,
    ChunkOut,
    CompletionDetailsOut,
    CompletionOut,
    DeltaFunctionOut,
    DeltaOut,
    DeltaToolCallOut,
    FunctionOut,
    MessageOut,
    PromptDetailsOut,
    ToolCallOut,
    UsageOut,
    UsageSniff,
)
from backend.http.surfaces.openai_errors import stream_error
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
_sniff = msgspec.json.Decoder(UsageSniff).decode
DONE = b"data: [DONE]\n\n"
_INTERNAL = DomainError("the stream failed unexpectedly; it has been logged")


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage_out(usage: Usage) -> UsageOut:
    return UsageOut(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens or usage.input_tokens + usage.output_tokens,
        prompt_tokens_details=PromptDetailsOut(cached_tokens=usage.cached_tokens),
        completion_tokens_details=CompletionDetailsOut(reasoning_tokens=usage.reasoning_tokens),
    )


def completion_body(response: ModelResponse, *, model: str) -> bytes:
    """A whole ``chat.completion`` for a neutral response."""
    calls = [
        ToolCallOut(id=c.call_id, function=FunctionOut(name=c.name, arguments=_encode(c.arguments).decode()))
        for c in response.tool_calls
    ]
    message = MessageOut(
        content=response.text if response.text or not calls else None, tool_calls=calls or None
    )
    body = CompletionOut(
        id=completion_id(),
        created=int(time.time()),
        model=response.model or model,
        choices=[ChoiceOut(message=message, finish_reason=response.finish_reason)],
        usage=usage_out(response.usage),
    )
    return _encode(body)


@dataclass(slots=True)
class ChunkWriter:
    """Frames of one neutral stream (same id and created time on every chunk)."""

    model: str
    include_usage: bool
    id: str = ""
    created: int = 0
    started: bool = False

    def __post_init__(self) -> None:
        self.id, self.created = completion_id(), int(time.time())

    def _frame(self, delta: DeltaOut, finish: str | None = None, usage: UsageOut | None = None) -> bytes:
        choices = [] if usage is not None else [ChunkChoiceOut(delta=delta, finish_reason=finish)]
        chunk = ChunkOut(id=self.id, created=self.created, model=self.model, choices=choices, usage=usage)
        return b"data: " + _encode(chunk) + b"\n\n"

    def frames(self, event: ModelEvent) -> list[bytes]:
        out: list[bytes] = []
        if not self.started:
            self.started = True
            out.append(self._frame(DeltaOut(role="assistant", content="")))
        if type(event) is ModelTextDelta:
            out.append(self._frame(DeltaOut(content=event.delta)))
        elif type(event) is ModelToolCallStart:
            call = DeltaToolCallOut(
                index=event.index,
                id=event.call_id,
                type="function",
                function=DeltaFunctionOut(name=event.name, arguments=""),
            )
            out.append(self._frame(DeltaOut(tool_calls=[call])))
        elif type(event) is ModelToolCallDelta:
            call = DeltaToolCallOut(index=event.index, function=DeltaFunctionOut(arguments=event.arguments))
            out.append(self._frame(DeltaOut(tool_calls=[call])))
        elif type(event) is ModelDone:
            response = event.response
            if response.model:
                self.model = response.model
            out.append(self._frame(DeltaOut(), finish=response.finish_reason))
            if self.include_usage:
                out.append(self._frame(DeltaOut(), usage=usage_out(response.usage)))
            out.append(DONE)
        return out


async def chunk_stream(
    events: AsyncIterator[WireFrame | ModelEvent], *, model: str, include_usage: bool
) -> AsyncGenerator[bytes, None]:
    """SSE bytes for the client: pass-through frames relayed (the usage chunk dropped unless asked for),
    neutral events encoded; one terminal frame whatever happens."""
    writer = ChunkWriter(model=model, include_usage=include_usage)
    ended = False
    try:
        async for event in events:
            if type(event) is WireFrame:
                data = event.data
                if data and (include_usage or not _usage_only(data)):
                    yield data
                ended = ended or data == DONE
                continue
            for frame in writer.frames(event):  # type: ignore[arg-type]
                yield frame
            ended = ended or type(event) is ModelDone
    except DomainError as exc:
        ended = True
        yield stream_error(exc)
    except Exception as exc:  # a bug below must still end the stream with one terminal frame
        log.error("openai_chat.stream_failed", error=type(exc).__name__, exc_info=exc)
        ended = True
        yield stream_error(_INTERNAL)
    if not ended:
        yield stream_error(_INTERNAL)


def _usage_only(frame: bytes) -> bool:
    """The ``choices: []`` usage chunk an upstream sends because we asked for usage."""
    if not frame.startswith(b"data: {") or b'"usage"' not in frame:
        return False
    try:
        sniffed = _sniff(frame[6:].strip())
    except msgspec.DecodeError:
        return False
    return sniffed.choices == [] and sniffed.usage is not None
