"""The operator CLI: check/graph/providers work without the HTTP app, and bad config fails clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_", "ANTHROPIC_"))
    }
    environ.update({"SWITCHBOARD_ENV": "test", "SWITCHBOARD_API_KEYS": "k:t:chat", **env})
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_builds_the_graph_without_importing_the_http_app() -> None:
    code = (
        "import sys; from ops.cli import main; code = main(['check']);"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'litestar' or m.startswith('backend.http')"
        " or m == 'backend.app');"
        "print('LOADED', bad); sys.exit(code)"
    )
    result = run("-c", code)
    assert result.returncode == 0, result.stderr
    assert "configuration ok" in result.stdout
    assert "LOADED []" in result.stdout


def test_graph_prints_text_and_mermaid() -> None:
    text = run("-m", "ops", "graph")
    assert text.returncode == 0, text.stderr
    assert "ChatService" in text.stdout and "SessionStore" in text.stdout
    mermaid = run("-m", "ops", "graph", "--mermaid")
    assert mermaid.stdout.startswith("graph LR")
    assert "ChatService --> SessionStore" in mermaid.stdout


def test_providers_lists_order_and_default() -> None:
    result = run("-m", "ops", "providers")
    assert result.returncode == 0
    assert "1. scripted  kind=scripted" in result.stdout
    assert "(default)" in result.stdout


def test_check_and_providers_know_the_anthropic_kind() -> None:
    """The plain ``ANTHROPIC_API_KEY`` reaches the instance named ``anthropic`` (the kind's env_defaults);
    without it, ``check`` names both variables."""
    env = {"SWITCHBOARD_PROVIDERS": "scripted,anthropic"}
    listed = run("-m", "ops", "providers", **env, ANTHROPIC_API_KEY="sk-ant-cli")
    assert listed.returncode == 0, listed.stderr
    assert "2. anthropic  kind=anthropic" in listed.stdout
    checked = run("-m", "ops", "check", **env, ANTHROPIC_API_KEY="sk-ant-cli")
    assert checked.returncode == 0 and "configuration ok" in checked.stdout, checked.stderr
    missing = run("-m", "ops", "check", **env)
    assert missing.returncode != 0
    assert "SWITCHBOARD_PROVIDER_ANTHROPIC_API_KEY (or ANTHROPIC_API_KEY) is not set" in missing.stderr
    assert "sk-ant-cli" not in listed.stdout + checked.stdout


def test_bad_configuration_exits_nonzero_with_one_clear_line() -> None:
    cases = {
        "SWITCHBOARD_PROVIDERS": ("nope", "SWITCHBOARD_PROVIDER_NOPE_KIND"),
        "SWITCHBOARD_DEFAULT_PROVIDER": ("other", "SWITCHBOARD_DEFAULT_PROVIDER"),
        "SWITCHBOARD_PORT": ("eighty", "SWITCHBOARD_PORT"),
        "SWITCHBOARD_API_KEYS": ("no-colons-here", "SWITCHBOARD_API_KEYS"),
    }
    for variable, (value, named) in cases.items():
        result = run("-m", "ops", "check", **{variable: value})
        assert result.returncode == 2, (variable, result.stdout, result.stderr)
        assert named in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_scripted_settings_are_validated_by_name() -> None:
    result = run("-m", "ops", "check", SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS="slow")
    assert result.returncode == 2
    assert "SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS" in result.stderr


def test_catalog_naming_a_disabled_provider_fails_at_check(tmp_path: Path) -> None:
    catalog = tmp_path / "agents.toml"
    catalog.write_text('[[agents]]\nkey = "a"\ndescription = "d"\ninstructions = "i"\nprovider = "openai"\n')
    result = run("-m", "ops", "check", SWITCHBOARD_AGENTS_FILE=str(catalog))
    assert result.returncode == 2
    assert "agent 'a' uses provider 'openai'" in result.stderr
    missing = run("-m", "ops", "check", SWITCHBOARD_AGENTS_FILE=str(tmp_path / "absent.toml"))
    assert missing.returncode == 2
    assert "SWITCHBOARD_AGENTS_FILE" in missing.stderr


def test_serve_refuses_to_start_outside_dev_without_any_key(tmp_path: Path) -> None:
    result = run(
        "-m",
        "ops",
        "serve",
        "--port",
        "1",
        SWITCHBOARD_API_KEYS="",
        SWITCHBOARD_ENV="prod",
        SWITCHBOARD_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 2
    assert "no API keys" in result.stderr
    assert "switchboard keys create" in result.stderr
    assert "Traceback" not in result.stderr


def test_keys_created_by_the_cli_authenticate_and_revoke(tmp_path: Path) -> None:
    env = {"SWITCHBOARD_VAR_DIR": str(tmp_path), "SWITCHBOARD_API_KEYS": ""}
    created = run("-m", "ops", "keys", "create", "--tenant", "acme", "--scopes", "chat", **env)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.split("secret (shown once, store it now): ")[1].strip()
    key_id = created.stdout.split()[2]
    listed = run("-m", "ops", "keys", "list", **env)
    assert key_id in listed.stdout
    assert secret not in listed.stdout
    assert "active" in listed.stdout
    check = (
        "import asyncio, sys; from backend.settings import load_settings;"
        "from backend.wiring.table import build_registry, compile_graph; from contracts.ports import ApiKeyStore\n"
        "async def main():\n"
        "    registry = await build_registry(compile_graph(load_settings(dotenv=None)))\n"
        "    import svcs\n"
        "    async with svcs.Container(registry) as c:\n"
        "        p = await (await c.aget(ApiKeyStore)).authenticate(sys.argv[1])\n"
        "    await registry.aclose()\n"
        "    print('TENANT', p.tenant_id if p else None)\n"
        "asyncio.run(main())"
    )
    assert "TENANT acme" in run("-c", check, secret, SWITCHBOARD_ENV="prod", **env).stdout
    assert run("-m", "ops", "keys", "revoke", key_id, **env).returncode == 0
    assert "revoked" in run("-m", "ops", "keys", "list", **env).stdout
    refused = run("-m", "ops", "serve", "--port", "1", SWITCHBOARD_ENV="prod", **env)
    assert refused.returncode == 2


def test_a_misspelt_provider_setting_is_named_not_ignored() -> None:
    result = run("-m", "ops", "check", SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY="5")
    assert result.returncode == 2
    assert "SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY is not a setting" in result.stderr
    assert "TOKEN_DELAY_MS" in result.stderr


def test_out_of_range_numbers_and_bad_keys_are_refused() -> None:
    for variable, value, expected in [
        ("SWITCHBOARD_SSE_HEARTBEAT_S", "0", "SWITCHBOARD_SSE_HEARTBEAT_S"),
        ("SWITCHBOARD_DB_POOL_SIZE", "-1", "SWITCHBOARD_DB_POOL_SIZE"),
        ("SWITCHBOARD_API_KEYS", "k:acme:admn", "unknown scope"),
        ("SWITCHBOARD_API_KEYS", "sha256=zz:acme:chat", "64 hex"),
        ("SWITCHBOARD_API_KEYS", "k:a}b:chat", "tenant"),
    ]:
        result = run("-m", "ops", "check", **{variable: value})
        assert result.returncode == 2, (variable, value)
        assert expected in result.stderr, (variable, result.stderr)


def test_check_names_database_url_when_it_is_unreachable() -> None:
    down = run("-m", "ops", "check", DATABASE_URL="postgresql+asyncpg://sb:pw@127.0.0.1:1/db")
    assert down.returncode == 2, down.stdout
    assert "DATABASE_URL: cannot reach postgresql+asyncpg://sb:***@127.0.0.1:1/db" in down.stderr
    assert "pw@" not in down.stderr and "Traceback" not in down.stderr


def test_graph_into_a_closed_pipe_is_quiet() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    environ.update({"SWITCHBOARD_ENV": "test", "SWITCHBOARD_API_KEYS": "k:t:chat"})
    result = subprocess.run(
        f"'{sys.executable}' -m ops graph | head -n 1",
        shell=True,
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert len(result.stdout.splitlines()) == 1
    assert "BrokenPipe" not in result.stderr and "Traceback" not in result.stderr


def test_keys_create_accepts_commas_and_plus_and_help_lists_every_scope(tmp_path: Path) -> None:
    from ops.cli import build_parser

    made = run(
        "-m",
        "ops",
        "keys",
        "create",
        "--tenant",
        "acme",
        "--scopes",
        "read,chat+admin",
        SWITCHBOARD_VAR_DIR=str(tmp_path),
    )
    assert made.returncode == 0, made.stderr
    assert "(scopes admin+chat+read)" in made.stdout
    keys = next(
        a for a in build_parser()._subparsers._group_actions[0].choices.values() if a.prog.endswith("keys")
    )  # type: ignore[union-attr]
    create_help = keys._subparsers._group_actions[0].choices["create"].format_help()  # type: ignore[union-attr]
    assert all(scope in create_help for scope in ("read", "chat", "admin", "','", "'+'"))


def test_a_stored_key_can_never_hold_the_operator_scope(tmp_path: Path) -> None:
    refused = run(
        "-m",
        "ops",
        "keys",
        "create",
        "--tenant",
        "acme",
        "--scopes",
        "operator",
        SWITCHBOARD_VAR_DIR=str(tmp_path),
    )
    assert refused.returncode != 0
    assert "operator scope is for configured keys only" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_reload_needs_a_key_and_says_when_the_server_cannot_be_reached() -> None:
    from tests.support.app import free_port

    no_key = run("-m", "ops", "reload", "--url", "http://127.0.0.1:9")
    assert no_key.returncode == 2
    assert "give the operator key with --key or --key-file" in no_key.stderr
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    unreachable = run("-m", "ops", "reload", "--url", url, "--key", "op", "--timeout", "5")
    assert unreachable.returncode == 1
    assert f"cannot reach {url}" in unreachable.stderr


def test_graph_prints_the_configuration_version_first() -> None:
    text = run("-m", "ops", "graph").stdout.splitlines()
    again = run("-m", "ops", "graph").stdout.splitlines()
    assert text[0].startswith("# configuration ") and " loaded at " in text[0]
    assert text[0].split()[2] == again[0].split()[2]  # same configuration, same version
    changed = run("-m", "ops", "graph", SWITCHBOARD_HISTORY_LIMIT="3").stdout.splitlines()
    assert changed[0].split()[2] != text[0].split()[2]
