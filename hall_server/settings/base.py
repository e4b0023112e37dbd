"""What every part of the settings shares: paths, the error, and problems with their keys."""

import difflib
import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# config/ sits beside the packages in a source tree; an installed wheel carries a copy inside
# hall_server (setup.py), since site-packages has no config/ of its own.
_SOURCE_CONFIG = REPO_ROOT / "config"
CONFIG_DIR = _SOURCE_CONFIG if _SOURCE_CONFIG.is_dir() else REPO_ROOT / "hall_server" / "config"
DEFAULTS_FILE = CONFIG_DIR / "default.toml"
DEMO_HALL_FILE = CONFIG_DIR / "halls" / "demo.toml"

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """Raised when the configuration cannot be loaded; the message names every bad key."""


class Problems(ValueError):
    """Carry several (key relative to the model, message) problems out of one validator."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


def raise_problems(problems: list[tuple[Loc, str]]) -> None:
    """Raise Problems when there are any (inside a pydantic validator)."""
    if problems:
        raise Problems(problems)


def quote(value: object) -> str:
    """Quote a value as the messages show it (JSON, Chinese kept readable)."""
    return json.dumps(value, ensure_ascii=False)


def unknown(what: str, name: str, known: list[str]) -> str:
    """Say that a name is unknown, with the closest known one or the whole list."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f'; did you mean "{close[0]}"?' if close else f" (known: {', '.join(known)})"
    return f"unknown {what} {quote(name)}{hint}"


def label(path: Path) -> str:
    """Name a file as messages show it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
