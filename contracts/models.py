"""The model level: one call to one model, in provider-neutral terms (the ``LanguageModel`` port).

An agent turn (``AgentRuntime``) is made of model calls. Each call is a ``ModelRequest`` -> a
``ModelResponse``, or a stream of ``ModelEvent`` ending with exactly one ``ModelDone`` that carries the
assembled response. Wire codecs (OpenAI Chat Completions, OpenAI Responses, Anthropic Messages, the
offline script) translate these to and from their vendor's format; routers wrap several models behind the
same port. Nothing here knows a vendor.
"""

from __future__ import annotations

from typing import Any, Literal

from contracts.base import Struct
from contracts.tools import ToolCall, ToolSpec
from contracts.usage import Usage

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]
"""Why a model stopped: a natural end (or a stop sequence), the token limit, to call tools, or a
provider's content filter."""

FailureKind = Literal[
    "rate_limited",
    "overloaded",
    "server_error",
    "timeout",
    "refused",
    "dropped",
    "stalled",
    "malformed",
    "auth",
    "content_filtered",
    "context_too_long",
    "bad_request",
    "unsupported",
]
"""Classes of upstream failure (``ProviderUnavailable.failure``). Routers decide on them: the first seven
are worth a retry or a fallback; ``auth`` and ``unsupported`` fall back but never retry the same
deployment; ``bad_request`` is the caller's fault and is never retried nor sent elsewhere;
``context_too_long`` and ``content_filtered`` go only to deployments configured for them."""

# -- messages ---------------------------------------------------------------------------------------------


class TextPart(Struct, frozen=True, kw_only=True, tag="text"):
    text: str


class ImagePart(Struct, frozen=True, kw_only=True, tag="image"):
    """An image by URL: ``https://...`` or a ``data:<media type>;base64,...`` URL."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


ContentPart = TextPart | ImagePart


class OpaquePart(Struct, frozen=True, kw_only=True):
    """Provider state a model asked to get back verbatim on the next call (OpenAI reasoning items,
    Anthropic thinking blocks with their signatures). Only a codec of the same ``protocol`` reads it;
    other codecs drop it."""

    protocol: str
    data: dict[str, Any]


class SystemPrompt(Struct, frozen=True, kw_only=True, tag="system"):
    text: str


class UserPrompt(Struct, frozen=True, kw_only=True, tag="user"):
    content: tuple[ContentPart, ...]

    @classmethod
    def of(cls, text: str) -> UserPrompt:
        return cls(content=(TextPart(text=text),))

    @property
    def text(self) -> str:
        """The text parts joined (images left out)."""
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


class AssistantReply(Struct, frozen=True, kw_only=True, tag="assistant"):
    """What a model said earlier: text, tool calls, or both."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    opaque: tuple[OpaquePart, ...] = ()


class ToolReturn(Struct, frozen=True, kw_only=True, tag="tool"):
    """A tool's answer to the call ``call_id`` of an earlier ``AssistantReply``."""

    call_id: str
    name: str
    output: str
    is_error: bool = False


ModelMessage = SystemPrompt | UserPrompt | AssistantReply | ToolReturn

# -- request ----------------------------------------------------------------------------------------------


class ToolChoice(Struct, frozen=True, kw_only=True):
    """``auto`` (the model decides), ``none``, ``required`` (some tool), or ``tool`` (the one named)."""

    mode: Literal["auto", "none", "required", "tool"] = "auto"
    name: str | None = None


class ResponseFormat(Struct, frozen=True, kw_only=True):
    """``json_object``: any JSON object; ``json_schema``: JSON matching ``schema`` (``strict`` asks the
    provider to guarantee it where it can)."""

    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str = "output"
    schema: dict[str, Any] | None = None
    strict: bool | None = None


class ModelRequest(Struct, frozen=True, kw_only=True):
    """One model call. ``model`` is the upstream model (empty: the deployment's default; routers replace
    it with each deployment's own). ``extras`` are vendor-specific body fields, by protocol
    (``{"openai.chat": {"logit_bias": {...}}}``): the codec of that protocol merges its own into the body
    untouched, every other codec ignores them. Sampling fields left ``None`` are not sent."""

    messages: tuple[ModelMessage, ...]
    model: str = ""
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice | None = None
    response_format: ResponseFormat | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    parallel_tool_calls: bool | None = None
    user: str | None = None
    metadata: dict[str, str] = {}
    extras: dict[str, dict[str, Any]] = {}

    def needs(self) -> frozenset[str]:
        """Capabilities a deployment must have to serve this request (``tools``, ``structured_output``,
        ``images``)."""
        found: set[str] = set()
        if self.tools:
            found.add("tools")
        if self.response_format is not None and self.response_format.type != "text":
            found.add("structured_output")
        if any(
            isinstance(m, UserPrompt) and any(isinstance(p, ImagePart) for p in m.content)
            for m in self.messages
        ):
            found.add("images")
        return frozenset(found)


# -- response ---------------------------------------------------------------------------------------------


class Attempt(Struct, frozen=True, kw_only=True):
    """A model call that failed before another answered (or before the request gave up)."""

    provider: str
    model: str
    failure: str
    detail: str
    status: int | None = None
    latency_ms: float = 0.0


class ModelResponse(Struct, frozen=True, kw_only=True):
    """A finished model call. ``provider``/``model`` say which instance and upstream model answered;
    ``attempts`` the failed calls a router made before this one."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason = "stop"
    usage: Usage = Usage()
    provider: str = ""
    model: str = ""
    response_id: str | None = None
    opaque: tuple[OpaquePart, ...] = ()
    attempts: tuple[Attempt, ...] = ()

    def as_message(self) -> AssistantReply:
        """This response as history for the next call."""
        return AssistantReply(text=self.text, tool_calls=self.tool_calls, opaque=self.opaque)


# -- stream events ----------------------------------------------------------------------------------------


class ModelTextDelta(Struct, frozen=True, kw_only=True, tag="text.delta"):
    delta: str


class ModelToolCallStart(Struct, frozen=True, kw_only=True, tag="tool_call.start"):
    """A tool call begins: ``index`` orders calls within the response and links the deltas."""

    index: int
    call_id: str
    name: str


class ModelToolCallDelta(Struct, frozen=True, kw_only=True, tag="tool_call.delta"):
    index: int
    arguments: str


class ModelDone(Struct, frozen=True, kw_only=True, tag="done"):
    """The last event of a stream: the whole response (text, complete tool calls, usage, finish)."""

    response: ModelResponse


ModelEvent = ModelTextDelta | ModelToolCallStart | ModelToolCallDelta | ModelDone


# -- pass-through (same protocol in and out) --------------------------------------------------------------

PROTOCOL_OPENAI_CHAT = "openai.chat"
PROTOCOL_OPENAI_RESPONSES = "openai.responses"
PROTOCOL_ANTHROPIC_MESSAGES = "anthropic.messages"


class WireCall(Struct, frozen=True, kw_only=True):
    """A client's request in a vendor protocol, kept whole: a deployment that speaks the same
    ``protocol`` gets the body as the client sent it (unknown fields included), with only the model
    replaced and usage reporting turned on; any other deployment gets the neutral ``ModelRequest``."""

    protocol: str
    body: dict[str, Any]
    stream: bool = False


class WireAnswer(Struct, frozen=True, kw_only=True):
    """A pass-through answer: the upstream's JSON body as it came, and what it says (decoded once, for
    accounting and guardrails)."""

    body: bytes
    response: ModelResponse


class WireFrame(Struct, frozen=True, kw_only=True):
    """One pass-through stream frame: the upstream's SSE frame as it came (``event:``/``data:`` lines and
    the blank line) and the neutral events it carries (the last frame's include ``ModelDone``)."""

    data: bytes
    events: tuple[ModelEvent, ...] = ()


# -- embeddings -------------------------------------------------------------------------------------------


class EmbeddingRequest(Struct, frozen=True, kw_only=True):
    """Texts to embed. ``dimensions``: ask for shorter vectors where the model supports it."""

    inputs: tuple[str, ...]
    model: str = ""
    dimensions: int | None = None
    user: str | None = None


class EmbeddingResponse(Struct, frozen=True, kw_only=True):
    """One vector per input, in order; ``provider``/``model`` say who answered."""

    vectors: tuple[tuple[float, ...], ...]
    usage: Usage = Usage()
    provider: str = ""
    model: str = ""
    attempts: tuple[Attempt, ...] = ()
