"""Two hall server processes on one database, joined by Redis (the multi-process mode).

A call made through one process reaches a screen connected to the other, in seq order, and
both processes hand out numbers from the same counters.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hall_server.client.hall import HallClient
from tests.hall_server.hall import SMALL_HALL
from tests.live import LiveHall, start_live_hall
from tests.needs import need_program
from tests.support.polling import until
from tests.support.ports import free_port
from tests.support.redis import redis_server

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway Redis server on 127.0.0.1 (Debian's redis-server)."""
    with redis_server(tmp_path, need_program("redis-server")) as url:
        yield url


def test_a_call_made_on_one_process_reaches_a_screen_on_the_other(
    tmp_path: Path, redis_url: str
) -> None:
    first = start_live_hall(tmp_path, HALL_MESSAGE_QUEUE=redis_url)
    try:
        second = first.another_process(tmp_path / "second.log")
    except RuntimeError:
        first.stop()
        raise
    screen = HallClient(second.base_url, first.tokens["tv-1"])
    try:
        screen.start()
        assert screen.wait_for(lambda s: s.ready, 20), screen.last_error

        numbers = [
            hall.api("kiosk-1", "POST", "/tickets", {"service": "b"}).json()["number"]
            for hall in (first, second, first)
        ]
        assert numbers == ["B001", "B002", "B003"]  # one counter for both processes
        assert first.api("staff1", "POST", "/windows/3/open").ok
        called = first.api("staff1", "POST", "/windows/3/call-next").json()["ticket"]

        def shows_the_call(state: object) -> bool:
            window = state.windows.get(3) or {}  # type: ignore[attr-defined]
            return (window.get("ticket") or {}).get("number") == called["number"]

        assert screen.wait_for(shows_the_call, 20), "the call never reached the other process"
        assert screen.state.seq == second.api("boss", "GET", "/snapshot").json()["seq"]
        assert screen.state.queues["b"]["waiting"] == 2
    finally:
        screen.stop()
        second.stop()
        first.stop()


def _fresh(method: str, url: str, token: str | None = None, body: Any = None) -> dict[str, Any]:
    """One request on a connection of its own, so that any worker may take it."""
    headers = {"Connection": "close"} | ({"Authorization": f"Bearer {token}"} if token else {})
    with (
        requests.Session() as session,
        session.request(method, url, json=body, headers=headers, timeout=10) as response,
    ):
        response.raise_for_status()
        return dict(response.json())


def _health(hall: LiveHall) -> dict[str, Any]:
    return _fresh("GET", hall.url("/api/v1/health"))


def _workers_seen(hall: LiveHall, want: set[int], timeout_s: float = 30) -> dict[int, int]:
    """Worker index -> process id, asking until every index in ``want`` answered."""
    seen: dict[int, int] = {}
    deadline = time.monotonic() + timeout_s
    while not want <= set(seen) and time.monotonic() < deadline:
        try:
            health = _health(hall)
        except requests.RequestException:
            continue  # a worker being started again
        seen[health["worker"]] = health["process"]
    return seen


def test_hall_serve_with_two_workers_one_port_one_counter_and_a_dead_worker_comes_back(
    tmp_path: Path, redis_url: str
) -> None:
    hall = start_live_hall(tmp_path, HALL_MESSAGE_QUEUE=redis_url, HALL_WORKERS="2")
    screen = HallClient(hall.base_url, hall.tokens["tv-1"])
    workers: dict[int, int] = {}
    try:
        workers = _workers_seen(hall, {0, 1})
        assert set(workers) == {0, 1}, f"only {workers} answered on the shared port"
        screen.start()
        assert screen.wait_for(lambda s: s.ready, 20), screen.last_error

        # Each on its own connection: both workers issue, from the one counter.
        numbers = [
            _fresh("POST", hall.url("/api/v1/tickets"), hall.tokens["kiosk-1"], {"service": "b"})[
                "number"
            ]
            for _ in range(20)
        ]
        assert numbers == [f"B{n:03d}" for n in range(1, 21)]
        assert hall.api("staff1", "POST", "/windows/3/open").ok
        called = hall.api("staff1", "POST", "/windows/3/call-next").json()["ticket"]
        assert called["number"] == "B001"
        assert screen.wait_for(lambda s: s.queues["b"]["waiting"] == 19, 20)

        os.kill(workers[1], signal.SIGKILL)
        back = _workers_seen(hall, {1})
        assert back.get(1) not in (None, workers[1]), "the dead worker was not started again"
        workers |= back
        assert hall.api("kiosk-1", "POST", "/tickets", {"service": "b"}).json()["number"] == "B021"
    finally:
        screen.stop()
        hall.stop()
    for pid in workers.values():  # the process manager took its workers with it
        until(lambda pid=pid: not _alive(pid), 10, what=f"worker {pid} ending with the server")


def test_workers_end_when_their_process_manager_is_killed(tmp_path: Path, redis_url: str) -> None:
    """kill -9 of the process manager alone: its workers must not live on holding the port."""
    hall = start_live_hall(tmp_path, HALL_MESSAGE_QUEUE=redis_url, HALL_WORKERS="2")
    workers: dict[int, int] = {}
    try:
        workers = _workers_seen(hall, {0, 1})
        assert set(workers) == {0, 1}, f"only {workers} answered on the shared port"
        os.kill(hall.process.pid, signal.SIGKILL)  # the manager, not its process group
        for pid in workers.values():
            until(lambda pid=pid: not _alive(pid), 15, what=f"orphaned worker {pid} ending")
    finally:
        hall.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.mark.parametrize(
    ("how", "source"),
    [({"HALL_WORKERS": "2"}, "environment HALL_WORKERS"), ("--workers", "command line")],
)
def test_several_workers_without_a_message_queue_are_refused_with_the_reason(
    tmp_path: Path, how: dict[str, str] | str, source: str
) -> None:
    env = {**os.environ, "HALL_CONFIG": str(SMALL_HALL), "HALL_VAR_DIR": str(tmp_path / "var"),
           "HALL_PORT": str(free_port())}  # fmt: skip
    env.pop("HALL_MESSAGE_QUEUE", None)
    command = [sys.executable, "-m", "hall_server", "serve"]
    if isinstance(how, dict):
        env |= how
    else:
        command += [how, "2"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode != 0
    assert f"{source}: server.workers: several workers need server.message_queue" in done.stderr
    assert not (tmp_path / "var").exists() or not list((tmp_path / "var").glob("*.db"))
