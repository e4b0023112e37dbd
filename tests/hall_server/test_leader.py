"""One leader per hall, chosen through the database: it alone runs the background duties, and
when it dies or loses its lock another process takes over within seconds — never both at once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import requests
from sqlalchemy import create_engine, text

from hall_server import bootstrap
from hall_server.bootstrap import JobRow, Wiring, start_jobs, stop_jobs
from hall_server.leader import Election, FileLeaderLock, LeaderLock, PostgresLeaderLock
from tests.live import LiveHall, start_live_hall
from tests.needs import need_program
from tests.support.polling import until
from tests.support.redis import redis_server

CHECK_S = 0.1


class Probe:
    """A duty that notes when each of its rounds ran, and in which process."""

    def __init__(self) -> None:
        self.rounds: list[tuple[str, float, float]] = []
        self.names: dict[int, str] = {}  # id of a process's wiring -> its name
        self._lock = threading.Lock()

    def round_of(self, who: str) -> Any:
        def round_() -> None:
            started = time.monotonic()
            threading.Event().wait(0.005)  # a round takes a moment
            with self._lock:
                self.rounds.append((who, started, time.monotonic()))

        return round_

    def by(self, who: str) -> int:
        with self._lock:
            return sum(1 for name, _, _ in self.rounds if name == who)

    def assert_never_twice(self) -> None:
        for who_a, start_a, end_a in self.rounds:
            for who_b, start_b, end_b in self.rounds:
                apart = end_a <= start_b or end_b <= start_a
                assert who_a == who_b or apart, f"{who_a} and {who_b} ran at once"


class Process:
    """What one server process runs: the election, and the jobs wired as bootstrap wires them."""

    def __init__(self, name: str, lock: LeaderLock, probe: Probe) -> None:
        self.name = name
        self.wiring = Wiring(cast(Any, None), cast(Any, None), _thread, time.sleep)
        probe.names[id(self.wiring)] = name

        def win(election: Election) -> None:
            self.wiring.leading = election.leading
            start_jobs(self.wiring)

        self.election = Election(lock, on_win=win, on_lose=lambda: stop_jobs(self.wiring),
                                 check_s=CHECK_S)  # fmt: skip
        self.lock = lock
        _thread(self.election.run)

    def stop(self) -> None:
        self.election.stop()


def _thread(target: Any) -> None:
    threading.Thread(target=target, daemon=True).start()


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> Iterator[Probe]:
    probe = Probe()

    def make(w: Wiring) -> Any:
        return probe.round_of(probe.names[id(w)])

    monkeypatch.setattr(bootstrap, "BACKGROUND_JOBS", (JobRow("probe", 0.01, make, "a probe"),))
    yield probe


def _processes(probe: Probe, locks: list[LeaderLock]) -> list[Process]:
    return [Process(f"p{index}", lock, probe) for index, lock in enumerate(locks)]


def _one_leader(processes: list[Process], probe: Probe) -> Process:
    def single() -> Process | None:
        leading = [p for p in processes if p.election.leading()]
        return leading[0] if len(leading) == 1 and probe.by(leading[0].name) >= 3 else None

    return until(single, 10, interval_s=0.02, what="exactly one leader running its duties")


def test_sqlite_one_leader_and_a_successor_when_it_goes(tmp_path: Path, probe: Probe) -> None:
    path = str(tmp_path / "hall.db-leader.lock")
    processes = _processes(probe, [FileLeaderLock(path), FileLeaderLock(path)])
    try:
        leader = _one_leader(processes, probe)
        other = next(p for p in processes if p is not leader)
        assert probe.by(other.name) == 0
        leader.stop()  # its lock goes with it
        until(lambda: probe.by(other.name) >= 3, 10, interval_s=0.02, what="the other leads")
        assert not leader.election.leading()
        probe.assert_never_twice()
    finally:
        for process in processes:
            process.stop()


@pytest.mark.postgres
def test_postgres_leader_whose_connection_drops_stops_before_another_starts(
    pg_url: str, probe: Probe
) -> None:
    locks: list[LeaderLock] = [PostgresLeaderLock(pg_url, 1, check_s=CHECK_S) for _ in range(2)]
    processes = _processes(probe, locks)
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        leader = _one_leader(processes, probe)
        other = next(p for p in processes if p is not leader)
        assert probe.by(other.name) == 0
        backend = cast(PostgresLeaderLock, leader.lock).backend_pid
        with admin.connect() as connection:  # its database connection is cut, it lives on
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        until(lambda: probe.by(other.name) >= 3, 10, interval_s=0.02, what="the other leads")
        assert not leader.election.leading()
        probe.assert_never_twice()
        # The first one stays a candidate, on a new connection, and does not lead.
        assert until(lambda: cast(PostgresLeaderLock, leader.lock).backend_pid, 10)
        assert not leader.election.leading() and other.election.leading()
    finally:
        for process in processes:
            process.stop()
        admin.dispose()


class CutOff:
    """A PostgreSQL leader lock whose checks hang once the network is cut (a partition): its
    process cannot learn that the lock went, and must stop on its own clock."""

    needs_grace = True

    def __init__(self, lock: PostgresLeaderLock) -> None:
        self.lock, self.cut, self.healed = lock, threading.Event(), threading.Event()

    def try_take(self) -> bool:
        return self.lock.try_take()

    def still_held(self) -> bool:
        if self.cut.is_set():
            self.healed.wait(30)  # the check hangs while the network is cut
        return self.lock.still_held()

    def release(self) -> None:
        self.lock.release()


@pytest.mark.postgres
def test_postgres_leader_cut_off_unawares_stops_before_another_starts(
    pg_url: str, probe: Probe
) -> None:
    locks = [CutOff(PostgresLeaderLock(pg_url, 1, check_s=CHECK_S)) for _ in range(2)]
    processes = _processes(probe, list(locks))
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        leader = _one_leader(processes, probe)
        other = next(p for p in processes if p is not leader)
        cut = cast(CutOff, leader.lock)
        cut.cut.set()  # its checks now hang: it cannot learn what follows
        with admin.connect() as connection:  # the server ends its session and frees the lock
            connection.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": cut.lock.backend_pid}
            )
        until(lambda: probe.by(other.name) >= 3, 10, interval_s=0.02, what="the other leads")
        assert not leader.election.leading()  # stopped on its own clock
        probe.assert_never_twice()
        cut.healed.set()
    finally:
        for process in processes:
            process.stop()
            cast(CutOff, process.lock).healed.set()
        admin.dispose()


class SlowOnce:
    """An SQLite leader lock whose one check hangs until the test lets it go (a starved
    process): the lock stays held all along."""

    needs_grace = False

    def __init__(self, lock: FileLeaderLock) -> None:
        self.lock, self.slow, self.go = lock, threading.Event(), threading.Event()

    def try_take(self) -> bool:
        return self.lock.try_take()

    def still_held(self) -> bool:
        if self.slow.is_set():
            self.go.wait(30)
            self.slow.clear()
        return self.lock.still_held()

    def release(self) -> None:
        self.go.set()
        self.lock.release()


def test_a_leader_whose_checks_came_late_pauses_its_duties_then_resumes(
    tmp_path: Path, probe: Probe
) -> None:
    slow = SlowOnce(FileLeaderLock(str(tmp_path / "hall.db-leader.lock")))
    (process,) = _processes(probe, [slow])
    try:
        _one_leader([process], probe)
        slow.slow.set()
        until(lambda: not process.election.leading(), 10, interval_s=0.02,
              what="the duties pausing on the leader's own clock")  # fmt: skip
        paused_at = probe.by("p0")
        until(lambda: not process.wiring.jobs or process.wiring.stop.is_set(), 10)
        slow.go.set()
        until(lambda: probe.by("p0") >= paused_at + 3, 10, interval_s=0.02,
              what="the duties starting again")  # fmt: skip
        assert process.election.terms == 2
    finally:
        process.stop()


# ---------------------------------------------------------------- real `hall serve` processes


def _leads(hall: LiveHall) -> bool | None:
    try:
        response = requests.get(hall.url("/api/v1/health"), timeout=5)
    except requests.RequestException:
        return None
    return bool(response.json()["leader"])


def _serve_two(tmp_path: Path, database_url: str | None) -> tuple[LiveHall, LiveHall]:
    first = start_live_hall(tmp_path, database_url=database_url, HALL_LEADER_CHECK_S="0.2")
    try:
        return first, first.another_process(tmp_path / "second.log")
    except RuntimeError:
        first.stop()
        raise


def _kill_the_leader_and_see_the_other_take_over(first: LiveHall, second: LiveHall) -> None:
    try:
        until(lambda: [_leads(first), _leads(second)] in ([True, False], [False, True]), 15,
              what="exactly one of two `hall serve` leading")  # fmt: skip
        leader, other = (first, second) if _leads(first) else (second, first)
        leader.process.kill()  # kill -9: no goodbye, the lock goes with the process
        leader.process.wait(timeout=10)
        until(lambda: _leads(other), 15, what="the other process taking over")
    finally:
        first.stop()
        second.stop()


@pytest.mark.slow
def test_sqlite_hall_serve_killed_leader_is_replaced(tmp_path: Path) -> None:
    _kill_the_leader_and_see_the_other_take_over(*_serve_two(tmp_path, None))


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_hall_serve_killed_leader_is_replaced(tmp_path: Path, pg_url: str) -> None:
    _kill_the_leader_and_see_the_other_take_over(*_serve_two(tmp_path, pg_url))


@pytest.mark.slow
@pytest.mark.redis
def test_the_workers_of_one_hall_serve_elect_one_leader_and_replace_it(tmp_path: Path) -> None:
    """``hall serve --workers 2``: not "worker 0" but whoever holds the lock leads."""
    with redis_server(tmp_path, need_program("redis-server")) as redis_url:
        hall = start_live_hall(tmp_path, HALL_MESSAGE_QUEUE=redis_url, HALL_WORKERS="2",
                               HALL_LEADER_CHECK_S="0.2")  # fmt: skip
        try:
            seen: dict[int, tuple[int, bool]] = {}  # worker -> (pid, leads)

            def both_seen_one_leading() -> bool:
                health = _fresh_health(hall)
                if health is not None:
                    seen[health["worker"]] = (health["process"], health["leader"])
                return (
                    set(seen) == {0, 1} and [leads for _, leads in seen.values()].count(True) == 1
                )

            until(both_seen_one_leading, 30, interval_s=0.02, what="both workers, one leading")
            leader_pid = next(pid for pid, leads in seen.values() if leads)
            other_pid = next(pid for pid, leads in seen.values() if not leads)
            os.kill(leader_pid, signal.SIGKILL)

            def the_other_leads() -> bool:
                health = _fresh_health(hall)
                return bool(health and health["process"] == other_pid and health["leader"])

            until(the_other_leads, 30, interval_s=0.02, what="the surviving worker leading")
        finally:
            hall.stop()


def _fresh_health(hall: LiveHall) -> dict[str, Any] | None:
    """The health answer on a connection of its own, so that either worker may answer."""
    try:
        with requests.Session() as session:
            response = session.get(hall.url("/api/v1/health"), headers={"Connection": "close"},
                                   timeout=5)  # fmt: skip
            return dict(response.json())
    except requests.RequestException:
        return None  # a worker being started again
