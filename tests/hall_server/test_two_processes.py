"""Two hall server processes on one database, joined by Redis (the multi-process mode).

A call made through one process reaches a screen connected to the other, in seq order, and
both processes hand out numbers from the same counters.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hall_server.realtime.client import HallClient
from tests.live import free_port, start_live_hall
from tests.needs import need_program

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway Redis server on 127.0.0.1 (Debian's redis-server)."""
    program = need_program("redis-server")
    port = free_port()
    server = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise RuntimeError("redis-server did not start") from None
        time.sleep(0.05)  # polling the server's readiness, bounded by the deadline
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


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
