"""The small test hall with server settings of a test's own (resync_max_events, …)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..hall import HallRig, hall_settings, open_hall


def small_hall_with(
    tmp_path: Path, template: tuple[Path, dict[str, str]], **server: Any
) -> HallRig:
    """Copy the session's small-hall database and open it with ``server`` settings."""
    database, tokens = template
    shutil.copy(database, tmp_path / "hall.db")
    settings = hall_settings(f"sqlite:///{tmp_path / 'hall.db'}", tmp_path / "var", **server)
    return open_hall(settings, tokens)
