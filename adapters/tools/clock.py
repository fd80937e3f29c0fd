"""The ``current_time`` tool: the current time in an IANA time zone (``zoneinfo``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from adapters.tools.registry import ToolDefinition, ToolFailure
from contracts.tools import ToolContext

NAME = "current_time"


class CurrentTimeArguments(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Arguments of ``current_time``: an IANA zone name such as ``Europe/Paris``."""

    timezone: str = "UTC"


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Clock:
    """Tells the time. ``now`` must return an aware datetime; tests inject a fixed one."""

    def __init__(self, now: Callable[[], datetime] = utc_now) -> None:
        self._now = now

    async def current_time(self, arguments: CurrentTimeArguments, _context: ToolContext) -> str:
        """``2024-05-01T14:30:00+02:00 (Europe/Paris)``: ISO-8601 with offset, then the zone name."""
        try:
            zone = ZoneInfo(arguments.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ToolFailure(f"unknown time zone {arguments.timezone!r}") from exc
        local = self._now().astimezone(zone).replace(microsecond=0)
        return f"{local.isoformat()} ({arguments.timezone})"

    def definition(self) -> ToolDefinition[CurrentTimeArguments]:
        return ToolDefinition(
            name=NAME,
            description="The current date and time in an IANA time zone (for example Europe/Paris or UTC).",
            arguments=CurrentTimeArguments,
            handler=self.current_time,
        )
