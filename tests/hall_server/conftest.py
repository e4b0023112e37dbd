from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveHall, two_live_halls
from tests.needs import need_program
from tests.support.redis import redis_server

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


# ---------------------------------------------------------------- several processes


@pytest.fixture
def two_processes(tmp_path: Path) -> Iterator[tuple[LiveHall, LiveHall]]:
    """Two server processes on one database, joined by a throwaway Redis on 127.0.0.1."""
    with (
        redis_server(tmp_path, need_program("redis-server")) as url,
        two_live_halls(tmp_path, HALL_MESSAGE_QUEUE=url) as processes,
    ):
        yield processes
