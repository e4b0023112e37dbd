from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .hall import HallRig, build_hall, hall_settings, open_hall


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The small hall initialised once (schema, layout, logins); tests copy the file."""
    folder = tmp_path_factory.mktemp("template")
    rig = build_hall(f"sqlite:///{folder / 'hall.db'}", folder / "var")
    tokens = dict(rig.tokens)
    rig.ctx.db.dispose()
    return folder / "hall.db", tokens


@pytest.fixture
def hall(tmp_path: Path, sqlite_template: tuple[Path, dict[str, str]]) -> Iterator[HallRig]:
    """The small hall on a file SQLite database (WAL), Monday 10:00 in Shanghai."""
    template, tokens = sqlite_template
    shutil.copy(template, tmp_path / "hall.db")
    settings: Any = hall_settings(f"sqlite:///{tmp_path / 'hall.db'}", tmp_path / "var")
    rig = open_hall(settings, tokens)
    yield rig
    rig.ctx.db.dispose()


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[Any]:
    """A PostgreSQL server for the session (started here, or HALL_TEST_POSTGRES_URL)."""
    from .postgres import PostgresMissing, postgres_databases

    try:
        with postgres_databases() as databases:
            yield databases
    except PostgresMissing as error:
        from tests.needs import missing

        missing(str(error))


@pytest.fixture
def pg_url(postgres_databases: Any) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    url: str = postgres_databases.create()
    yield url
    postgres_databases.drop(url)
