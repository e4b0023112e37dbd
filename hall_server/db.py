"""Engines and transactions: SQLite (WAL, one writer) or PostgreSQL, same code.

Writes go through ``write``: on SQLite it opens ``BEGIN IMMEDIATE`` so the writer lock
is taken before anything is read (no lock upgrades, no "database is locked" mid-way);
reads use plain deferred transactions that WAL lets run beside the writer.

Several server processes on one SQLite file first take a lock file (``WriterTurn``):
SQLite's own busy handler waits by sleeping, which under gevent stalls every request of
the waiting process for 1, 2, 5 … ms; the lock file is waited for cooperatively.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
import threading
from collections.abc import Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ClauseElement

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A served hall checkpoints the WAL from a background thread (Database.checkpoint);
# SQLite's own checkpoint, run inside a commit, stalled one write in a hundred by ~20 ms.
# It stays on as a safety net at 40 MB for processes that run no checkpointer.
SQLITE_AUTOCHECKPOINT_PAGES = 10_000
TURN_POLL_MIN_S, TURN_POLL_MAX_S = 0.0001, 0.002  # WriterTurn's waits under gevent
# Durable commits on SQLite (server.sqlite_synchronous, docs/CONFIG.md). "full": every
# commit is on disk before its answer, so a printed number survives a power cut (it would be
# given to someone else otherwise). "normal": the WAL reaches the disk at checkpoints only, so
# the last commits before a power cut may be lost (never a torn database). "full" is SQLite's
# NORMAL plus the hall's own fsync of the WAL after the commit, outside every lock and shared
# by the commits that wait at the same time (group commit, ``WalSync``): SQLite's FULL syncs
# inside the commit, under the writer lock, one fsync (4-8 ms here) per ticket at a time.
SQLITE_SYNCHRONOUS = ("full", "normal")


def make_engine(url: str, *, sqlite_synchronous: str = "full", **kwargs: Any) -> Engine:
    """Create the engine for ``url`` with the hall's settings for its database."""
    if url.startswith("sqlite"):
        if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"sqlite_synchronous must be one of {SQLITE_SYNCHRONOUS}")
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        _tune_sqlite(engine, "NORMAL")  # "full" adds WalSync's fsync after the commit
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we send BEGIN ourselves, see _begin
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")  # see SQLITE_SYNCHRONOUS, WalSync
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        write = conn.get_execution_options().get("hall_write", False)
        # On the driver: exec_driver_sql's execution context cost a twentieth of an issue.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")


def _autocommit(dbapi_conn: Any, _record: Any) -> None:
    """A hall write connection on PostgreSQL: the driver sends no ``BEGIN`` of its own; the
    write's first statement carries it (``begin_locked``), saving a round trip per write.
    ``COMMIT`` and ``ROLLBACK`` are still sent by the driver while a transaction is open."""
    dbapi_conn.autocommit = True


def begin_locked(connection: Connection, lock: Prepared, params: dict[str, Any]) -> list[Any]:
    """Open a hall write's transaction with its lock statement; return the lock's rows.

    On PostgreSQL ``BEGIN`` travels with the lock in one message (the simple protocol, the
    parameters written in as literals by the driver's client-side binding); on SQLite the
    connection's ``begin`` event has already sent ``BEGIN IMMEDIATE``.
    """
    if connection.dialect.name != "postgresql":
        return list(lock.run(connection, params).fetchall())
    cursor, query = _client_side(connection, lock, params)
    cursor.execute(f"BEGIN; {query}", prepare=False)
    cursor.nextset()  # past BEGIN's result
    return list(cursor.fetchall())


def _client_side(connection: Connection, prepared: Prepared, params: dict[str, Any]) -> Any:
    """``prepared`` with its parameters written in by psycopg's client-side binding (quoted
    by the driver, not by us): a statement that can travel with others in one message."""
    import psycopg

    driver = cast("psycopg.Connection[Any]", connection.connection.driver_connection)
    compiled = prepared._compile(connection, tuple(params))
    cursor = psycopg.ClientCursor(driver)
    return cursor, cursor.mogrify(compiled.string, compiled.bind(params))


def run_and_commit(connection: Connection, prepared: Prepared, params: dict[str, Any]) -> None:
    """Run a write's last statement and commit it: on PostgreSQL in one message (the write's
    last round trip; the driver then has nothing left to commit), elsewhere as two steps."""
    if connection.dialect.name != "postgresql":
        prepared.run(connection, params)
        return
    cursor, query = _client_side(connection, prepared, params)
    cursor.execute(f"{query}; COMMIT", prepare=False)


def checkpoint_sqlite(path: str) -> None:
    """Copy what the WAL holds back into the database file without blocking writers."""
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        connection.close()


class Prepared:
    """A Core statement compiled once per dialect and key set, run on the DBAPI cursor.

    For the hot path of the hall (issuing a ticket, the hall log's lock and rows): there
    SQLAlchemy's per-execution work (execution context, events, result objects) cost more
    than SQLite running the statement (docs/BENCHMARKS.md). Parameters still go through
    the columns' types (UTC datetimes, JSON); results come back as the driver gives them,
    so use it only for statements whose results need no conversion (integers, text).
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def run(self, connection: Connection, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
        """Execute on ``connection``'s transaction (one row or many); return the cursor."""
        rows = params if isinstance(params, list) else [params]
        compiled = self._compile(connection, tuple(rows[0]))
        bound = [compiled.bind(row) for row in rows]
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        if isinstance(params, list):
            cursor.executemany(compiled.string, bound)
        else:
            cursor.execute(compiled.string, bound[0])
        return cursor

    def _compile(self, connection: Connection, keys: tuple[str, ...]) -> _Compiled:
        key = (connection.dialect.name, keys)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = _Compiled(self.statement.compile(dialect=connection.dialect,
                                                        column_keys=list(keys)))  # fmt: skip
            self._compiled[key] = compiled
        return compiled


class _Compiled:
    """What running one compiled statement needs, worked out once."""

    def __init__(self, compiled: Any) -> None:
        self.string: str = compiled.string
        # Values written into the statement itself (``state == "open"``).
        self.fixed = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.callable is None
        }
        self.processors = dict(compiled._bind_processors)  # the column types' conversions
        self.order = list(compiled.positiontup) if compiled.positional else None

    def bind(self, row: dict[str, Any]) -> Any:
        values = self.fixed | row
        for name, process in self.processors.items():
            if name in values:
                values[name] = process(values[name])
        return values if self.order is None else [values[name] for name in self.order]


class GroupSync:
    """Make commits durable with one sync shared by the commits waiting at the same time.

    ``wait`` returns once a ``sync`` that started after the call has finished. One caller at
    a time runs it; the commits that finish meanwhile wait for the next one, so under load
    one sync covers many tickets, and no lock of the hall is held while it runs. SQLite
    syncs its WAL file (``WalSync``); PostgreSQL flushes its WAL with a durable commit
    (``PgFlush``).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._committed = 0  # commits counted so far
        self._durable = 0  # commits known to be on disk
        self._syncing = False
        self.syncs = 0  # syncs done (for tests and benchmarks)

    def sync(self) -> None:
        raise NotImplementedError

    def wait(self) -> None:
        """Return once every commit finished before this call is on disk."""
        with self._cond:
            self._committed += 1
            mine = self._committed
            while self._durable < mine:
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing, target, synced = True, self._committed, False
                self._cond.release()
                try:
                    self.sync()
                    synced = True
                finally:
                    self._cond.acquire()
                    self._syncing = False
                    if synced:
                        self._durable = max(self._durable, target)
                        self.syncs += 1
                    self._cond.notify_all()

    def close(self) -> None:
        """Give back what the syncs hold (a file, a connection)."""


class WalSync(GroupSync):
    """SQLite "full": the WAL file fsynced after a NORMAL commit (off the gevent hub)."""

    def __init__(self, db_path: str) -> None:
        super().__init__()
        self.path = db_path + "-wal"
        self._fd: int | None = None

    def sync(self) -> None:
        off_the_hub(self._fsync)

    def _fsync(self) -> None:
        fd = self._fd
        if fd is not None and os.fstat(fd).st_nlink == 0:  # the WAL was removed and made anew
            os.close(fd)
            fd = self._fd = None
        if fd is None:
            fd = self._fd = os.open(self.path, os.O_RDONLY)
            directory = os.open(os.path.dirname(self.path) or ".", os.O_RDONLY)
            try:  # a new WAL file: its name must survive the power cut too
                os.fsync(directory)
            finally:
                os.close(directory)
        os.fsync(fd)

    def close(self) -> None:
        with self._cond:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


# A durable commit that writes one WAL record: PostgreSQL flushes the WAL up to its commit
# record before answering it, so every commit made before it is on disk too (and on a
# synchronous standby, when the cluster has one). A transactional message needs no table
# and no privilege beyond connecting; logical decoding, when nobody decodes, ignores it.
PG_FLUSH = "SELECT pg_logical_emit_message(true, 'hall', 'durable')"


class PgFlush(GroupSync):
    """PostgreSQL: the hall's writes commit with ``synchronous_commit`` off while they hold the
    hall row; one durable commit on a connection of its own then flushes them all at once.

    With ``synchronous_commit`` on, each commit waited for its own WAL flush (an fsync)
    with the hall row still locked, so one hall's writes could not share a flush.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self._connection: Connection | None = None

    def sync(self) -> None:
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            connection = self._connection = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
        try:
            connection.connection.driver_connection.execute(PG_FLUSH)  # type: ignore[union-attr]
        except BaseException:
            connection.invalidate()  # the next sync connects anew
            raise

    def close(self) -> None:
        with self._cond:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class WriterTurn:
    """One writer at a time across the processes sharing a SQLite file (an ``flock``).

    Uncontended it costs two system calls. When another process holds it, a gevent
    server looks again after a short sleep that lets its other requests run; a plain
    thread blocks. A write never opens another write, so it need not be re-entrant.
    """

    def __init__(self, db_path: str) -> None:
        self._fd = os.open(db_path + "-writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._local = threading.Lock()  # one waiter per process at the flock

    def __enter__(self) -> None:
        self._local.acquire()
        try:
            self._take()
        except BaseException:
            self._local.release()
            raise

    def _take(self) -> None:
        if self._try():
            return
        if not _gevent_serves():
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # a plain thread may simply block
            return
        import gevent

        # Another process writes for well under a millisecond: look again soon, letting
        # this process's other requests run meanwhile. (Waiting on a pool thread instead
        # cost more CPU per write than the wait.)
        delay = TURN_POLL_MIN_S
        while True:
            gevent.sleep(delay)
            if self._try():
                return
            delay = min(delay * 2, TURN_POLL_MAX_S)

    def _try(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._local.release()

    def close(self) -> None:
        os.close(self._fd)


def _gevent_serves() -> bool:
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("socket"))


def off_the_hub(fn: Any) -> None:
    """Run a blocking call on a real OS thread when gevent serves this process."""
    if _gevent_serves():
        from gevent import get_hub

        get_hub().threadpool.apply(fn)
        return
    fn()


@contextmanager
def _rolled_back(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        try:
            yield session
        finally:
            session.rollback()


class Database:
    """The engine and session factories of one app."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "full", **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous, **kwargs)
        self.synchronous = sqlite_synchronous
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._disposed = False

        @event.listens_for(self.engine, "checkin")
        def _close_after_dispose(_dbapi: Any, record: Any) -> None:
            # A connection given back after dispose() (a background task of the app finishing
            # its round, a request still running) is closed now: kept in a pool nobody holds,
            # it would be closed only by the garbage collector, with a ResourceWarning.
            if self._disposed and record is not None:
                record.invalidate()

        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_engine = self.engine.execution_options(hall_write=True)
        # PostgreSQL: the hall's write connections commit asynchronously while they hold
        # the hall row, then wait for a shared flush (PgFlush); their own engine, so that no
        # pooled connection of other writes ever commits that way.
        self._hall_engine = self._write_engine
        if not self.is_sqlite:
            args = kwargs.pop("connect_args", {})
            given = [make_url(url).query.get("options", ""), args.get("options", "")]
            options = " ".join([*(str(o) for o in given if o), "-c synchronous_commit=off"])
            hall_engine = make_engine(url, connect_args={**args, "options": options}, **kwargs)
            event.listen(hall_engine, "checkin", _close_after_dispose)
            event.listen(hall_engine, "connect", _autocommit)
            self._hall_engine = hall_engine.execution_options(hall_write=True)
        self._writers = sessionmaker(self._write_engine, expire_on_commit=False)
        snapshot_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="REPEATABLE READ")
        )
        self._snapshots = sessionmaker(snapshot_engine, expire_on_commit=False)
        path = self.sqlite_path
        self._turn = WriterTurn(path) if path else None
        self._durable: GroupSync | None = None
        if path and sqlite_synchronous == "full":
            self._durable = WalSync(path)
        elif not self.is_sqlite:
            self._durable = PgFlush(self.engine)
        self._hall_commits = 0  # PostgreSQL: asynchronous commits of hall writes so far
        self._flushed = 0  # of those, the ones a flush started after
        # write_connection's, one per hall, kept between writes (see there)
        self._held: dict[Hashable, Connection] = {}
        self._held_locks: dict[Hashable, threading.Lock] = {}
        self._held_guard = threading.Lock()

    @property
    def disposed(self) -> bool:
        """Whether ``dispose`` was called (the app has shut down)."""
        return self._disposed

    def read(self) -> AbstractContextManager[Session]:
        """Open a read-only session (rolled back at the end)."""
        return _rolled_back(self._sessions)

    def snapshot(self) -> AbstractContextManager[Session]:
        """Open a session whose reads all see one consistent moment."""
        return _rolled_back(self._snapshots)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Open a write transaction: committed on success (and durable), rolled back on error."""
        with self._turn or nullcontext(), self._writers() as session, session.begin():
            yield session
        self.wait_durable()

    @contextmanager
    def write_connection(self, hall: Hashable = None) -> Iterator[Connection]:
        """A write transaction on a Core connection: the hall log's write unit (hall_log.py).

        What ``write`` does without an ORM session: a session, opened only when asked for,
        joins this transaction (``HallWrite.session``). The writes of one hall take turns
        (the hall lock), so one connection is kept per ``hall`` instead of a pool checkout
        per write; different halls write on their own connections, side by side (on
        PostgreSQL: a SQLite file has one writer at a time anyway).
        """
        with self._held_guard:
            lock = self._held_locks.setdefault(hall, threading.Lock())
        with lock, self._turn or nullcontext():
            connection = self._held.get(hall)
            if connection is None or connection.closed or connection.invalidated:
                connection = self._held[hall] = self._hall_engine.connect()
            try:
                with connection.begin():
                    yield connection
                if not self.is_sqlite:
                    with self._held_guard:
                        self._hall_commits += 1
            except BaseException:
                if connection.invalidated:  # the database went away: connect anew next time
                    connection.close()
                    self._held.pop(hall, None)
                raise

    def wait_durable(self) -> None:
        """Return once the commits made so far are on disk.

        Call it after the commit and after releasing every lock of the write, before
        answering: ``write`` does; a hall write (``hall_log.hall_write``) does after its
        lock. SQLite "full": the WAL's fsync (``WalSync``); "normal": nothing. PostgreSQL:
        a flush (``PgFlush``) when hall writes committed asynchronously since the last one
        began; its other writes commit durably by themselves.
        """
        if self._durable is None:
            return
        if not self.is_sqlite:
            with self._held_guard:
                commits = self._hall_commits
                if commits <= self._flushed:
                    return  # a flush that began after them has ended
            self._durable.wait()
            with self._held_guard:
                self._flushed = max(self._flushed, commits)
            return
        self._durable.wait()

    @property
    def durable_syncs(self) -> int:
        """How many syncs (SQLite: fsyncs of the WAL; PostgreSQL: WAL flushes) made commits
        durable so far."""
        return self._durable.syncs if self._durable is not None else 0

    def checkpoint(self) -> None:
        """Copy the SQLite WAL into the database file, beside the writes, off the hub.

        Holding the writes back meanwhile (so that it always completes) was measured and
        was worse: the copy and its fsync stalled a thousand writes a second by 20-50 ms.
        """
        path = self.sqlite_path
        if path is not None:
            off_the_hub(lambda: checkpoint_sqlite(path))  # SQLite releases the GIL

    @property
    def sqlite_path(self) -> str | None:
        """The database file, when it is a SQLite file."""
        path = self.engine.url.database if self.is_sqlite else None
        return path if path and path != ":memory:" else None

    def dispose(self) -> None:
        """Close every pooled connection, and every connection given back from now on."""
        self._disposed = True
        with self._held_guard:
            held, self._held = list(self._held.values()), {}
        for connection in held:
            connection.close()
        self.engine.dispose()
        if self._turn is not None:
            self._turn.close()
            self._turn = None
        if self._durable is not None:
            self._durable.close()
        if self._hall_engine is not self._write_engine:
            self._hall_engine.engine.dispose()
