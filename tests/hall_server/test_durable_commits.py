"""A committed ticket survives a power cut: every commit is on disk before its answer (the
WAL synced after it, shared by the commits waiting together) unless the site says not."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from hall_server.db import Database
from hall_server.settings import ConfigError, load_settings

from .hall import HallRig, build_hall
from .realtime.halls import small_hall_with

NORMAL = 1  # what PRAGMA synchronous reads back: "full" adds its own sync of the WAL


def synchronous_of(db: Database) -> list[int]:
    """PRAGMA synchronous of a reading connection and of the hall's write connection."""
    with db.read() as session:
        read = session.connection().exec_driver_sql("PRAGMA synchronous").scalar()
    with db.write_connection() as connection:
        written = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    return [read, written]


def open_small(tmp_path: Path, template: tuple[Path, dict[str, str]], **server: Any) -> HallRig:
    return small_hall_with(tmp_path, template, **server)


def test_the_hall_commits_durably_by_default(
    tmp_path: Path, sqlite_template: tuple[Path, dict[str, str]]
) -> None:
    rig = open_small(tmp_path, sqlite_template)
    try:
        assert rig.app.extensions["hall"].settings.server.sqlite_synchronous == "full"
        before = rig.ctx.db.durable_syncs
        rig.act("boss", 3, "open")
        rig.act("boss", 3, "pause", reason="午休")
        assert rig.ctx.db.durable_syncs == before + 2  # one after each answer-worthy commit
        assert synchronous_of(rig.ctx.db) == [NORMAL, NORMAL]
    finally:
        rig.ctx.db.dispose()


def test_a_site_may_trade_durability_for_speed(
    tmp_path: Path, sqlite_template: tuple[Path, dict[str, str]]
) -> None:
    rig = open_small(tmp_path, sqlite_template, sqlite_synchronous="normal")
    try:
        rig.act("boss", 3, "open")
        assert rig.ctx.db.durable_syncs == 0  # the WAL reaches the disk at checkpoints only
        assert synchronous_of(rig.ctx.db) == [NORMAL, NORMAL]
    finally:
        rig.ctx.db.dispose()


def test_a_database_opened_outside_the_server_is_durable_too(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'any.db'}")
    try:
        with db.write() as session:
            session.execute(text("CREATE TABLE visits (n INTEGER)"))
        assert db.durable_syncs == 1

        def visit() -> None:
            for n in range(10):
                with db.write() as session:
                    session.execute(text("INSERT INTO visits VALUES (:n)"), {"n": n})

        threads = [threading.Thread(target=visit) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Every commit waited for a sync that started after it; several may share one.
        assert 1 < db.durable_syncs <= 61
        with db.read() as session:
            assert session.execute(text("SELECT count(*) FROM visits")).scalar() == 60
    finally:
        db.dispose()


def test_an_unknown_synchronous_mode_stops_start_up_naming_the_key(
    tmp_path: Path, sqlite_template: tuple[Path, dict[str, str]]
) -> None:
    with pytest.raises(ConfigError, match="sqlite_synchronous"):
        open_small(tmp_path, sqlite_template, sqlite_synchronous="off")


def test_the_environment_may_set_the_synchronous_mode() -> None:
    environ = {"HALL_SQLITE_SYNCHRONOUS": "normal"}
    assert load_settings(environ=environ).server.sqlite_synchronous == "normal"
    assert load_settings(environ={}).server.sqlite_synchronous == "full"


@pytest.mark.postgres
def test_on_postgresql_the_hall_row_is_not_held_through_the_flush(
    pg_url: str, tmp_path: Path
) -> None:
    # synchronous_commit on for every other connection, as a production server has it (the
    # test server turns it off for speed)
    rig = build_hall(f"{pg_url}?options=-c%20synchronous_commit%3Don", tmp_path / "var")
    try:
        db = rig.ctx.db
        with db.read() as session:
            assert session.execute(text("SHOW synchronous_commit")).scalar() == "on"
        before = db.durable_syncs
        for _ in range(3):
            rig.act("boss", 3, "open") if _ == 0 else rig.issue("a")
        # each answer waited for a WAL flush that began after its commit
        assert db.durable_syncs == before + 3
        with db._held[rig.ctx.hall_id].begin():  # the hall's own write connection
            held = db._held[rig.ctx.hall_id]
            assert held.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"

        def visit() -> None:
            for _ in range(10):
                rig.issue("a")

        syncs = db.durable_syncs
        threads = [threading.Thread(target=visit) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert 1 <= db.durable_syncs - syncs <= 60  # flushes shared by the answers waiting
        with db.read() as session:
            waiting = session.execute(
                text("SELECT count(*) FROM tickets WHERE state = 'waiting'")
            ).scalar()
            assert waiting == 62
    finally:
        rig.ctx.db.dispose()
