"""The ports: what the service needs from the outside world, as Protocols.

Services and controllers depend on these only; adapters implement them; the composition root
(backend/wiring) picks which adapter provides each port from settings. Imports stdlib + msgspec only.

Every method that reads or writes tenant data takes ``tenant_id`` first: tenancy is part of the port, so
no adapter can forget it.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from contracts.accounting import UsageRecord
from contracts.agents import AgentDescriptor, ProviderDescriptor, ProviderStatus
from contracts.auth import ApiKeyRecord, Principal
from contracts.base import Struct
from contracts.conversations import ConversationInfo, ConversationItem, ConversationPage, SearchHit
from contracts.events import AgentHandoff, RuntimeEvent, ToolCalled, ToolOutput
from contracts.guardrails import GuardrailOutcome, GuardrailPolicy, Stage
from contracts.models import (
    Attempt,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    WireAnswer,
    WireCall,
    WireFrame,
)
from contracts.realtime import RealtimeClientEvent, RealtimeServerEvent, RealtimeSessionRequest
from contracts.routing import RouteInfo
from contracts.tools import ToolCall, ToolContext, ToolResult, ToolSpec
from contracts.usage import Usage

# -- models ----------------------------------------------------------------------------------------------


@runtime_checkable
class LanguageModel(Protocol):
    """One model call (the model level, below agents): a provider instance's wire codec, the offline
    script, or a router over several of them.

    Failures raise ``ProviderUnavailable`` (``ProviderRejected`` when the request itself was refused),
    classified by ``failure``; never the upstream's own text, never a secret.
    """

    @property
    def name(self) -> str:
        """The provider instance (or route) this model calls."""
        ...

    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        """Deltas, then exactly one ``ModelDone``. Closing the iterator (``aclose``, or cancelling the
        task consuming it) closes the upstream request."""
        ...


@runtime_checkable
class EmbeddingModel(Protocol):
    """Text embeddings from one provider instance (or a route's router). Failures as ``LanguageModel``."""

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse: ...


@runtime_checkable
class WirePassthrough(Protocol):
    """What a ``LanguageModel`` whose upstream speaks a client protocol natively offers on top: the
    client's body forwarded as is (model replaced, usage asked for) and the upstream's bytes relayed."""

    def speaks(self, protocol: str) -> bool: ...

    async def forward(self, call: WireCall, model: str) -> WireAnswer: ...

    def forward_stream(self, call: WireCall, model: str) -> AsyncGenerator[WireFrame, None]:
        """The upstream's frames as they come; the last one's events end with ``ModelDone``."""
        ...


@runtime_checkable
class WireTokenCounter(Protocol):
    """What a ``WirePassthrough`` whose upstream counts a request's input tokens offers (Anthropic's
    ``/v1/messages/count_tokens``): the client's body counted upstream, model replaced."""

    async def count_tokens(self, call: WireCall, model: str) -> int: ...


@runtime_checkable
class RoutedModel(LanguageModel, Protocol):
    """A route's model (a router): a ``LanguageModel`` that can also pass a client's body through to a
    deployment speaking the client's protocol, falling back to the neutral request elsewhere."""

    async def forward(self, call: WireCall, request: ModelRequest) -> WireAnswer | ModelResponse: ...

    def forward_stream(
        self, call: WireCall, request: ModelRequest
    ) -> AsyncGenerator[WireFrame | ModelEvent, None]: ...

    def passes_through(self, protocol: str) -> bool:
        """Every deployment of the route speaks ``protocol``: a client's body always goes as it is."""
        ...

    async def count_tokens(self, call: WireCall, request: ModelRequest) -> int | None:
        """The input tokens of ``call`` as counted by the first deployment (route order) that speaks
        its protocol and counts (``WireTokenCounter``); None when no deployment can. A failure of every
        such deployment raises the last one."""
        ...

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Embeddings from the first deployment able to give them (``embeddings`` capability)."""
        ...


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """Where a stateless model call runs (the OpenAI- and Anthropic-compatible surfaces): the route's name,
    its model, and the first deployment planned."""

    route: str
    model: RoutedModel
    provider: ProviderDescriptor
    model_name: str


# -- agents ------------------------------------------------------------------------------------------------


class AgentTurn(Struct, frozen=True, kw_only=True):
    """Everything a runtime needs for one turn: the agent, the stored history (neutral items, oldest
    first), the new user input and who is calling (for tools). Which upstream model answers is the
    ``LanguageModel``'s business (a router picks a deployment and its model)."""

    agent: AgentDescriptor
    history: tuple[ConversationItem, ...]
    input: str
    context: ToolContext


class RunResult(Struct, frozen=True, kw_only=True):
    """A finished non-streamed turn. ``steps`` are the tool calls, tool outputs and handoffs, in order.
    ``provider``/``model``: the instance and upstream model of the last model call; ``attempts``: the
    model calls that failed on the way (retries, fallback)."""

    output: str
    usage: Usage
    model: str
    agent: str
    steps: tuple[ToolCalled | ToolOutput | AgentHandoff, ...] = ()
    provider: str = ""
    attempts: tuple[Attempt, ...] = ()


@runtime_checkable
class AgentRuntime(Protocol):
    """Runs agent turns (tools, handoffs, structured output) over a ``LanguageModel``: the shared neutral
    tool loop, or a vendor agent SDK driven through the same port."""

    async def run(self, turn: AgentTurn, model: LanguageModel) -> RunResult:
        """Run a turn to the end. Raises ``ProviderUnavailable`` on provider failure."""
        ...

    def stream(self, turn: AgentTurn, model: LanguageModel) -> AsyncGenerator[RuntimeEvent, None]:
        """Yield events as they happen, ending with one ``RunFinished``. Closing the iterator (``aclose``,
        or cancelling the task consuming it) must cancel the provider call. A failure raises
        ``ProviderUnavailable`` from the iterator."""
        ...


@dataclass(frozen=True, slots=True)
class Target:
    """Where a turn runs, as resolved from the request and the agent: the route's name, its model (a
    router over the route's deployments), the agent engine to drive it, and the first deployment planned
    (``provider``, ``model_name``), which ``run.started`` reports."""

    route: str
    model: LanguageModel
    runtime: AgentRuntime
    provider: ProviderDescriptor
    model_name: str


class AgentCatalog(Protocol):
    """The agents declared in the catalog file."""

    @property
    def default_key(self) -> str: ...

    def get(self, key: str) -> AgentDescriptor:
        """Raises ``NotFound`` for an unknown key."""
        ...

    def all(self) -> list[AgentDescriptor]: ...


# -- providers ---------------------------------------------------------------------------------------------


class RealtimeChannel(Protocol):
    """One open realtime session. ``events`` ends after ``SessionClosed``."""

    async def send(self, event: RealtimeClientEvent) -> None: ...

    def events(self) -> AsyncIterator[RealtimeServerEvent]: ...

    async def close(self) -> None: ...


class RealtimeChannelFactory(Protocol):
    """Opens realtime channels on one provider instance."""

    async def open(self, request: RealtimeSessionRequest) -> RealtimeChannel: ...


class ModerationCheck(Protocol):
    """A provider's moderation endpoint: category -> score in [0, 1], plus whether it flagged the text."""

    async def moderate(self, text: str) -> tuple[bool, dict[str, float]]: ...


class ProviderDirectory(Protocol):
    """The enabled provider instances, their order and the default."""

    @property
    def default(self) -> str: ...

    def names(self) -> list[str]:
        """Enabled providers in configured order."""
        ...

    def descriptor(self, name: str) -> ProviderDescriptor:
        """Raises ``NotFound`` for a provider that is not enabled."""
        ...

    def target(self, *, provider: str | None, model: str | None, agent: AgentDescriptor) -> Target:
        """Resolve where a turn runs (docs/routing.md): a named provider (pinned), else a route alias or a
        ``provider/model`` pair named by ``model``, else the agent's provider/model, else the default
        route. Raises ``InvalidRequest`` naming the field (``provider``, ``model``, ``agent``)."""
        ...

    def route(self, model: str | None) -> ModelRoute:
        """Resolve a client's ``model`` (route alias, provider name, ``provider/model``, or an upstream
        model for the default provider; None: the default route). Raises ``InvalidRequest`` (field
        ``model``) for a provider that is not enabled."""
        ...

    def embedding_route(self, model: str | None) -> ModelRoute:
        """Like ``route`` for embeddings: a provider named alone (or nothing: the first instance offering
        embeddings) means its default embedding model. Raises ``InvalidRequest`` when no enabled
        instance offers embeddings."""
        ...

    def models(self) -> builtins.list[str]:
        """Every name a client may put in ``model``: routes, providers, ``provider/model`` pairs known."""
        ...

    def realtime(self, name: str) -> RealtimeChannelFactory:
        """Raises ``NotFound``, or ``InvalidRequest`` if that provider has no realtime surface."""
        ...

    def moderation(self, name: str | None) -> ModerationCheck:
        """The named provider's moderation, or the first provider offering one; raises ``InvalidRequest``
        when there is none."""
        ...

    async def statuses(self) -> list[ProviderStatus]: ...

    def routes(self) -> list[RouteInfo]:
        """Every configured route (and the default route) with its deployments' circuit states."""
        ...


# -- sessions ----------------------------------------------------------------------------------------------


class SessionStore(Protocol):
    """Tenant-scoped conversation memory. A conversation of another tenant behaves as if absent."""

    async def append(
        self, tenant_id: str, conversation_id: str, items: Sequence[ConversationItem]
    ) -> ConversationInfo:
        """Append items atomically (all or none), creating the conversation if it does not exist. Items
        keep the order given; concurrent appends never lose or interleave items of one call."""
        ...

    async def get(self, tenant_id: str, conversation_id: str) -> ConversationInfo | None: ...

    async def load_items(
        self, tenant_id: str, conversation_id: str, *, limit: int | None = None
    ) -> builtins.list[ConversationItem]:
        """Items oldest first; with ``limit``, the newest ``limit`` items (still oldest first)."""
        ...

    async def list(self, tenant_id: str, *, limit: int, cursor: str | None = None) -> ConversationPage:
        """Conversations, most recently updated first. ``cursor`` is opaque; a bad one raises
        ``InvalidRequest(field="cursor")``."""
        ...

    async def delete(self, tenant_id: str, conversation_id: str) -> bool:
        """Delete the conversation and all its items; False if it did not exist (for this tenant)."""
        ...

    async def search(self, tenant_id: str, query: str, *, limit: int = 5) -> builtins.list[SearchHit]:
        """Case-insensitive substring search over message texts of this tenant's conversations."""
        ...


# -- guardrails --------------------------------------------------------------------------------------------


class GuardrailPolicyStore(Protocol):
    """Policies: defaults from the config file, per-tenant overrides stored in the database."""

    async def get(self, tenant_id: str, name: str) -> GuardrailPolicy | None:
        """The tenant's override of ``name`` if any, else the default, else None."""
        ...

    async def list(self, tenant_id: str) -> builtins.list[GuardrailPolicy]:
        """Every policy visible to the tenant (overrides replace defaults of the same name)."""
        ...

    async def put(self, tenant_id: str, policy: GuardrailPolicy) -> GuardrailPolicy:
        """Store a tenant override (replacing an earlier one of the same name)."""
        ...


class OutputFilter(Protocol):
    """A policy's output rules applied to one streamed answer, delta by delta.

    ``feed`` returns the text that may be sent now (redactions applied; text that could still become a
    match is held back); ``finish`` the rest at the end. Both raise ``GuardrailBlocked`` when a blocking
    rule matches, before any of the matched text has been returned."""

    def feed(self, delta: str) -> str: ...

    def finish(self) -> str: ...


class GuardrailChecker(Protocol):
    """Applies a policy's rules for one stage to a text."""

    async def check(self, policy: GuardrailPolicy, stage: Stage, text: str) -> GuardrailOutcome: ...

    def output_filter(self, policy: GuardrailPolicy) -> OutputFilter | None:
        """A filter for one streamed answer; None when the policy has no output rules or opted out
        (``stream_output="raw"``)."""
        ...

    def problems(self, policy: GuardrailPolicy) -> list[str]:
        """What is wrong with a policy before it is stored (bad regex, thresholds outside [0, 1]...)."""
        ...


# -- tools -------------------------------------------------------------------------------------------------


class ToolRegistryPort(Protocol):
    """The tools agents may call."""

    def specs(self, names: Sequence[str] | None = None) -> list[ToolSpec]:
        """Specs of the named tools (all when None); an unknown name raises ``NotFound``."""
        ...

    async def invoke(self, call: ToolCall, context: ToolContext) -> ToolResult:
        """Run a tool. Bad arguments or a failing tool give ``ToolResult(is_error=True)``, never raise."""
        ...


# -- keys and accounting -----------------------------------------------------------------------------------


class ApiKeyStore(Protocol):
    """Resolves API key secrets to principals (secrets are stored hashed)."""

    async def authenticate(self, secret: str) -> Principal | None: ...


class ApiKeyAdmin(Protocol):
    """Manages the keys stored in the database (configured keys are not listed). The secret is returned
    once, by ``create``, and never stored; records never carry it."""

    async def create(
        self,
        tenant_id: str,
        scopes: frozenset[str],
        *,
        expires_at: datetime | None = None,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        concurrent_streams: int | None = None,
    ) -> tuple[str, ApiKeyRecord]: ...

    async def list(self, tenant_id: str | None = None) -> builtins.list[ApiKeyRecord]:
        """Keys of one tenant (or all), oldest first, revoked ones included."""
        ...

    async def get(self, key_id: str) -> ApiKeyRecord | None: ...

    async def revoke(self, key_id: str) -> bool:
        """False if the key does not exist or was revoked already."""
        ...


class UsageRecorder(Protocol):
    """Records one ``UsageRecord`` per turn."""

    async def record(self, record: UsageRecord) -> None: ...

    async def since(self, tenant_id: str, start: datetime) -> list[UsageRecord]: ...


# -- limits and resumable streams --------------------------------------------------------------------------


class RateDecision(Struct, frozen=True, kw_only=True):
    """Outcome of a limit check: ``remaining`` after this hit, ``reset_s`` until the window frees a slot."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: float


class RateLimiter(Protocol):
    """Limits shared by every instance using the same backend (exact, not per instance).

    Backends raise ``StoreUnavailable`` when they cannot answer; the caller decides to fail open or closed.
    """

    async def hit(self, bucket: str, *, limit: int, window_s: float, cost: int = 1) -> RateDecision:
        """Count ``cost`` against ``bucket`` in a sliding window; refused hits are not counted."""
        ...

    async def charge(self, bucket: str, *, window_s: float, cost: int) -> None:
        """Count ``cost`` after the fact (tokens spent by a finished turn), without a check."""
        ...

    async def acquire(self, bucket: str, *, limit: int, lease_s: float) -> tuple[RateDecision, str | None]:
        """Take one of ``limit`` concurrent slots; returns a lease id to release (None when refused).
        A lease not released expires after ``lease_s`` (a crashed instance frees its slots)."""
        ...

    async def release(self, bucket: str, lease: str) -> None: ...


class StreamLog(Protocol):
    """Keeps a stream's SSE frames for a while so a client can resume it on any instance."""

    async def open(self, stream_id: str, tenant_id: str, *, ttl_s: float) -> None: ...

    async def append(self, stream_id: str, event_id: int, frame: bytes, *, terminal: bool) -> None: ...

    async def tenant_of(self, stream_id: str) -> str | None:
        """The owner, or None when the stream is unknown or expired."""
        ...

    def follow(self, stream_id: str, after_id: int) -> AsyncIterator[tuple[int, bytes]]:
        """Frames with ids > ``after_id``: the stored ones, then live ones, ending after the terminal one.
        (Waiting for live frames may block; the caller adds heartbeats and timeouts.)"""
        ...


class ConfigNotices(Protocol):
    """Tells the other instances that an operator reloaded the configuration (docs/operations.md,
    "Changing configuration live"). A notice carries no configuration: each instance re-reads its own
    and validates it on its own. Never raises: a lost notice only means an instance reloads later."""

    async def publish(self, version: str) -> None: ...

    def start(self, on_notice: Callable[[str], Awaitable[None]]) -> None:
        """Call ``on_notice(version)`` for every notice another instance publishes."""
        ...

    async def aclose(self) -> None: ...
