"""An agent runs on a kiosk PC or an LED controller without the server's insides: importing it
loads no Flask, no SQLAlchemy, no models, no services — only the contract and the client."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

AGENTS = ["display.agent", "kiosk.agent", "window_client.agent"]
SERVER_ONLY = ("flask", "flask_socketio", "sqlalchemy", "alembic", "hall_server.services",
               "hall_server.models", "hall_server.domain")  # fmt: skip
ALLOWED = ("hall_server", "hall_server.contract", "hall_server.client")
ROOT = Path(__file__).resolve().parents[3]


def modules_after_import(module: str) -> list[str]:
    """The names in ``sys.modules`` after importing ``module`` in a fresh interpreter."""
    script = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    names: list[str] = json.loads(done.stdout)
    return names


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("agent", AGENTS)
def test_an_agent_imports_no_server_module(agent: str) -> None:
    loaded = modules_after_import(agent)
    assert agent in loaded
    assert [name for name in loaded if within(name, SERVER_ONLY)] == []
    server = [name for name in loaded if within(name, ("hall_server",))]
    assert [name for name in server if not within(name, ALLOWED)] == []


def test_the_agents_import_contract_forbids_every_other_server_module() -> None:
    """lint-imports checks the agents' imports statically; its list must name each new module."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (agents,) = [c for c in contracts if c["id"] == "agents"]
    forbidden = {m for m in agents["forbidden_modules"] if m.startswith("hall_server.")}
    package = ROOT / "hall_server"
    modules = {p.stem for p in package.glob("*.py")}
    modules |= {p.parent.name for p in package.glob("*/__init__.py")}
    modules -= {"__init__", "contract", "client"}
    assert forbidden == {f"hall_server.{m}" for m in modules}
