"""One SDK model call's arguments as one neutral ``ModelRequest``.

Tools, handoffs and the output schema are converted once and cached (``RequestParts``): the SDK passes
the same ``FunctionTool``/``Handoff``/output-schema objects on every call of an agent, so the cache is
keyed by their identity and keeps them alive. Hosted tools (web search, file search, computer use...),
stored prompts and server-side conversation state have no neutral equivalent: asking for them raises
``ProviderRejected(failure="unsupported")`` rather than dropping them silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents import AgentOutputSchemaBase, FunctionTool, Handoff, ModelSettings, Tool

from contracts.errors import ProviderRejected
from contracts.models import ResponseFormat, ToolChoice
from contracts.tools import ToolSpec

EMPTY_OBJECT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
"""The parameters of a tool that takes none (the SDK gives handoffs ``{}``)."""

_CACHE_LIMIT = 512
_SAMPLING = ("temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty")
_LIFTED_EXTRAS = ("seed", "stop", "user")


def unsupported(provider: str, what: str) -> ProviderRejected:
    """The error for something the neutral model layer cannot carry."""
    return ProviderRejected(
        provider,
        f"{what} is not supported by the Switchboard model layer",
        retryable=False,
        failure="unsupported",
    )


def tool_spec(tool: Tool, provider: str) -> ToolSpec:
    """A function tool as a neutral spec; any other (hosted) tool is unsupported."""
    if not isinstance(tool, FunctionTool):
        raise unsupported(provider, f"the hosted tool {type(tool).__name__}")
    return ToolSpec(
        name=tool.name,
        description=tool.description,
        parameters=tool.params_json_schema or EMPTY_OBJECT_SCHEMA,
    )


def handoff_spec(handoff: Handoff[Any, Any]) -> ToolSpec:
    """A handoff as the tool a model calls to take it."""
    return ToolSpec(
        name=handoff.tool_name,
        description=handoff.tool_description,
        parameters=handoff.input_json_schema or EMPTY_OBJECT_SCHEMA,
    )


def response_format(schema: AgentOutputSchemaBase | None) -> ResponseFormat | None:
    """An agent's output schema as a JSON-schema response format (None for plain text)."""
    if schema is None or schema.is_plain_text():
        return None
    return ResponseFormat(
        type="json_schema",
        name=schema.name(),
        schema=schema.json_schema(),
        strict=schema.is_strict_json_schema(),
    )


class RequestParts:
    """Caches the converted tools (with handoffs) and response formats, shared by every run."""

    def __init__(self) -> None:
        self._tools: dict[tuple[int, ...], tuple[tuple[object, ...], tuple[ToolSpec, ...]]] = {}
        self._formats: dict[int, tuple[object, ResponseFormat | None]] = {}
        self.misses = 0

    def tools(
        self, tools: Sequence[Tool], handoffs: Sequence[Handoff[Any, Any]], provider: str
    ) -> tuple[ToolSpec, ...]:
        """Specs of ``tools`` then ``handoffs``."""
        key = (*map(id, tools), -1, *map(id, handoffs))
        hit = self._tools.get(key)
        if hit is not None:
            return hit[1]
        specs = (*(tool_spec(t, provider) for t in tools), *(handoff_spec(h) for h in handoffs))
        self._remember(self._tools, key, ((*tools, *handoffs), specs))
        return specs

    def response_format(self, schema: AgentOutputSchemaBase | None) -> ResponseFormat | None:
        """The response format of ``schema``."""
        if schema is None:
            return None
        hit = self._formats.get(id(schema))
        if hit is not None:
            return hit[1]
        converted = response_format(schema)
        self._remember(self._formats, id(schema), (schema, converted))
        return converted

    def _remember(self, cache: dict[Any, Any], key: Any, value: Any) -> None:
        self.misses += 1
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = value


def tool_choice(choice: Any, provider: str) -> ToolChoice | None:
    """The SDK's ``tool_choice`` setting as a neutral one."""
    if choice is None:
        return None
    if choice in ("auto", "none", "required"):
        return ToolChoice(mode=choice)
    if isinstance(choice, str):
        return ToolChoice(mode="tool", name=choice)
    raise unsupported(provider, f"tool_choice {type(choice).__name__}")


def settings_fields(settings: ModelSettings, provider: str) -> dict[str, Any]:
    """``ModelRequest`` fields from the SDK's model settings. ``extra_body`` and ``extra_args`` become
    ``extras`` (their ``seed``, ``stop`` and ``user`` are lifted to the typed fields); ``reasoning`` and
    ``verbosity`` go to ``extras`` under those names. Other OpenAI-only settings (store, truncation,
    include, prompt cache, extra headers and query) are not forwarded."""
    fields: dict[str, Any] = {}
    for name in _SAMPLING:
        value = getattr(settings, name, None)
        if value is not None:
            fields[name] = value
    if settings.parallel_tool_calls is not None:
        fields["parallel_tool_calls"] = settings.parallel_tool_calls
    choice = tool_choice(settings.tool_choice, provider)
    if choice is not None:
        fields["tool_choice"] = choice
    if settings.metadata:
        fields["metadata"] = dict(settings.metadata)
    extras: dict[str, Any] = {}
    if isinstance(settings.extra_body, Mapping):
        extras.update(settings.extra_body)
    if settings.extra_args:
        extras.update(settings.extra_args)
    if settings.reasoning is not None:
        extras["reasoning"] = settings.reasoning.model_dump(exclude_none=True)
    if settings.verbosity is not None:
        extras["verbosity"] = settings.verbosity
    seed = getattr(settings, "seed", None)
    for name in _LIFTED_EXTRAS:
        if name in extras:
            fields[name] = extras.pop(name)
    if seed is not None:
        fields["seed"] = seed
    if isinstance(fields.get("stop"), str):
        fields["stop"] = (fields["stop"],)
    elif "stop" in fields:
        fields["stop"] = tuple(fields["stop"] or ())
    if extras:
        fields["extras"] = extras
    return fields
