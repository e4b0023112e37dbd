from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

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
