"""A disposed database leaves no PostgreSQL connection open behind it.

A background task of the app (the screens' queue counts, a reminder) may still be finishing
its round when the app's database is disposed. The connection it gives back afterwards must
be closed then, not left in a pool nobody holds until the garbage collector finds it open.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hall_server.db import Database

pytestmark = pytest.mark.postgres


def test_a_connection_in_use_when_the_database_is_disposed_is_closed_when_given_back(
    pg_url: str,
) -> None:
    db = Database(pg_url)
    with db.read() as session:
        session.execute(text("SELECT 1"))
        in_use = session.connection().connection.driver_connection
        db.dispose()
        assert not in_use.closed  # the task finishes its round
    assert in_use.closed


def test_a_connection_opened_after_the_database_was_disposed_is_closed_after_use(
    pg_url: str,
) -> None:
    db = Database(pg_url)
    with db.write_connection("hall") as connection:
        connection.execute(text("SELECT 1"))
    held = connection.connection.driver_connection
    db.dispose()
    assert held.closed  # the hall's kept write connection too
    with db.read() as session:
        late = session.connection().connection.driver_connection
        assert session.execute(text("SELECT 1")).scalar() == 1
    assert late.closed
