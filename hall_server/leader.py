"""Which process is the hall's leader (领导进程): the one that runs the background duties.

Every serving process runs an ``Election``: a small loop that tries, every
``server.leader_check_s``, to take the hall's leader lock in the database, and the one that
holds it runs the LEADER subscribers and the background jobs (``hall_server/bootstrap.py``).

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its
  own, keyed by the hall id. It is held as long as that connection lives: a process killed,
  or its connection dropped, frees it for the next process at once.
- SQLite: an ``flock`` on ``<database>-leader.lock`` beside the database file, released by the
  kernel when the process ends (one machine: SQLite lives on one disk).

No duty runs twice. The leader re-checks its lock every ``leader_check_s`` (a round trip on
its lock connection) and counts as leader only until ``valid_s`` after the last good check;
every round of a job and every LEADER subscriber asks ``leading()`` first. A process that
wins the lock waits ``grace_s`` (longer than ``valid_s`` plus a round) before it starts the
jobs, so a former leader whose connection was cut has stopped by then. A dead leader's
SQLite lock can only be freed by its death, so SQLite needs no such wait.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from .db import off_the_hub

log = logging.getLogger(__name__)

# The advisory lock's first key: "HALL" in ASCII, so other users of advisory locks on the
# same database (another application) are unlikely to collide with the hall's.
LOCK_CLASS = 0x48414C4C


class LeaderLock(Protocol):
    """The database's lock that at most one process holds at a time."""

    needs_grace: bool  # whether a former holder may still be alive after losing it

    def try_take(self) -> bool:
        """Take the lock if nobody holds it; whether this process holds it now."""

    def still_held(self) -> bool:
        """Whether this process still holds the lock it took (False: it was lost)."""

    def release(self) -> None:
        """Let go of the lock (and its connection)."""


class FileLeaderLock:
    """SQLite: an ``flock`` on a file beside the database; the kernel frees it at death."""

    needs_grace = False

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def try_take(self) -> bool:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def still_held(self) -> bool:
        return self._fd is not None  # an flock ends only with its descriptor

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor ends the flock
            self._fd = None


class PostgresLeaderLock:
    """PostgreSQL: a session advisory lock held on a connection of its own."""

    needs_grace = True

    def __init__(self, url: str, hall_id: int, *, check_s: float) -> None:
        # Keepalives on both ends: a connection cut without a FIN (a cable, a dead machine) is
        # noticed in a few checks, by the server (which then frees the lock) and by us.
        idle = max(1, round(check_s * 2))
        self._engine = create_engine(
            url,
            poolclass=NullPool,
            connect_args={"connect_timeout": 5, "keepalives": 1, "keepalives_idle": idle,
                          "keepalives_interval": 1, "keepalives_count": 3},
        )  # fmt: skip
        self._idle = idle
        self.hall_id = hall_id
        self._connection: Connection | None = None
        self.backend_pid: int | None = None

    def try_take(self) -> bool:
        try:
            if self._connection is None:
                self._connection = self._engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
                for key, value in (("idle", self._idle), ("interval", 1), ("count", 3)):
                    self._connection.execute(text(f"SET tcp_keepalives_{key} = {int(value)}"))
                pid = self._connection.execute(text("SELECT pg_backend_pid()")).scalar()
                self.backend_pid = pid
            taken = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:cls, :hall)"),
                {"cls": LOCK_CLASS, "hall": self.hall_id},
            ).scalar()
        except Exception as error:  # the database is away: not the leader, try again later
            log.warning("leader election: cannot reach the database: %s", error)
            self._drop()
            return False
        return bool(taken)

    def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))  # the session lives: its lock too
        except Exception as error:
            log.warning("leader lock lost with its database connection: %s", error)
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:cls, :hall)"),
                    {"cls": LOCK_CLASS, "hall": self.hall_id},
                )
        self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.invalidate()
                self._connection.close()
            self._connection = None
            self.backend_pid = None


def leader_lock(url: str, sqlite_path: str | None, hall_id: int, *, check_s: float) -> LeaderLock:
    """The hall's leader lock on this database."""
    if sqlite_path is not None:
        return FileLeaderLock(sqlite_path + "-leader.lock")
    if url.startswith("postgresql"):
        return PostgresLeaderLock(url, hall_id, check_s=check_s)
    raise ValueError(f"no leader lock for this database: {url.split(':', 1)[0]}")


class Election:
    """Every few seconds: take the lock if free; while held, check it; win -> ``on_win``,
    lose -> ``on_lose`` (stop the duties)."""

    def __init__(
        self,
        lock: LeaderLock,
        *,
        on_win: Callable[[Election], Any],
        on_lose: Callable[[], Any],
        check_s: float = 1.0,
        sleep: Callable[[float], Any] = time.sleep,
        blocking: Callable[[Callable[[], None]], None] = off_the_hub,
    ) -> None:
        self.lock, self.on_win, self.on_lose = lock, on_win, on_lose
        self.check_s = check_s
        self.valid_s = check_s * 2.5  # a leader whose last good check is older stops its duties
        self.grace_s = (self.valid_s + check_s) if lock.needs_grace else 0.0
        self._sleep, self._blocking = sleep, blocking
        self._holds = False  # the lock is ours (perhaps still in the grace wait)
        self._serving = False  # the duties were started for this term
        self._last_ok = 0.0
        self._stop = threading.Event()
        self.terms = 0

    def leading(self) -> bool:
        """Whether this process may run a duty now."""
        return self._serving and time.monotonic() - self._last_ok < self.valid_s

    def run(self) -> None:
        """The election loop (a background task of every serving process)."""
        won_at = 0.0
        while not self._stop.is_set():
            if not self._holds:
                if self._call(self.lock.try_take):
                    self._holds, self._last_ok, won_at = True, time.monotonic(), time.monotonic()
                    log.info("this process holds the hall's leader lock (pid %d)", os.getpid())
                    continue  # check it at once: with no grace to wait, the duties start now
                self._sleep(self.check_s)
                continue
            checked_at = time.monotonic()  # a good check proves the lock held from here on
            if self._call(self.lock.still_held):
                if self._serving and checked_at - self._last_ok >= self.valid_s:
                    # The checks came late (a slow database, a starved process): the jobs have
                    # stopped on their own clock. The lock never went, so start them again.
                    log.warning("the leader's checks came late: its duties start again")
                    self._serving = False
                    self.on_lose()
                self._last_ok = checked_at
                if not self._serving and time.monotonic() - won_at >= self.grace_s:
                    self._serving = True
                    self.terms += 1
                    log.info("this process is the hall's leader: background duties start")
                    self.on_win(self)
            else:
                self._lose()
            self._sleep(self.check_s)
        self._lose()
        self._call(self.lock.release)

    def stop(self) -> None:
        """End the loop (the lock is let go at its next turn)."""
        self._stop.set()

    def _lose(self) -> None:
        was_serving = self._serving
        self._holds = self._serving = False
        if was_serving:
            log.warning("this process is no longer the hall's leader: its duties stop")
            self.on_lose()

    def _call(self, fn: Callable[[], Any]) -> Any:
        result: list[Any] = []
        self._blocking(lambda: result.append(fn()))
        return result[0]


def leads_the_hall(app: Any) -> bool:
    """Whether this server process runs the hall's background duties now (the health answer)."""
    election: Election | None = app.extensions.get("hall_leader")
    if election is not None:
        return election.leading()
    wiring = app.extensions.get("hall_wiring")  # started without an election (hall demo)
    return bool(wiring is not None and wiring.jobs)
