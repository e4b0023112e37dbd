"""``hall serve --workers N``: gunicorn's master and its gevent websocket workers (workers.py).

What a hall sees of it: a ticket issued on one worker is called on another and a screen on a
third gets the call once, in seq order; a worker killed mid-load is started again by the
master and loses no acknowledged ticket, its screens reconnect and resync; a worker whose
event loop hangs is killed and replaced; a worker slow to start (longer than ``--timeout``)
is not taken for a hung one, but one stuck while starting is killed after the start's
allowance; ``kill -HUP`` replaces every worker without a request failing; the
hostile-client bounds of server.py hold in the workers; workers end when their master is
killed.

A connection is steered to one worker by pausing the others (SIGSTOP) while it is opened:
the kernel hands it to the only worker still accepting, and it stays there (keep-alive, or
a websocket).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hall_server.client.hall import HallClient
from hall_server.client.state import order_key
from hall_server.server import MAX_MESSAGE_BYTES
from tests.live import SMALL_HALL, LiveHall, start_live_hall
from tests.needs import need_program
from tests.support.polling import until
from tests.support.ports import free_port
from tests.support.redis import redis_server
from tests.support.screens import in_step

from .security.raw_socketio import frame_header, frames_until_closed, http_head, ws_open

pytestmark = [pytest.mark.redis, pytest.mark.slow]

LOAD_CAP_S = 40.0  # every load thread here stops by itself after this
ROOT = Path(__file__).resolve().parents[2]
SLOW_BOOT = [sys.executable, "-m", "tests.hall_server.slow_boot"]  # the test's master


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path, need_program("redis-server")) as url:
        yield url


@contextlib.contextmanager
def served(tmp_path: Path, redis_url: str, workers: int, **env: str) -> Iterator[LiveHall]:
    env |= {"HALL_MESSAGE_QUEUE": redis_url, "HALL_WORKERS": str(workers)}
    hall = start_live_hall(tmp_path, **env)  # type: ignore[arg-type]  # all HALL_* strings
    try:
        yield hall
    finally:
        hall.stop()


def fresh(hall: LiveHall, method: str, path: str, who: str | None = None,
          body: Any = None) -> requests.Response:  # fmt: skip
    """One request on a connection of its own, so that any worker may take it."""
    headers = {"Connection": "close"} | ({"Authorization": f"Bearer {hall.tokens[who]}"}
                                         if who else {})  # fmt: skip
    with requests.Session() as session:
        # 30 s: during a HUP a request waits in the port's backlog for the new workers
        return session.request(method, hall.url("/api/v1" + path), json=body, headers=headers,
                               timeout=30)  # fmt: skip


def workers_of(hall: LiveHall, count: int, timeout_s: float = 40) -> dict[int, int]:
    """Worker number -> process id, once ``count`` workers answer on the shared port."""
    seen: dict[int, int] = {}

    def all_answered() -> bool:
        with contextlib.suppress(requests.RequestException):
            health = fresh(hall, "GET", "/health").json()
            seen[health["worker"]] = health["process"]
        live = {n: pid for n, pid in seen.items() if alive(pid)}
        seen.clear()
        seen.update(live)
        return len(seen) >= count

    until(all_answered, timeout_s, interval_s=0.02, what=f"{count} workers answering")
    return dict(seen)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@contextlib.contextmanager
def only(worker: int, workers: dict[int, int]) -> Iterator[None]:
    """Pause every worker but ``worker`` (a pid): a connection opened now reaches it."""
    others = [pid for pid in workers.values() if pid != worker]
    for pid in others:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in others:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def session_on(hall: LiveHall, worker: int, workers: dict[int, int]) -> requests.Session:
    """A keep-alive session whose connection is held by ``worker``."""
    session = requests.Session()
    with only(worker, workers):
        assert session.get(hall.url("/api/v1/health"), timeout=10).json()["process"] == worker
    return session


def screen_on(hall: LiveHall, worker: int, workers: dict[int, int]) -> tuple[HallClient, list[Any]]:
    """The hall TV's client connected to ``worker``; and the (seq, counts?) of every message
    it applies, in the order applied."""
    screen = HallClient(hall.base_url, hall.tokens["tv-1"])
    applied: list[tuple[int, int]] = []
    screen.on("*", lambda event: applied.append(order_key(event)))
    with only(worker, workers):
        screen.start()
        assert screen.wait_for(lambda s: s.ready, 20), screen.last_error
    return screen, applied


def leaders(hall: LiveHall, workers: dict[int, int]) -> list[int]:
    """The workers (pids) that say they lead the hall, each asked on a connection of its own."""
    found = []
    for pid in workers.values():
        with session_on(hall, pid, workers) as session:
            if session.get(hall.url("/api/v1/health"), timeout=10).json()["leader"]:
                found.append(pid)
    return found


def one_leader(hall: LiveHall, workers: dict[int, int]) -> bool:
    """Whether exactly one worker leads (waiting for an election under way)."""
    with contextlib.suppress(AssertionError):
        return bool(until(lambda: len(leaders(hall, workers)) == 1, 20, interval_s=0.5,
                          what="exactly one leader among the workers"))  # fmt: skip
    return False


def in_seq_order_once(applied: list[tuple[int, int]]) -> bool:
    """Events in seq order, none twice. (Queue counts at a seq the screen already has may
    come again after a resync: they are the same counts, true at that seq.)"""
    events = [seq for seq, counts in applied if not counts]
    return applied == sorted(applied) and len(events) == len(set(events))


def snapshot_of(hall: LiveHall) -> Callable[[], dict[str, Any]]:
    """A reader of the hall's staff snapshot (what a screen must come to)."""
    return lambda: fresh(hall, "GET", "/snapshot", "boss").json()


def test_issued_on_one_worker_called_on_another_a_screen_on_a_third_gets_it_once_in_order(
    tmp_path: Path, redis_url: str
) -> None:
    with served(tmp_path, redis_url, 3) as hall:
        workers = workers_of(hall, 3)
        first, second, third = (workers[n] for n in sorted(workers))
        screen, applied = screen_on(hall, third, workers)
        kiosk, staff = session_on(hall, first, workers), session_on(hall, second, workers)
        try:
            kiosk.headers["Authorization"] = f"Bearer {hall.tokens['kiosk-1']}"
            staff.headers["Authorization"] = f"Bearer {hall.tokens['staff1']}"
            issued = [kiosk.post(hall.url("/api/v1/tickets"), json={"service": "b"},
                                 timeout=10) for _ in range(3)]  # fmt: skip
            assert [r.status_code for r in issued] == [201] * 3
            assert staff.post(hall.url("/api/v1/windows/3/open"), timeout=10).ok
            called = staff.post(hall.url("/api/v1/windows/3/call-next"), timeout=10).json()
            assert called["ticket"]["number"] == issued[0].json()["number"]

            def shows_the_call(state: Any) -> bool:
                ticket = (state.windows.get(3) or {}).get("ticket") or {}
                return bool(ticket.get("number") == called["ticket"]["number"])

            assert screen.wait_for(shows_the_call, 20), "the call never reached the third worker"
            assert in_step(screen, snapshot_of(hall), 20)
            assert in_seq_order_once(applied), str(applied)
            assert screen.stats.duplicates == 0
            assert one_leader(hall, workers), "not exactly one worker runs the duties"
            # each request was answered where it was sent: three processes took part
            assert kiosk.get(hall.url("/api/v1/health"), timeout=10).json()["process"] == first
            assert staff.get(hall.url("/api/v1/health"), timeout=10).json()["process"] == second
        finally:
            kiosk.close()
            staff.close()
            screen.stop()


@pytest.mark.postgres
def test_on_postgresql_two_workers_share_the_counters_one_leads_and_calls_cross(
    tmp_path: Path, redis_url: str, pg_url: str
) -> None:
    with served(tmp_path, redis_url, 2, HALL_DATABASE_URL=pg_url) as hall:
        workers = workers_of(hall, 2)
        first, second = (workers[n] for n in sorted(workers))
        screen, applied = screen_on(hall, first, workers)
        kiosks = [session_on(hall, pid, workers) for pid in (first, second)]
        try:
            numbers = []
            for kiosk in kiosks + kiosks:  # each worker issues, from the one counter
                kiosk.headers["Authorization"] = f"Bearer {hall.tokens['kiosk-1']}"
                issued = kiosk.post(hall.url("/api/v1/tickets"), json={"service": "b"}, timeout=10)
                numbers.append(issued.json()["number"])
            assert numbers == ["B001", "B002", "B003", "B004"]
            staff = kiosks[1]  # on the second worker; the screen is on the first
            staff.headers["Authorization"] = f"Bearer {hall.tokens['staff1']}"
            assert staff.post(hall.url("/api/v1/windows/3/open"), timeout=10).ok
            called = staff.post(hall.url("/api/v1/windows/3/call-next"), timeout=10).json()
            assert called["ticket"]["number"] == "B001"
            assert in_step(screen, snapshot_of(hall), 20)
            assert in_seq_order_once(applied), str(applied)
            assert one_leader(hall, workers), "not exactly one worker holds the advisory lock"
        finally:
            for kiosk in kiosks:
                kiosk.close()
            screen.stop()


class Load:
    """A kiosk issuing and a window calling, each request on a new connection, until stopped
    (or LOAD_CAP_S). Keeps the id of every ticket the server acknowledged (201)."""

    def __init__(self, hall: LiveHall) -> None:
        self.hall = hall
        self.acknowledged: list[int] = []
        self.failed: list[str] = []
        self.answers = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._issue, daemon=True),
                         threading.Thread(target=self._call, daemon=True)]  # fmt: skip

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def _running(self, started: float) -> bool:
        return not self._stop.is_set() and time.monotonic() - started < LOAD_CAP_S

    def _issue(self) -> None:
        started = time.monotonic()
        while self._running(started):
            try:
                answer = fresh(self.hall, "POST", "/tickets", "kiosk-1", {"service": "b"})
            except requests.RequestException as error:  # a worker killed mid-request
                self.failed.append(f"issue: {error}")
                continue
            self.answers += 1
            if answer.status_code == 201:
                self.acknowledged.append(answer.json()["id"])
            else:
                self.failed.append(f"issue: {answer.status_code} {answer.text[:200]}")

    def _call(self) -> None:
        started = time.monotonic()
        while self._running(started):
            for action in ("call-next", "finish"):
                with contextlib.suppress(requests.RequestException):
                    fresh(self.hall, "POST", f"/windows/3/{action}", "staff1")
            self._stop.wait(0.05)

    def wait_for_answers(self, more: int, timeout_s: float = 20) -> None:
        target = self.answers + more
        until(lambda: self.answers >= target, timeout_s, what=f"{more} more tickets answered")


def test_a_worker_killed_mid_load_comes_back_no_acknowledged_ticket_lost_screens_resync(
    tmp_path: Path, redis_url: str
) -> None:
    with served(tmp_path, redis_url, 2) as hall:
        workers = workers_of(hall, 2)
        victim_number = max(workers)
        victim = workers[victim_number]
        screen, applied = screen_on(hall, victim, workers)  # its screen dies with it
        try:
            assert fresh(hall, "POST", "/windows/3/open", "staff1").ok
            with Load(hall) as load:
                load.wait_for_answers(20)
                os.kill(victim, signal.SIGKILL)
                load.wait_for_answers(20)
                back = workers_of(hall, 2)
                assert back[victim_number] != victim, "the master did not start the worker again"
                load.wait_for_answers(20)  # and tickets are issued on after it
            assert one_leader(hall, workers_of(hall, 2)), "not exactly one leader after the kill"
            until(lambda: screen.stats.connects >= 2, 20, what="the screen reconnecting")
            assert in_step(screen, snapshot_of(hall), 20)
            assert in_seq_order_once(applied), str(applied)
            found = {tid: fresh(hall, "GET", f"/tickets/{tid}", "boss").status_code
                     for tid in load.acknowledged}  # fmt: skip
            lost = [tid for tid, status in found.items() if status != 200]
            assert not lost, f"acknowledged tickets missing after the kill: {lost}"
            assert len(load.acknowledged) >= 60
            # Only requests the dead worker was answering may fail: a handful at most.
            assert len(load.failed) <= 5, load.failed
        finally:
            screen.stop()


def test_kill_hup_replaces_every_worker_without_a_request_failing(
    tmp_path: Path, redis_url: str
) -> None:
    with served(tmp_path, redis_url, 2) as hall:
        workers = workers_of(hall, 2)
        screen, applied = screen_on(hall, workers[0], workers)
        try:
            assert fresh(hall, "POST", "/windows/3/open", "staff1").ok
            with Load(hall) as load:
                load.wait_for_answers(10)
                os.kill(hall.process.pid, signal.SIGHUP)

                def replaced() -> bool:
                    now = workers_of(hall, 2)
                    return not set(now.values()) & set(workers.values()) and all(
                        not alive(pid) for pid in workers.values()
                    )

                until(replaced, 40, interval_s=0.2, what="every worker replaced after HUP")
                load.wait_for_answers(10)
            assert load.failed == [], load.failed
            assert one_leader(hall, workers_of(hall, 2)), "not exactly one leader after HUP"
            until(lambda: screen.stats.connects >= 2, 20, what="the screen reconnecting")
            assert in_step(screen, snapshot_of(hall), 20)
            assert in_seq_order_once(applied), str(applied)
        finally:
            screen.stop()


def test_a_hung_worker_is_replaced_and_workers_end_with_their_master(
    tmp_path: Path, redis_url: str
) -> None:
    # gunicorn's own option, set the way an operator would (docs/DEPLOY.md)
    with served(tmp_path, redis_url, 2, GUNICORN_CMD_ARGS="--timeout 3") as hall:
        workers = workers_of(hall, 2)
        hung_number, hung = max(workers.items())
        os.kill(hung, signal.SIGSTOP)  # its heartbeat stops, as in an endless loop
        until(lambda: not alive(hung), 20, what="the master killing the hung worker")
        workers = workers_of(hall, 2)
        assert workers[hung_number] != hung
        assert "WORKER TIMEOUT" in hall.log()
        assert fresh(hall, "POST", "/tickets", "kiosk-1", {"service": "b"}).status_code == 201

        # kill -9 of the master alone: its workers must not live on holding the port
        os.kill(hall.process.pid, signal.SIGKILL)
        for pid in workers.values():
            until(lambda: not alive(pid), 15, what=f"orphaned worker {pid} ending")  # noqa: B023


@contextlib.contextmanager
def slow_starting(tmp_path: Path, redis_url: str, timeout_s: int, **env: str) -> Iterator[LiveHall]:
    """Two workers under the master of tests/hall_server/slow_boot.py, ``--timeout timeout_s``;
    ``env`` says how their start is slowed. The whole process group is killed at the end."""
    from hall_server.app import database_url
    from hall_server.services.setup import init_database, rotate_device_tokens
    from hall_server.settings import load_settings

    port = free_port()
    env = {**os.environ, "HALL_CONFIG": str(SMALL_HALL), "HALL_VAR_DIR": str(tmp_path / "var"),
           "HALL_ASYNC_MODE": "gevent", "HALL_PORT": str(port), "HALL_WORKERS": "2",
           "HALL_SECRET_KEY": "live-test-secret", "HALL_MESSAGE_QUEUE": redis_url,
           "GUNICORN_CMD_ARGS": f"--timeout {timeout_s}", **env}  # fmt: skip
    settings = load_settings(environ=env)
    db, hall_id, _ = init_database(settings, database_url(settings))
    tokens = {name: token for name, (_, token) in rotate_device_tokens(db, hall_id).items()}
    db.dispose()
    log_path = tmp_path / "server.log"
    command = [*SLOW_BOOT, "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        yield LiveHall(f"http://127.0.0.1:{port}", env, process, log_path, tokens)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_a_slow_start_is_not_taken_for_a_hang_but_a_hang_while_serving_is(
    tmp_path: Path, redis_url: str
) -> None:
    # Each worker spins three times --timeout before it builds its app, as on a loaded machine.
    with slow_starting(tmp_path, redis_url, 2, SLOW_BOOT_S="6") as hall:
        workers = workers_of(hall, 2, timeout_s=120)
        assert "WORKER TIMEOUT" not in hall.log()
        assert hall.log().count("Booting worker") == 2  # neither was started again
        assert fresh(hall, "POST", "/tickets", "kiosk-1", {"service": "b"}).status_code == 201

        # Hung once it serves: killed after --timeout as ever; its successor starts (slowly).
        hung_number, hung = max(workers.items())
        os.kill(hung, signal.SIGSTOP)
        until(lambda: not alive(hung), 20, what="the master killing the hung worker")
        workers = workers_of(hall, 2, timeout_s=120)
        assert workers[hung_number] != hung
        assert hall.log().count("WORKER TIMEOUT") == 1
        assert fresh(hall, "POST", "/tickets", "kiosk-1", {"service": "b"}).status_code == 201


def test_a_worker_stuck_while_starting_is_killed_after_the_starts_allowance(
    tmp_path: Path, redis_url: str
) -> None:
    stuck = tmp_path / "stuck.pid"  # the first worker to start writes its pid and never ends
    with slow_starting(tmp_path, redis_url, 2, SLOW_BOOT_HANG=str(stuck),
                       SLOW_BOOT_TIMEOUT_S="6") as hall:  # fmt: skip
        until(lambda: stuck.exists() and stuck.read_text().isdigit(), 60,
              what="a worker stuck while starting")  # fmt: skip
        pid, since = int(stuck.read_text()), time.monotonic()
        until(lambda: not alive(pid), 60, what="the master killing the stuck worker")
        # Not at --timeout (2 s): after the start's allowance (6 s) and then --timeout.
        assert time.monotonic() - since > 4
        assert "WORKER TIMEOUT" in hall.log()
        workers = workers_of(hall, 2, timeout_s=120)
        assert pid not in workers.values()
        assert fresh(hall, "POST", "/tickets", "kiosk-1", {"service": "b"}).status_code == 201


def test_the_hostile_client_bounds_hold_in_every_worker(tmp_path: Path, redis_url: str) -> None:
    with served(tmp_path, redis_url, 2) as hall:
        workers = workers_of(hall, 2)
        for pid in workers.values():
            with only(pid, workers):
                sock = ws_open(hall)  # an 8 MB frame's header only: refused by it (1009)
                sock.sendall(frame_header(8 * 1024 * 1024, mask=b"\x01\x02\x03\x04"))
                closes = [f.close_code for f in frames_until_closed(sock) if f.close_code]
                sock.close()
                assert closes == [1009]
                too_big = MAX_MESSAGE_BYTES + 1
                answer = http_head(
                    hall,
                    "POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\n"
                    f"Host: 127.0.0.1\r\nContent-Length: {too_big}",
                )
                assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
                body = {"service": "b", "name": "x" * (70 * 1024)}
                refused = requests.post(
                    hall.url("/api/v1/tickets"), json=body, timeout=10,
                    headers={"Authorization": f"Bearer {hall.tokens['kiosk-1']}"},
                )  # fmt: skip
                assert refused.status_code == 413
                assert "(" in refused.json()["error"]["message"]  # Chinese, then English
