"""Redis (the message queue between server processes) restarted while the hall is busy.

Two ``hall serve`` on one database with Redis between them; a kiosk issues and a window
calls through the first, the hall TV watches through the second, so every message it gets
crosses Redis. Redis is killed and started again on the same port mid-load: what the TV
missed it gets by resync, delivery through Redis resumes by itself, and the TV ends with
every event once, in seq order, in step with the hall.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hall_server.client.hall import HallClient
from hall_server.client.state import order_key
from tests.live import PASSWORD, LiveHall, start_live_hall
from tests.needs import need_program
from tests.support.polling import until
from tests.support.ports import free_port
from tests.support.screens import in_step

pytestmark = [pytest.mark.redis, pytest.mark.slow]

LOAD_CAP_S = 60.0
RESUME_S = 5.0  # delivery through Redis resumes within this after it is back (~2 s)


class Redis:
    """A throwaway Redis on a fixed port of 127.0.0.1 that can be killed and started again."""

    def __init__(self, workdir: Path) -> None:
        self.program = need_program("redis-server")
        self.workdir, self.port = workdir, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        until(self._pongs, 20, what="redis-server answering PING")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # as a crash would: no goodbye to its clients
            self.process.wait(timeout=10)

    def _pongs(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path)
    server.start()
    yield server
    server.kill()


def call(hall: LiveHall, who: str, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, hall.url("/api/v1" + path), json=body, timeout=15,
                            headers={"Authorization": f"Bearer {hall.tokens[who]}"})  # fmt: skip


class Load:
    """A kiosk issuing and window 3 calling through ``hall`` until stopped (or LOAD_CAP_S)."""

    def __init__(self, hall: LiveHall) -> None:
        self.hall, self.issued = hall, 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(20)

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - started < LOAD_CAP_S:
            answer = call(self.hall, "kiosk-1", "POST", "/tickets", {"service": "b"})
            if answer.status_code == 201:
                self.issued += 1
            else:
                self.errors.append(f"{answer.status_code} {answer.text[:200]}")
            for action in ("call-next", "finish"):
                call(self.hall, "staff1", "POST", f"/windows/3/{action}")
            self._stop.wait(0.02)

    def wait_for_issued(self, more: int, timeout_s: float = 20) -> None:
        target = self.issued + more
        until(lambda: self.issued >= target, timeout_s, what=f"{more} more tickets issued")


def snapshot_of(hall: LiveHall) -> Callable[[], dict[str, Any]]:
    """A reader of the hall's staff snapshot (what a screen must come to)."""
    return lambda: call(hall, "boss", "GET", "/snapshot").json()


def seq_of(hall: LiveHall) -> int:
    return int(snapshot_of(hall)()["seq"])


def test_redis_restarted_mid_load_delivery_resumes_and_the_screen_resyncs(
    tmp_path: Path, redis: Redis
) -> None:
    first = start_live_hall(tmp_path, HALL_MESSAGE_QUEUE=redis.url)
    second = None
    screen = None
    try:
        second = first.another_process(tmp_path / "second.log")
        screen = HallClient(second.base_url, first.tokens["tv-1"])
        applied: list[tuple[int, int]] = []
        screen.on("*", lambda event: applied.append(order_key(event)))
        screen.start()
        assert screen.wait_for(lambda s: s.ready, 20), screen.last_error
        assert call(first, "staff1", "POST", "/windows/3/open").ok

        with Load(first) as load:
            load.wait_for_issued(10)
            assert in_step(screen, snapshot_of(first), 20), (
                "events did not cross Redis before the restart"
            )
            redis.kill()
            # The hall goes on issuing and calling without Redis for a while (several
            # seconds: python-socketio's listener had backed off to 8 s between tries).
            load.wait_for_issued(150, timeout_s=40)
            # Staff can still log in (the login limits count in the process meanwhile).
            login = requests.post(second.url("/api/v1/auth/login"), timeout=15,
                                  json={"login": "staff2", "password": PASSWORD})  # fmt: skip
            assert login.status_code == 200, login.text
            redis.start()
            back = time.monotonic()
            # Delivery through Redis resumes by itself: the screen follows the load again
            # (by events, or by resync when it sees a gap), without reconnecting.
            target = seq_of(first)
            assert screen.wait_for(lambda s: s.seq >= target, RESUME_S), (
                f"the screen on the second process got nothing new {RESUME_S} s after Redis "
                f"came back (at seq {screen.state.seq}, the hall at {target})"
            )
            resumed_s = time.monotonic() - back
            load.wait_for_issued(10)
        assert load.errors == [], load.errors
        assert in_step(screen, snapshot_of(first), 20), (
            "the screen did not end in step with the hall"
        )
        events = [seq for seq, counts in applied if not counts]
        assert applied == sorted(applied), "messages applied out of seq order"
        assert len(events) == len(set(events)), "an event applied twice"
        assert screen.stats.connects == 1, "the screen reconnected: Socket.IO itself did not fail"
        print(f"delivery resumed {resumed_s:.1f} s after Redis came back")
    finally:
        if screen is not None:
            screen.stop()
        if second is not None:
            second.stop()
        first.stop()
