"""A strict SSE parser for tests: frames as (id, event, data) plus comment lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec


@dataclass
class Frame:
    id: int | None = None
    event: str | None = None
    data: Any = None
    comments: list[str] = field(default_factory=list)


def parse_frames(text: str) -> list[Frame]:
    frames = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        frame = Frame()
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "":
                frame.comments.append(value)
            elif name == "id":
                frame.id = int(value)
            elif name == "event":
                frame.event = value
            elif name == "data":
                frame.data = msgspec.json.decode(value)
        frames.append(frame)
    return frames


def events(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.event is not None]
