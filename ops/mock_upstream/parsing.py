"""Reduce chat-completions, responses and Anthropic messages request bodies (decoded JSON) to a
``logic.Prompt``."""

from __future__ import annotations

import json
from typing import Any

from ops.mock_upstream.logic import Prompt


def content_text(content: Any) -> str:
    """The text of a message ``content``: a string, or a list of text parts (any ``*text`` type)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "".join(parts)
    return ""


def from_chat(body: dict[str, Any]) -> Prompt:
    """Parse a ``POST /v1/chat/completions`` body."""
    prompt = Prompt(model=str(body.get("model", "")))
    call_names: dict[str, str] = {}
    for message in body.get("messages", []):
        role = message.get("role")
        text = content_text(message.get("content"))
        prompt.texts.append(text)
        prompt.last_is_user = role == "user"
        prompt.last_tool_name = None
        if role == "user":
            prompt.last_user_text = text
        for call in message.get("tool_calls") or []:
            function = call.get("function", {})
            call_names[call.get("id", "")] = function.get("name", "")
            prompt.texts.append(str(function.get("arguments", "")))
        if role == "tool":
            prompt.last_tool_name = call_names.get(message.get("tool_call_id", ""), "unknown")
            prompt.last_tool_output = text
    for tool in body.get("tools") or []:
        function = tool.get("function", {})
        if "name" in function:
            prompt.tools[function["name"]] = function.get("parameters") or {}
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        prompt.output_schema = (response_format.get("json_schema") or {}).get("schema") or {}
    return prompt


def from_responses(body: dict[str, Any]) -> Prompt:
    """Parse a ``POST /v1/responses`` body."""
    prompt = Prompt(model=str(body.get("model", "")))
    if isinstance(body.get("instructions"), str):
        prompt.texts.append(body["instructions"])
    items = body.get("input", [])
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    call_names: dict[str, str] = {}
    for item in items:
        kind = item.get("type", "message")
        prompt.last_is_user = False
        prompt.last_tool_name = None
        if kind == "message":
            text = content_text(item.get("content"))
            prompt.texts.append(text)
            if item.get("role") == "user":
                prompt.last_user_text = text
                prompt.last_is_user = True
        elif kind == "function_call":
            call_names[item.get("call_id", "")] = item.get("name", "")
            prompt.texts.append(str(item.get("arguments", "")))
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else content_text(output)
            prompt.texts.append(text)
            prompt.last_tool_name = call_names.get(item.get("call_id", ""), "unknown")
            prompt.last_tool_output = text
    for tool in body.get("tools") or []:
        if tool.get("type") == "function" and "name" in tool:
            prompt.tools[tool["name"]] = tool.get("parameters") or {}
    text_format = (body.get("text") or {}).get("format") or {}
    if text_format.get("type") == "json_schema":
        prompt.output_schema = text_format.get("schema") or {}
    return prompt


def from_messages(body: dict[str, Any]) -> Prompt:
    """Parse a ``POST /v1/messages`` (Anthropic) body: ``system``, text and ``tool_use`` / ``tool_result``
    blocks, ``tools`` (``input_schema``) and ``tool_choice`` (``tool`` forces one, ``any`` some tool)."""
    prompt = Prompt(model=str(body.get("model", "")))
    system = body.get("system")
    if system:
        prompt.texts.append(content_text(system))
    call_names: dict[str, str] = {}
    for message in body.get("messages", []):
        role = message.get("role")
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        texts: list[str] = []
        prompt.last_is_user = False
        prompt.last_tool_name = None
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                texts.append(block.get("text", ""))
            elif kind == "tool_use":
                call_names[block.get("id", "")] = block.get("name", "")
                prompt.texts.append(json.dumps(block.get("input", {})))
            elif kind == "tool_result":
                output = block.get("content")
                text = output if isinstance(output, str) else content_text(output)
                prompt.texts.append(text)
                prompt.last_tool_name = call_names.get(block.get("tool_use_id", ""), "unknown")
                prompt.last_tool_output = text
        if texts:
            text = "".join(texts)
            prompt.texts.append(text)
            if role == "user":
                prompt.last_user_text = text
                prompt.last_is_user = True
                prompt.last_tool_name = None
    for tool in body.get("tools") or []:
        if "name" in tool and tool.get("type") in (None, "custom"):
            prompt.tools[tool["name"]] = tool.get("input_schema") or {}
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool":
        prompt.forced_tool = choice.get("name")
    prompt.any_tool = choice.get("type") == "any"
    return prompt
