"""The small test hall on SQLite for the window client's API and agent tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hall_server.hall import HallRig, build_hall, hall_settings, open_hall


@pytest.fixture(scope="session")
def window_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The small hall initialised once (schema, layout, logins); tests copy the file."""
    folder = tmp_path_factory.mktemp("window-template")
    rig = build_hall(f"sqlite:///{folder / 'hall.db'}", folder / "var")
    tokens = dict(rig.tokens)
    rig.ctx.db.dispose()
    return folder / "hall.db", tokens


@pytest.fixture
def hall(tmp_path: Path, window_template: tuple[Path, dict[str, str]]) -> Iterator[HallRig]:
    """The small hall, Monday 10:00 in Shanghai, staff logged in (tokens of the template)."""
    template, tokens = window_template
    shutil.copy(template, tmp_path / "hall.db")
    settings: Any = hall_settings(f"sqlite:///{tmp_path / 'hall.db'}", tmp_path / "var")
    rig = open_hall(settings, tokens)
    yield rig
    rig.ctx.db.dispose()
