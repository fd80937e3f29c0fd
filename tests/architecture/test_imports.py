"""Imports point inward: adapters -> contracts <- backend. Checked on the source, not by convention."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every imported top-level dotted name in a file, with its line (relative imports resolved to ours)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def files(package: str, root: Path = REPO) -> list[Path]:
    return sorted(p for p in (root / package).rglob("*.py") if "__pycache__" not in p.parts)


def violations(package: str, allowed: callable, root: Path = REPO) -> list[str]:  # type: ignore[valid-type]
    bad = []
    for path in files(package, root):
        rel = path.relative_to(root)
        for line, name in imports_of(path):
            if not allowed(rel, name):
                bad.append(f"{rel}:{line} imports {name}")
    return bad


def top(name: str) -> str:
    return name.split(".")[0]


def test_contracts_import_only_stdlib_and_msgspec() -> None:
    def allowed(_rel: Path, name: str) -> bool:
        return top(name) in STDLIB or top(name) in {"msgspec", "contracts", "__future__"}

    assert violations("contracts", allowed) == []


def test_adapters_never_import_backend_or_ops() -> None:
    assert violations("adapters", lambda _rel, name: top(name) not in {"backend", "ops", "tests"}) == []


def test_backend_touches_adapters_only_in_the_composition_root() -> None:
    def allowed(rel: Path, name: str) -> bool:
        return top(name) != "adapters" or rel.parts[:2] == ("backend", "wiring")

    assert violations("backend", allowed) == []
    assert violations("backend", lambda _rel, name: top(name) not in {"ops", "tests"}) == []


@pytest.mark.parametrize("package", ["contracts", "backend", "adapters", "ops"])
def test_only_the_openai_adapter_imports_the_openai_sdks(package: str) -> None:
    def allowed(rel: Path, name: str) -> bool:
        if top(name) not in {"agents", "openai"}:
            return True
        return rel.parts[:3] == ("adapters", "providers", "openai")

    assert violations(package, allowed) == []


def test_services_know_nothing_of_litestar_or_svcs() -> None:
    def allowed(_rel: Path, name: str) -> bool:
        return top(name) not in {"litestar", "svcs", "adapters"}

    assert violations("backend/services", allowed) == []


def test_import_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The checker itself works: imports planted in a fake tree are reported with file and line."""
    (tmp_path / "adapters" / "providers" / "scripted").mkdir(parents=True)
    planted = tmp_path / "adapters" / "providers" / "scripted" / "bad.py"
    planted.write_text("import os\nfrom backend.app import create_app\nimport agents.run\n")

    assert violations("adapters", lambda _rel, name: top(name) not in {"backend"}, root=tmp_path) == [
        "adapters/providers/scripted/bad.py:2 imports backend.app"
    ]

    def only_openai_adapter(rel: Path, name: str) -> bool:
        return top(name) not in {"agents", "openai"} or rel.parts[:3] == ("adapters", "providers", "openai")

    assert violations("adapters", only_openai_adapter, root=tmp_path) == [
        "adapters/providers/scripted/bad.py:3 imports agents.run"
    ]


def test_startup_on_defaults_does_not_import_the_openai_sdk() -> None:
    code = (
        "import sys; from backend.app import create_app; from tests.support.app import make_settings;"
        "import pathlib, tempfile; create_app(make_settings(pathlib.Path(tempfile.mkdtemp())));"
        "print(sorted(m for m in ('agents', 'openai') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("package", ["contracts", "backend", "adapters", "ops"])
def test_the_service_never_imports_the_anthropic_sdk(package: str) -> None:
    """The ``anthropic`` client is a test dependency: the Anthropic kind speaks the wire format itself."""
    assert violations(package, lambda _rel, name: top(name) != "anthropic") == []
