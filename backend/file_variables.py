"""Variables read from files: ``X_FILE=/path`` sets ``X`` from the file's content (stripped).

Container platforms hand secrets to a process as files (Kubernetes Secret volumes, compose ``secrets:``,
Docker/Podman secrets under ``/run/secrets``) so that they never sit in the environment. Every variable the
settings read can be given this way. An unreadable file, or ``X`` and ``X_FILE`` both set (to non-empty
values), is an error naming the variable. Used by ``backend.settings.load_settings`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

SUFFIX = "_FILE"


class FileVariableError(ValueError):
    """A ``*_FILE`` variable that cannot be used; the message names it."""


def expand_file_variables(env: Mapping[str, str], known: Callable[[str], bool]) -> dict[str, str]:
    """``env`` with every ``X_FILE`` whose ``X`` is ``known`` replaced by ``X`` = the file's content.

    A ``*_FILE`` name whose base is not a known variable is left alone (``SWITCHBOARD_AGENTS_FILE`` is a
    variable of its own, not a file holding ``SWITCHBOARD_AGENTS``)."""
    expanded = dict(env)
    for name, path in env.items():
        target = name.removesuffix(SUFFIX)
        if target == name or not known(target) or path == "":
            continue
        if env.get(target, "") != "":
            raise FileVariableError(f"{target} and {name} are both set: set only one of them")
        try:
            expanded[target] = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise FileVariableError(f"{name}: cannot read {path!r} ({reason})") from None
        del expanded[name]
    return expanded
