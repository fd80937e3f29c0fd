"""Reading the TOML configuration files (agent catalog, guardrail policies) with one clear error."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_toml(path: Path, label: str, error: type[Exception]) -> dict[str, Any]:
    """Parse ``path``; any failure raises ``error`` with a message naming ``label`` and the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{label} {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{label} {path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{label} {path}: invalid TOML: {exc}") from None
