"""Configuration files checked at compile time: the agent catalog and the guardrail policy file.

Loading them is cheap and side-effect free, so a bad file (or an agent naming a provider that is not
enabled) stops startup with one message instead of failing later on some request.
"""

from __future__ import annotations

from backend.settings import ChatSettings, ProviderSettings


def file_problems(chat: ChatSettings, providers: ProviderSettings) -> list[str]:
    from adapters.catalog.toml_catalog import CatalogError, TomlAgentCatalog
    from adapters.guardrails.policy_file import PolicyFileError, load_policies
    from adapters.persistence.memory_sessions import MemorySessionStore
    from adapters.tools import default_tools

    problems: list[str] = []
    known_tools = default_tools(MemorySessionStore()).names()
    try:
        catalog = TomlAgentCatalog.load(chat.agents_file, known_tools=known_tools)
    except CatalogError as exc:
        problems.append(f"SWITCHBOARD_AGENTS_FILE: {exc}")
    else:
        from backend.wiring.providers import engine_problems

        problems += engine_problems(providers, {a.key: a.engine for a in catalog.all()})
        for agent in catalog.all():
            if agent.provider and agent.provider not in providers.enabled:
                problems.append(
                    f"SWITCHBOARD_AGENTS_FILE: agent {agent.key!r} uses provider {agent.provider!r}, which is not "
                    f"in SWITCHBOARD_PROVIDERS ({', '.join(providers.enabled)})"
                )
    try:
        load_policies(chat.guardrails_file)
    except PolicyFileError as exc:
        problems.append(f"SWITCHBOARD_GUARDRAILS_FILE: {exc}")
    return problems
