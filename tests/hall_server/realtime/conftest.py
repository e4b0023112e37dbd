from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..hall import HallRig
from .halls import small_hall_with


@pytest.fixture
def hall_with(
    tmp_path: Path, sqlite_template: tuple[Path, dict[str, str]]
) -> Iterator[Callable[..., HallRig]]:
    """Open the small hall with server settings of the test's own."""
    opened: list[HallRig] = []

    def build(**server: Any) -> HallRig:
        rig = small_hall_with(tmp_path, sqlite_template, **server)
        opened.append(rig)
        return rig

    yield build
    for rig in opened:
        rig.ctx.db.dispose()
