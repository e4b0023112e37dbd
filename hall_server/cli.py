"""The ``hall`` command: init, serve, demo, user add, device add, and the device agents."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

SERVER_COMMANDS = {"serve", "demo"}


def _async_mode() -> str:
    """Peek at server.async_mode before anything imports sockets or threads."""
    if os.environ.get("HALL_ASYNC_MODE"):
        return os.environ["HALL_ASYNC_MODE"]
    root = Path(__file__).resolve().parents[1]
    mode = "gevent"
    for path in (root / "config" / "default.toml", Path(os.environ.get("HALL_CONFIG", ""))):
        if path.is_file():
            mode = tomllib.loads(path.read_text()).get("server", {}).get("async_mode", mode)
    return mode


def main() -> None:
    """Entry point of the console script ``hall``."""
    if len(sys.argv) > 1 and sys.argv[1] in SERVER_COMMANDS and _async_mode() == "gevent":
        from gevent import monkey

        monkey.patch_all()
    from .commands import cli

    cli()
