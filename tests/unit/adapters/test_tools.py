"""The tool registry and the three shipped tools, through the ``ToolRegistryPort`` surface."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from adapters.tools import ToolDefinition, ToolFailure, ToolRegistry, default_tools
from contracts.conversations import UserMessage
from contracts.errors import NotFound
from contracts.ports import SessionStore
from contracts.tools import ToolCall, ToolContext, ToolResult

CONTEXT = ToolContext(tenant_id="tenant-a")


@pytest.fixture
def registry(sessions: SessionStore, fixed_now: Callable[[], datetime]) -> ToolRegistry:
    return default_tools(sessions, now=fixed_now)


async def call(registry: ToolRegistry, name: str, **arguments: Any) -> ToolResult:
    return await registry.invoke(ToolCall(call_id="c1", name=name, arguments=arguments), CONTEXT)


def test_specs_list_every_tool_with_an_inline_object_schema(registry: ToolRegistry) -> None:
    specs = registry.specs()
    assert [spec.name for spec in specs] == ["current_time", "calculator", "search_conversations"]
    calculator = registry.specs(["calculator"])[0]
    assert calculator.parameters["type"] == "object"
    assert calculator.parameters["required"] == ["expression"]
    assert "$ref" not in calculator.parameters


def test_specs_of_an_unknown_tool_raise_not_found(registry: ToolRegistry) -> None:
    with pytest.raises(NotFound, match="weather"):
        registry.specs(["calculator", "weather"])


async def test_unknown_tool_is_an_error_result(registry: ToolRegistry) -> None:
    result = await call(registry, "weather", city="Paris")
    assert result.is_error
    assert result.output == "unknown tool 'weather'"
    assert result.call_id == "c1"


async def test_bad_arguments_are_an_error_result_naming_the_problem(registry: ToolRegistry) -> None:
    result = await call(registry, "calculator", expression=42)
    assert result.is_error
    assert "invalid arguments for calculator" in result.output
    assert "expression" in result.output


async def test_an_unexpected_exception_in_a_tool_becomes_an_error_result() -> None:
    class NoArguments(msgspec.Struct):
        pass

    async def broken(_arguments: NoArguments, _context: ToolContext) -> str:
        raise KeyError("secret internals")

    registry = ToolRegistry([ToolDefinition("broken", "Always fails.", NoArguments, broken)])
    result = await call(registry, "broken")
    assert result.is_error
    assert result.output == "tool broken failed unexpectedly (KeyError)"


def test_registering_a_name_twice_is_refused() -> None:
    class NoArguments(msgspec.Struct):
        pass

    async def handler(_arguments: NoArguments, _context: ToolContext) -> str:
        raise ToolFailure("unused")

    tool = ToolDefinition("twice", "Registered twice.", NoArguments, handler)
    with pytest.raises(ValueError, match="twice"):
        ToolRegistry([tool, tool])


# -- current_time ------------------------------------------------------------------------------------------


async def test_current_time_defaults_to_utc(registry: ToolRegistry) -> None:
    result = await call(registry, "current_time")
    assert result == ToolResult(call_id="c1", name="current_time", output="2024-05-01T12:30:00+00:00 (UTC)")


async def test_current_time_in_a_zone_has_its_offset_and_name(registry: ToolRegistry) -> None:
    result = await call(registry, "current_time", timezone="Europe/Paris")
    assert not result.is_error
    assert result.output == "2024-05-01T14:30:00+02:00 (Europe/Paris)"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", ""])
async def test_current_time_in_an_unknown_zone_is_an_error(registry: ToolRegistry, zone: str) -> None:
    result = await call(registry, "current_time", timezone=zone)
    assert result.is_error
    assert "unknown time zone" in result.output


async def test_the_clock_reads_its_injected_time_source(sessions: SessionStore) -> None:
    registry = default_tools(sessions, now=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    result = await call(registry, "current_time", timezone="Asia/Tokyo")
    assert result.output == "2030-01-01T09:00:00+09:00 (Asia/Tokyo)"


# -- calculator --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 3 * 4", "14"),
        ("(2 + 3) * 4", "20"),
        ("7 // 2", "3"),
        ("7 % 4", "3"),
        ("2 ** 10", "1024"),
        ("-3 + +5", "2"),
        ("6 / 3", "2"),
        ("0.1 + 0.2", "0.3"),
        ("1 / 3", "0.333333333333"),
    ],
)
async def test_calculator_evaluates_arithmetic(registry: ToolRegistry, expression: str, value: str) -> None:
    result = await call(registry, "calculator", expression=expression)
    assert not result.is_error
    assert result.output == value


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os')", "Call is not allowed"),
        ("os.system('ls')", "not allowed"),
        ("x + 1", "Name is not allowed"),
        ("'a' * 3", "only numbers"),
        ("True + 1", "only numbers"),
        ("2 ^ 3", "operator BitXor is not allowed"),
        ("1 < 2", "not allowed"),
        ("[1, 2][0]", "not allowed"),
        ("lambda: 1", "not allowed"),
        ("9**9**9", "exponent is larger than 1000"),
        ("99999 ** 999", "too large"),
        ("10 ** 300 * 10 ** 300 * 10 ** 300 * 10 ** 300 * 10 ** 300", "too large"),
        ("1e308 * 10", "too large"),
        ("1/0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("(-8) ** 0.5", "not a real number"),
        ("1 +", "not a valid arithmetic expression"),
        ("1" + " + 1" * 100, "longer than 200 characters"),
    ],
)
async def test_calculator_refuses_hostile_or_impossible_input(
    registry: ToolRegistry, expression: str, reason: str
) -> None:
    result = await call(registry, "calculator", expression=expression)
    assert result.is_error
    assert reason in result.output


# -- search_conversations ----------------------------------------------------------------------------------


async def test_search_lists_hits_of_the_calling_tenant_only(registry: ToolRegistry, sessions: Any) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    await sessions.append("tenant-a", "conv-1", [UserMessage(id="m1", created_at=when, text="I love Paris")])
    await sessions.append("tenant-b", "conv-2", [UserMessage(id="m2", created_at=when, text="Paris secret")])
    result = await call(registry, "search_conversations", query="paris", limit=3)
    assert result.output == "[conv-1] I love Paris"
    assert sessions.searches == [("tenant-a", "paris", 3)]


async def test_search_says_so_when_nothing_matches(registry: ToolRegistry) -> None:
    result = await call(registry, "search_conversations", query="zebra")
    assert not result.is_error
    assert result.output == "no messages matching 'zebra'"


@pytest.mark.parametrize(
    "arguments", [{"query": ""}, {"query": "x", "limit": 0}, {"query": "x", "limit": 21}]
)
async def test_search_validates_its_arguments(registry: ToolRegistry, arguments: dict[str, Any]) -> None:
    result = await call(registry, "search_conversations", **arguments)
    assert result.is_error
    assert "invalid arguments for search_conversations" in result.output
