"""The mock upstream's deterministic brain: what to answer to a parsed request, and its usage.

Both wire formats (chat completions and responses) are parsed into a ``Prompt`` first; ``decide`` then
picks one ``Reply`` by these rules, first match wins:

1. The last input item is the user's message and a tool offered by the request is asked for:
   - a tool named ``transfer_to_<x>`` (a handoff) when the user text, lower-cased with every run of
     non-alphanumeric characters turned into ``_``, contains ``transfer_to_<x>``; arguments ``{}``;
   - any other tool ``<t>`` when that normalised text contains ``use_<t>``; its arguments are the first
     JSON object written in the user text (``use calculator {"expression": "2+2"}``), else built from the
     tool's JSON schema (see ``fill_schema``).
   The request forces a tool (Anthropic's ``tool_choice``; ``forced_tool``): that tool, arguments built by
   ``fill_schema`` from its schema; ``tool_choice: any`` (``any_tool``): the last tool offered, likewise
   (Switchboard puts a structured answer's output tool last). These apply whatever the last item is.
2. A JSON schema output was requested: the answer is a JSON object built by ``fill_schema``.
3. The last input item is a tool's output (not a handoff's): ``Tool <name> returned: <output>``.
4. Otherwise: ``Mock answer to: <last user text>``.

Usage: ``input_tokens`` = whitespace-separated words in the instructions and every input text (messages,
tool outputs, tool-call arguments); ``output_tokens`` = words in the answer (for a tool call: 1 + words in
its arguments); ``total_tokens`` their sum; ``cached_tokens`` = input // 4; ``reasoning_tokens`` =
output // 2.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_PIECE = re.compile(r"\S+\s*")


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Token counts the mock reports."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Prompt(msgspec.Struct, kw_only=True):
    """A request reduced to what the rules look at."""

    model: str = ""
    texts: list[str] = msgspec.field(default_factory=list)
    last_user_text: str = ""
    last_is_user: bool = False
    last_tool_name: str | None = None
    last_tool_output: str | None = None
    tools: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    output_schema: dict[str, Any] | None = None
    forced_tool: str | None = None
    any_tool: bool = False


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """What the mock answers: a text, or one tool call (``tool_name`` set, ``text`` = JSON arguments)."""

    text: str
    usage: Usage
    tool_name: str | None = None

    @property
    def is_tool_call(self) -> bool:
        return self.tool_name is not None


def words(text: str) -> int:
    """Whitespace-separated words in ``text``."""
    return len(text.split())


def pieces(text: str) -> list[str]:
    """The streamed pieces of ``text``: each run of non-space characters with the spaces after it."""
    found = _PIECE.findall(text)
    if not found:
        return [text] if text else []
    lead = text[: len(text) - len(text.lstrip())]
    if lead:
        found[0] = lead + found[0]
    return found


def normalise(text: str) -> str:
    """Lower-case ``text`` with every run of non-alphanumerics replaced by ``_``."""
    return _NON_ALNUM.sub("_", text.lower())


def first_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object written in ``text``, if any."""
    decoder = json.JSONDecoder()
    for start, char in enumerate(text):
        if char != "{":
            continue
        try:
            value, _ = decoder.raw_decode(text[start:])
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def fill_schema(schema: dict[str, Any], *, name: str = "value", seed: str = "") -> Any:
    """A deterministic value satisfying a simple JSON schema.

    Objects get every declared property; strings are ``"mock <property>"`` (the first ``enum`` value when
    one is given); integers and numbers are the word count of ``seed``; booleans ``true``; arrays ``[]``.
    """
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        return {key: fill_schema(sub, name=key, seed=seed) for key, sub in props.items()}
    if kind == "string":
        return f"mock {name}"
    if kind == "integer":
        return words(seed)
    if kind == "number":
        return float(words(seed))
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    return None


def _wanted_tool(prompt: Prompt) -> str | None:
    if not prompt.last_is_user:
        return None
    text = normalise(prompt.last_user_text)
    for tool in prompt.tools:
        if tool.startswith("transfer_to_"):
            if tool in text:
                return tool
        elif f"use_{normalise(tool).strip('_')}" in text:
            return tool
    return None


def _forced_tool(prompt: Prompt) -> str | None:
    if prompt.forced_tool in prompt.tools:
        return prompt.forced_tool
    if prompt.any_tool and prompt.tools:
        return list(prompt.tools)[-1]
    return None


def decide(prompt: Prompt) -> Reply:
    """Apply the module's rules to ``prompt``."""
    tool = _wanted_tool(prompt)
    forced = tool is None and _forced_tool(prompt) is not None
    if forced:
        tool = _forced_tool(prompt)
    if tool is not None:
        args: Any = {}
        if forced:
            args = fill_schema(prompt.tools[tool] or {}, seed=prompt.last_user_text)
        elif not tool.startswith("transfer_to_"):
            args = first_json_object(prompt.last_user_text)
            if args is None:
                args = fill_schema(prompt.tools[tool] or {}, seed=prompt.last_user_text)
        arguments = json.dumps(args)
        return Reply(text=arguments, tool_name=tool, usage=_usage(prompt, 1 + words(arguments)))
    if prompt.output_schema is not None:
        text = json.dumps(fill_schema(prompt.output_schema, seed=prompt.last_user_text))
    elif prompt.last_tool_name is not None and not prompt.last_tool_name.startswith("transfer_to_"):
        text = f"Tool {prompt.last_tool_name} returned: {prompt.last_tool_output}"
    else:
        text = f"Mock answer to: {prompt.last_user_text}"
    return Reply(text=text, usage=_usage(prompt, words(text)))


def _usage(prompt: Prompt, output_tokens: int) -> Usage:
    input_tokens = sum(words(t) for t in prompt.texts)
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=input_tokens // 4,
        reasoning_tokens=output_tokens // 2,
    )
