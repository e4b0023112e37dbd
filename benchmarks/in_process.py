"""The bench hall in a temporary SQLite file, for benchmarks that run the app in-process:
``settings, db, hall_id = bench_database(folder)`` inside a temporary directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hall_server.app import database_url  # noqa: E402
from hall_server.db import Database  # noqa: E402
from hall_server.services.setup import init_database  # noqa: E402
from hall_server.settings import Settings, load_settings  # noqa: E402

BENCH_TOML = Path(__file__).with_name("bench_hall.toml")


def bench_database(
    folder: str, *, server: dict[str, Any] | None = None, **layers: Any
) -> tuple[Settings, Database, int]:
    """Settings of the bench hall in ``folder`` (``server`` and other layers on top), its
    database created; return (settings, database, hall id)."""
    settings = load_settings({
        "config_path": str(BENCH_TOML),
        "server": {"database_url": f"sqlite:///{folder}/hall.db", "var_dir": folder,
                   "secret_key": "bench-secret-" + "x" * 32, **(server or {})},
        **layers,
    })  # fmt: skip
    db, hall_id, _ = init_database(settings, database_url(settings))
    return settings, db, hall_id
