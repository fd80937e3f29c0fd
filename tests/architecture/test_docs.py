"""Docs stay true: every settings variable is documented in docs/configuration.md."""

from __future__ import annotations

from pathlib import Path

from backend.settings import _FIELDS

REPO = Path(__file__).resolve().parents[2]


def test_every_variable_is_in_the_configuration_table() -> None:
    text = (REPO / "docs/configuration.md").read_text()
    missing = [name for name in [*_FIELDS, "SWITCHBOARD_PROVIDERS"] if f"`{name}`" not in text]
    assert missing == []
