"""The TOML agent catalog: the shipped file loads; every kind of mistake gets one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.catalog.toml_catalog import CatalogError, TomlAgentCatalog
from contracts.errors import NotFound

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "agents.toml"
TOOLS = {"current_time", "calculator", "search_conversations"}
AGENT = """
[[agents]]
key = "{key}"
description = "An agent."
instructions = "Help."
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agents.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_catalog_loads_with_assistant_as_default() -> None:
    catalog = TomlAgentCatalog.load(SHIPPED, known_tools=TOOLS)
    assert catalog.default_key == "assistant"
    assistant = catalog.get("assistant")
    assert set(assistant.tools) == TOOLS
    assert assistant.handoffs == ("concise",)
    assert assistant.guardrail_policy == "default"
    assert catalog.get("concise").tools == ()
    assert [agent.key for agent in catalog.all()] == ["assistant", "concise"]


def test_get_of_an_unknown_agent_raises_not_found() -> None:
    catalog = TomlAgentCatalog.load(SHIPPED, known_tools=TOOLS)
    with pytest.raises(NotFound, match="'pirate'"):
        catalog.get("pirate")


def test_default_is_the_first_agent_when_not_named(tmp_path: Path) -> None:
    catalog = TomlAgentCatalog.load(
        write(tmp_path, AGENT.format(key="first") + AGENT.format(key="second")), known_tools=set()
    )
    assert catalog.default_key == "first"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"agents\.toml: file not found"):
        TomlAgentCatalog.load(tmp_path / "agents.toml", known_tools=TOOLS)


def test_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="invalid TOML"):
        TomlAgentCatalog.load(write(tmp_path, "default = \n"), known_tools=TOOLS)


def test_badly_typed_field_names_its_path(tmp_path: Path) -> None:
    text = AGENT.format(key="a") + "tools = 'calculator'\n"
    with pytest.raises(CatalogError, match=r"Expected `array`, got `str` - at `\$\.agents\[0\]\.tools`"):
        TomlAgentCatalog.load(write(tmp_path, text), known_tools=TOOLS)


def test_invalid_key_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"\$\.agents\[0\]\.key"):
        TomlAgentCatalog.load(write(tmp_path, AGENT.format(key="Not A Key")), known_tools=TOOLS)


def test_unknown_field_is_reported(tmp_path: Path) -> None:
    text = AGENT.format(key="a") + "tols = ['calculator']\n"
    with pytest.raises(CatalogError, match=r"unknown field `tols` - at `\$\.agents\[0\]`"):
        TomlAgentCatalog.load(write(tmp_path, text), known_tools=TOOLS)


def test_missing_required_field_is_reported(tmp_path: Path) -> None:
    text = '[[agents]]\nkey = "a"\ndescription = "x"\n'
    with pytest.raises(CatalogError, match="missing required field `instructions`"):
        TomlAgentCatalog.load(write(tmp_path, text), known_tools=TOOLS)


def test_duplicate_key(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="duplicate agent key 'a'"):
        TomlAgentCatalog.load(write(tmp_path, AGENT.format(key="a") * 2), known_tools=TOOLS)


def test_unknown_default(tmp_path: Path) -> None:
    text = 'default = "ghost"\n' + AGENT.format(key="a")
    with pytest.raises(CatalogError, match="default agent 'ghost' is not declared"):
        TomlAgentCatalog.load(write(tmp_path, text), known_tools=TOOLS)


def test_handoff_to_unknown_agent(tmp_path: Path) -> None:
    text = AGENT.format(key="a") + 'handoffs = ["ghost"]\n'
    with pytest.raises(CatalogError, match="agent 'a' hands off to unknown agent 'ghost'"):
        TomlAgentCatalog.load(write(tmp_path, text), known_tools=TOOLS)


def test_unknown_tool(tmp_path: Path) -> None:
    text = AGENT.format(key="a") + 'tools = ["weather"]\n'
    with pytest.raises(CatalogError, match="agent 'a' uses unknown tool 'weather'"):
        TomlAgentCatalog.load(write(tmp_path, text), known_tools=TOOLS)


def test_no_agents(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="declares no agents"):
        TomlAgentCatalog.load(write(tmp_path, ""), known_tools=TOOLS)


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, AGENT.format(key="a") * 2)
    with pytest.raises(CatalogError) as caught:
        TomlAgentCatalog.load(path, known_tools=TOOLS)
    assert str(caught.value).startswith(f"agent catalog {path}: ")
