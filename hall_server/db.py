"""Engines and transactions: SQLite (WAL, one writer) or PostgreSQL, same code.

Writes go through ``write_tx``: on SQLite it opens ``BEGIN IMMEDIATE`` so the writer lock
is taken before anything is read (no lock upgrades, no "database is locked" mid-way);
reads use plain deferred transactions that WAL lets run beside the writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A served hall checkpoints the WAL from a background thread (see checkpoint_sqlite);
# SQLite's own checkpoint, run inside a commit, stalled one write in a hundred by ~20 ms.
# It stays on as a safety net at 40 MB for processes that run no checkpointer.
SQLITE_AUTOCHECKPOINT_PAGES = 10_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for ``url`` with the hall's settings for its database."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        _tune_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we send BEGIN ourselves, see _begin
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, no torn DB
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        write = conn.get_execution_options().get("hall_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def checkpoint_sqlite(path: str) -> None:
    """Copy what the WAL holds back into the database file without blocking writers."""
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        connection.close()


class Database:
    """The engine and session factories of one app."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(
            self.engine.execution_options(hall_write=True), expire_on_commit=False
        )
        snapshot_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="REPEATABLE READ")
        )
        self._snapshots = sessionmaker(snapshot_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Open a read-only session (rolled back at the end)."""
        with self._sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """Open a session whose reads all see one consistent moment."""
        with self._snapshots() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Open a write transaction: committed on success, rolled back on any error."""
        with self._writers() as session, session.begin():
            yield session

    @property
    def sqlite_path(self) -> str | None:
        """The database file, when it is a SQLite file."""
        path = self.engine.url.database if self.is_sqlite else None
        return path if path and path != ":memory:" else None

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
