"""A committed ticket survives a power cut: SQLite syncs every commit unless the site says not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hall_server.db import Database
from hall_server.settings import ConfigError, load_settings

from .hall import HallRig
from .realtime.halls import small_hall_with

FULL, NORMAL = 2, 1  # what PRAGMA synchronous reads back


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
        assert synchronous_of(rig.ctx.db) == [FULL, FULL]
    finally:
        rig.ctx.db.dispose()


def test_a_site_may_trade_durability_for_speed(
    tmp_path: Path, sqlite_template: tuple[Path, dict[str, str]]
) -> None:
    rig = open_small(tmp_path, sqlite_template, sqlite_synchronous="normal")
    try:
        assert synchronous_of(rig.ctx.db) == [NORMAL, NORMAL]
    finally:
        rig.ctx.db.dispose()


def test_a_database_opened_outside_the_server_is_durable_too(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'any.db'}")
    try:
        assert synchronous_of(db) == [FULL, FULL]
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
