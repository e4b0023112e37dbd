"""nginx in front of two hall server processes, run from the shipped docs/deploy/ config.

Two ``hall serve`` processes share one SQLite hall and the Redis message queue; Debian's
nginx runs ``docs/deploy/hall-pool.nginx.conf`` in front of them. Pages, the API, screens
by websocket and by Engine.IO long-polling go through nginx; ``kill -9`` of the process a
screen is on moves it, through nginx, to the other one, where it resyncs by its last seq.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from hall_server.client.hall import HallClient
from hall_server.contract import NAMESPACE
from tests.live import LiveHall, start_live_hall
from tests.needs import missing, need_program
from tests.support.nginx import ONE_BOX_CONF, POOL_CONF, access_log, nginx_server
from tests.support.polling import until
from tests.support.redis import redis_server

pytestmark = [pytest.mark.redis, pytest.mark.nginx, pytest.mark.slow]


def _nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        missing("nginx is not installed (apt-get install -y nginx)")
    assert found is not None
    return found


@dataclasses.dataclass
class Pool:
    front: LiveHall  # the same hall, reached through nginx
    processes: tuple[LiveHall, LiveHall]
    workdir: Path

    def sticky(self) -> tuple[LiveHall, LiveHall]:
        """(the process nginx sends this client to, the other one), by what health says."""
        pid = self.front.api(None, "GET", "/health").json()["process"]
        first, second = self.processes
        return (first, second) if first.process.pid == pid else (second, first)


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[Pool]:
    program = _nginx()
    with redis_server(tmp_path, need_program("redis-server")) as redis_url:
        first = start_live_hall(tmp_path, HALL_MESSAGE_QUEUE=redis_url, HALL_TRUSTED_PROXIES="1")
        try:
            second = first.another_process(tmp_path / "second.log")
        except RuntimeError:
            first.stop()
            raise
        ports = [int(hall.env["HALL_PORT"]) for hall in (first, second)]
        try:
            with nginx_server(tmp_path, POOL_CONF, ports, program) as url:
                yield Pool(dataclasses.replace(first, base_url=url), (first, second), tmp_path)
        finally:
            second.stop()
            first.stop()


def _shows_call(number: str) -> Any:
    def shown(state: Any) -> bool:
        return ((state.windows.get(3) or {}).get("ticket") or {}).get("number") == number

    return shown


def test_pages_api_and_a_screen_through_nginx_see_calls_made_on_the_other_process(
    pool: Pool,
) -> None:
    front = pool.front
    page = requests.get(front.url("/display/tv-1"), timeout=10)
    assert page.status_code == 200 and "/static/vendor/socket.io.min.js" in page.text
    library = requests.get(front.url("/static/vendor/socket.io.min.js"), timeout=10)
    assert library.status_code == 200 and len(library.content) > 10_000
    assert front.api("kiosk-1", "POST", "/tickets", {"service": "b"}).json()["number"] == "B001"

    here, other = pool.sticky()
    screen = HallClient(front.base_url, front.tokens["tv-1"])
    try:
        screen.start()
        assert screen.wait_for(lambda s: s.ready, 20), screen.last_error
        assert other.api("staff1", "POST", "/windows/3/open").ok
        called = other.api("staff1", "POST", "/windows/3/call-next").json()["ticket"]
        assert screen.wait_for(_shows_call(called["number"]), 20), "the call never came"
        assert screen.state.seq == here.api("boss", "GET", "/snapshot").json()["seq"]
    finally:
        screen.stop()


def test_bodies_over_the_api_limit_get_the_halls_answer_huge_ones_nginx_s_and_no_metrics(
    pool: Pool,
) -> None:
    headers = {"Authorization": f"Bearer {pool.front.tokens['kiosk-1']}",
               "Content-Type": "application/json"}  # fmt: skip
    url = pool.front.url("/api/v1/tickets")
    over_api = requests.post(url, data=b" " * (100 * 1024), headers=headers, timeout=10)
    assert over_api.status_code == 413 and "请求" in over_api.text  # the hall's own sentence
    huge = requests.post(url, data=b" " * (4 * 1024 * 1024), headers=headers, timeout=30)
    assert huge.status_code == 413  # nginx: more than any route of the hall takes
    # Prometheus scrapes each process itself; through the pool /metrics is not served.
    assert requests.get(pool.front.url("/metrics"), timeout=10).status_code == 403


def test_the_hall_sees_the_address_nginx_writes_never_one_the_client_claims(pool: Pool) -> None:
    """Five wrong passwords lock a login, audited with the visitor's address: the one nginx
    saw (127.0.0.2 here: the processes see every connection come from nginx's 127.0.0.1),
    not the X-Forwarded-For the client sent."""
    host, port = pool.front.base_url.removeprefix("http://").split(":")
    for attempt in range(5):
        visitor = http.client.HTTPConnection(host, int(port), timeout=10,
                                             source_address=("127.0.0.2", 0))  # fmt: skip
        try:
            visitor.request(
                "POST", "/api/v1/auth/login", json.dumps({"login": "staff2", "password": "x"}),
                {"Content-Type": "application/json", "X-Forwarded-For": f"6.6.6.{attempt}"},
            )  # fmt: skip
            assert visitor.getresponse().status == 401
        finally:
            visitor.close()
    log = pool.front.api("boss", "GET", "/events?after=0").json()["events"]
    locks = [event for event in log if event["type"] == "login.locked"]
    assert [event["address"] for event in locks] == ["127.0.0.2"]


def test_engine_io_long_polling_works_through_the_sticky_pool(pool: Pool) -> None:
    here, other = pool.sticky()
    events: list[dict[str, Any]] = []
    snapshots: list[dict[str, Any]] = []
    got = threading.Condition()
    client = socketio.Client(reconnection=False)

    def keep(into: list[dict[str, Any]]) -> Any:
        def handler(data: dict[str, Any]) -> None:
            with got:
                into.append(data)
                got.notify_all()

        return handler

    client.on("event", keep(events), namespace=NAMESPACE)
    client.on("snapshot", keep(snapshots), namespace=NAMESPACE)
    client.connect(pool.front.base_url, auth={"token": pool.front.tokens["tv-1"]},
                   namespaces=[NAMESPACE], transports=["polling"], wait_timeout=10)  # fmt: skip
    try:
        assert client.transport() == "polling"
        with got:
            assert got.wait_for(lambda: snapshots, 20), "no snapshot by long-polling"
        assert other.api("kiosk-1", "POST", "/tickets", {"service": "b"}).ok
        assert other.api("staff1", "POST", "/windows/3/open").ok
        called = other.api("staff1", "POST", "/windows/3/call-next").json()["ticket"]

        def heard_the_call() -> bool:
            return any(e.get("type") == "ticket.called"
                       and e.get("number") == called["number"]
                       for e in events)  # fmt: skip

        with got:
            assert got.wait_for(heard_the_call, 20), f"polling got only {events}"
        polls = [line for line in access_log(pool.workdir) if "transport=polling" in line[1]]
        assert len(polls) >= 3, polls  # the handshake, the namespace's connect, long polls
        port = here.env["HALL_PORT"]
        assert {(upstream, status) for _, _, upstream, status in polls} == {
            (f"127.0.0.1:{port}", "200")
        }, "a poll reached another process: the pool is not sticky"
    finally:
        client.disconnect()


def test_without_the_sticky_line_long_polling_breaks_which_is_why_it_is_there(
    pool: Pool, tmp_path: Path
) -> None:
    round_robin = tmp_path / "round-robin.nginx.conf"
    text = POOL_CONF.read_text()
    assert text.count("hash $remote_addr consistent;") == 1
    round_robin.write_text(text.replace("hash $remote_addr consistent;", ""))
    ports = [int(hall.env["HALL_PORT"]) for hall in pool.processes]
    workdir = tmp_path / "round-robin"
    workdir.mkdir()
    with nginx_server(workdir, round_robin, ports, _nginx()) as url:
        client = socketio.Client(reconnection=False)
        try:
            client.connect(url, auth={"token": pool.front.tokens["tv-1"]}, namespaces=[NAMESPACE],
                           transports=["polling"], wait_timeout=5)  # fmt: skip
            until(lambda: not client.connected, 20, what="the polling session breaking")
        except socketio.exceptions.ConnectionError:
            pass  # refused at once: the second request reached the other process
        finally:
            client.disconnect()
    polls = [line for line in access_log(workdir) if "transport=polling" in line[1]]
    assert "400" in {status for *_, status in polls}, polls  # "invalid session" elsewhere


def test_kill_9_of_a_screens_process_moves_it_through_nginx_to_the_other_no_call_lost(
    pool: Pool,
) -> None:
    front = pool.front
    here, other = pool.sticky()
    calls: list[str] = []
    screen = HallClient(front.base_url, front.tokens["tv-1"], retry_delay_max_s=1.0)
    screen.on("ticket.called", lambda event: calls.append(event["number"]))
    try:
        screen.start()
        assert screen.wait_for(lambda s: s.ready, 20), screen.last_error
        for _ in range(6):
            assert front.api("kiosk-1", "POST", "/tickets", {"service": "b"}).ok
        assert front.api("staff1", "POST", "/windows/3/open").ok
        first = front.api("staff1", "POST", "/windows/3/call-next").json()["ticket"]["number"]
        assert screen.wait_for(_shows_call(first), 20)

        os.kill(here.process.pid, signal.SIGKILL)
        here.process.wait(timeout=10)
        # Calls while the screen is away, on the survivor; then through nginx.
        made = [first, _serve_and_call_next(other)]
        health = until(lambda: _health_through(front), 20, what="health through nginx")
        assert health["process"] == other.process.pid  # the pool now answers from the survivor
        with pytest.raises(requests.ConnectionError):
            here.api(None, "GET", "/health")  # what the operator's monitoring sees of the dead one
        made += [_serve_and_call_next(front) for _ in range(2)]

        assert screen.wait_for(_shows_call(made[-1]), 30), "the screen did not come back"
        assert screen.stats.connects >= 2
        assert screen.state.seq == other.api("boss", "GET", "/snapshot").json()["seq"]
        assert screen.state.queues["b"]["waiting"] == 6 - len(made)
        assert calls == made, "a call was lost or shown twice across the reconnect"
    finally:
        screen.stop()


def _health_through(front: LiveHall) -> dict[str, Any] | None:
    response = front.api(None, "GET", "/health")
    return dict(response.json()) if response.ok else None


def test_the_one_box_config_in_front_of_one_process_carries_pages_and_screens(
    live_hall: LiveHall, tmp_path: Path
) -> None:
    port = int(live_hall.env["HALL_PORT"])
    with nginx_server(tmp_path, ONE_BOX_CONF, [port], _nginx()) as url:
        front = dataclasses.replace(live_hall, base_url=url)
        assert requests.get(front.url("/display/tv-1"), timeout=10).status_code == 200
        screen = HallClient(url, front.tokens["tv-1"])
        try:
            screen.start()
            assert screen.wait_for(lambda s: s.ready, 20), screen.last_error
            assert front.api("kiosk-1", "POST", "/tickets", {"service": "b"}).ok
            assert front.api("staff1", "POST", "/windows/3/open").ok
            called = front.api("staff1", "POST", "/windows/3/call-next").json()["ticket"]
            assert screen.wait_for(_shows_call(called["number"]), 20)
        finally:
            screen.stop()


def _serve_and_call_next(hall: LiveHall) -> str:
    """Serve window 3's called ticket to the end and call the next one; its number."""
    for action in ("start", "finish", "call-next"):
        response = hall.api("staff1", "POST", f"/windows/3/{action}")
        assert response.ok, response.text
    return str(response.json()["ticket"]["number"])
