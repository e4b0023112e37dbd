"""Inbound sizes (issue 9, item 1): one client that has not even logged in must not freeze the hall.

Against a real ``hall serve`` (gevent + gevent-websocket) on 127.0.0.1: an 8 MB Engine.IO
frame used to hold the process for seconds (it was read whole, then unmasked and UTF-8-checked
byte by byte in Python). Every hostile sender here is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from hall_server.server import MAX_BODY_BYTES, MAX_MESSAGE_BYTES
from tests.live import LiveHall, start_live_hall

from .raw_socketio import (
    CONTINUATION,
    TEXT,
    frame,
    frame_header,
    frames_until_closed,
    http_head,
    ws_open,
)

HEALTH_BUDGET_S = 0.2  # the bound for GET /api/v1/health during an attack
ATTACK_S = 6.0  # the hostile sender stops by itself after this
MALFORMED = [b"x", b"", b"4", b"42[", b'42["resync"', b"4-", b"45-[]", b'40/hall,"abc"',
             b"40/hall,[1]", b'42/hall,{"a":1}', b"9", b"\xff\xfe", b"43/hall,1[]",
             b"4999999999999999999999", b'40/nope,{}']  # fmt: skip


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHall]:
    live = start_live_hall(Path(tmp_path_factory.mktemp("transport")))
    yield live
    live.stop()


def polling_sid(hall: LiveHall) -> str:
    opened = requests.get(hall.url("/socket.io/?EIO=4&transport=polling"), timeout=5)
    sid: str = json.loads(opened.text[1:])["sid"]
    return sid


# ---------------------------------------------------------------- websocket frames


def test_a_websocket_message_over_the_limit_is_refused_by_its_header(hall: LiveHall) -> None:
    sock = ws_open(hall)
    # Only the header of an 8 MB frame: the server must not wait for the payload.
    sock.sendall(frame_header(8 * 1024 * 1024, mask=b"\x01\x02\x03\x04"))
    closes = [f.close_code for f in frames_until_closed(sock) if f.close_code]
    sock.close()
    assert closes == [1009]


def test_a_fragmented_message_over_the_limit_is_refused_too(hall: LiveHall) -> None:
    half = b"4" + b"x" * (MAX_MESSAGE_BYTES // 2 + 10)
    sock = ws_open(hall)
    sock.sendall(frame(half, TEXT, fin=False) + frame(half, CONTINUATION, fin=True))
    closes = [f.close_code for f in frames_until_closed(sock) if f.close_code]
    sock.close()
    assert closes == [1009]


def test_a_fragmented_message_within_the_limit_is_read_right(hall: LiveHall) -> None:
    # A Socket.IO connect to /kiosk in three frames, a Chinese character cut across two of
    # them, with a role the server refuses by echoing it: unmasking and UTF-8 held.
    role = "请A012号到3号窗口办理"
    text = (
        "40/kiosk," + json.dumps({"role": role, "pad": "x" * 30_000}, ensure_ascii=False)
    ).encode()
    cut = text.index("窗".encode()) + 1
    sock = ws_open(hall)
    sock.sendall(
        frame(text[:12], TEXT, fin=False)
        + frame(text[12:cut], CONTINUATION, fin=False)
        + frame(text[cut:], CONTINUATION, fin=True)
    )
    sock.settimeout(5)
    answer = b""
    while b"44/kiosk," not in answer or not answer.endswith(b"}"):
        chunk = sock.recv(65536)
        assert chunk, f"closed instead of answering: {answer!r}"
        answer += chunk
    sock.close()
    refusal = json.loads(answer.split(b"44/kiosk,", 1)[1].decode())
    assert refusal["data"]["code"] == "invalid_input"
    assert role in refusal["message"]


def test_the_threading_mode_refuses_a_large_message_with_1009_too(tmp_path: Path) -> None:
    threaded = start_live_hall(tmp_path, async_mode="threading")
    try:
        sock = ws_open(threaded)
        sock.sendall(frame(b"4" + b"x" * MAX_MESSAGE_BYTES))
        closes = [f.close_code for f in frames_until_closed(sock) if f.close_code]
        sock.close()
    finally:
        threaded.stop()
    assert closes == [1009]


# ---------------------------------------------------------------- HTTP bodies


def test_a_polling_post_over_the_limit_is_refused_unread(hall: LiveHall) -> None:
    sid = polling_sid(hall)
    started = time.monotonic()
    answer = http_head(hall, f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
                             f"Host: 127.0.0.1\r\nContent-Length: {8 * 1024 * 1024}")  # fmt: skip
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert "消息过大，最多 64 KB" in answer.decode()
    assert not answer.endswith(b"<still open or reset>")  # closed: the 8 MB is never read
    assert time.monotonic() - started < 2


def test_a_polling_post_within_the_limit_still_works(hall: LiveHall) -> None:
    sid = polling_sid(hall)
    connect = "40/hall," + json.dumps({"token": hall.tokens["tv-1"], "pad": "x" * 50_000})
    posted = requests.post(hall.url(f"/socket.io/?EIO=4&transport=polling&sid={sid}"),
                           data=connect.encode(), timeout=5)  # fmt: skip
    assert (posted.status_code, posted.text) == (200, "OK")
    polled = requests.get(hall.url(f"/socket.io/?EIO=4&transport=polling&sid={sid}"), timeout=5)
    assert '40/hall,{"sid":' in polled.text  # connected (its snapshot may come first)


@pytest.mark.parametrize("chunked", [False, True], ids=["with length", "chunked"])
def test_an_api_body_over_64_kb_gets_413_in_words(hall: LiveHall, chunked: bool) -> None:
    body = b'{"login": "staff1", "password": "' + b"x" * MAX_BODY_BYTES + b'"}'
    data: Any = iter([body[i : i + 8192] for i in range(0, len(body), 8192)]) if chunked else body
    answer = requests.post(hall.url("/api/v1/auth/login"), data=data, timeout=5,
                           headers={"Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 413
    error = answer.json()["error"]
    assert error["code"] == "request_entity_too_large"
    assert (
        error["message"] == "请求体过大，最多 64 KB (the request body is too large: at most 64 KB)."
    )


def test_the_two_imports_that_take_files_allow_more(hall: LiveHall) -> None:
    toml = "# a large hall's comments\n" * 8000  # 200 KB: refused as a hall, not as a size
    answer = requests.post(hall.url("/api/v1/admin/config.toml"), data=toml.encode(), timeout=10,
                           headers={"Authorization": f"Bearer {hall.tokens['root']}",
                                    "Content-Type": "application/toml"})  # fmt: skip
    assert answer.status_code not in (413, 500), answer.text[:300]
    csv = "code,name\n" + "x,y\n" * 60_000  # 240 KB of nonsense rows
    answer = requests.post(hall.url("/api/v1/appointments/import"), data=csv.encode(), timeout=10,
                           headers={"Authorization": f"Bearer {hall.tokens['boss']}",
                                    "Content-Type": "text/csv"})  # fmt: skip
    assert answer.status_code not in (413, 500), answer.text[:300]


def test_a_large_body_is_refused_by_its_length_and_left_unread(hall: LiveHall) -> None:
    # 100 MB announced: the answer comes at once and the server hangs up, instead of waiting
    # for (and reading) the body to throw it away.
    started = time.monotonic()
    answer = http_head(hall, "POST /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Length: 100000000", timeout_s=3)  # fmt: skip
    assert answer.startswith(b"HTTP/1.1 413")
    assert not answer.endswith(b"<still open or reset>")
    assert time.monotonic() - started < 2


# ---------------------------------------------------------------- the whole attack


def attack(hall: LiveHall, stop: threading.Event, done: list[str]) -> None:
    """Oversized and malformed frames and bodies, before any login, for at most ATTACK_S."""
    deadline = time.monotonic() + ATTACK_S
    big = b"4" + b"x" * (8 * 1024 * 1024)
    big_frame = frame(big)  # built once: masking 8 MB here would hold this process's GIL
    polling = hall.url("/socket.io/?EIO=4&transport=polling&sid=")

    def rounds() -> Iterator[str]:
        sock = ws_open(hall)
        with contextlib.suppress(OSError):  # refused by its header: the server hangs up
            sock.sendall(big_frame)  # the 8 MB frame of the report, payload and all
        sock.close()
        yield "8 MB websocket frame"
        sock = ws_open(hall)
        sock.sendall(frame_header(32 * 1024 * 1024, mask=b"abcd"))
        frames_until_closed(sock, 2)
        sock.close()
        yield "32 MB frame header"
        for garbage in MALFORMED:
            sock = ws_open(hall)
            sock.sendall(frame(garbage))
            frames_until_closed(sock, 0.1)
            sock.close()
        yield "malformed frames"
        with contextlib.suppress(requests.RequestException):
            requests.post(polling + polling_sid(hall), data=big, timeout=5)
        yield "8 MB polling POST"
        with contextlib.suppress(requests.RequestException):
            chunks = iter([b"x" * 65536] * 64)  # 4 MB, chunked: no length to refuse by
            requests.post(polling + polling_sid(hall), data=chunks, timeout=5)
        yield "chunked polling POST"
        with contextlib.suppress(requests.RequestException):
            requests.post(hall.url("/api/v1/auth/login"), data=big, timeout=5,
                          headers={"Content-Type": "application/json"})  # fmt: skip
        yield "8 MB login body"

    done.extend(rounds())  # one whole round at least, then more while time is left
    while not stop.is_set() and time.monotonic() < deadline and len(done) < 18:
        for step in rounds():
            done.append(step)
            if stop.is_set() or time.monotonic() > deadline:
                return


def test_a_hostile_client_before_login_does_not_stall_the_hall(hall: LiveHall) -> None:
    calls: queue.Queue[dict[str, Any]] = queue.Queue()
    display = socketio.Client(reconnection=False)
    display.on("event", lambda event: calls.put(event), namespace="/hall")
    display.connect(hall.base_url, namespaces=["/hall"], transports=["websocket"],
                    auth={"token": hall.tokens["tv-1"]})  # fmt: skip
    hall.api("staff1", "POST", "/windows/3/open").raise_for_status()
    hall.api("kiosk-1", "POST", "/tickets", {"service": "b"}).raise_for_status()
    stop, done = threading.Event(), []
    attacker = threading.Thread(target=attack, args=(hall, stop, done), daemon=True)
    latencies: list[float] = []
    called = None
    attacker.start()
    try:
        with requests.Session() as session:
            while attacker.is_alive() or len(latencies) < 10:
                started = time.perf_counter()
                answer = session.get(hall.url("/api/v1/health"), timeout=10)
                latencies.append(time.perf_counter() - started)
                assert answer.status_code == 200
                if len(latencies) == 5:
                    called = hall.api("staff1", "POST", "/windows/3/call-next").json()["ticket"]
        deadline = time.monotonic() + 10
        seen: list[dict[str, Any]] = []
        while not any(e.get("type") == "ticket.called" for e in seen):
            seen.append(calls.get(timeout=max(0.01, deadline - time.monotonic())))
    finally:
        stop.set()
        attacker.join(timeout=15)
        display.disconnect()
    assert called is not None and called["number"] == "B001"
    shown = next(e for e in seen if e.get("type") == "ticket.called")
    assert (shown["number"], shown["window"]) == ("B001", 3)
    assert "8 MB websocket frame" in done and "8 MB login body" in done, done
    slow = [round(s, 3) for s in latencies if s > HEALTH_BUDGET_S]
    assert not slow, f"health took {slow} s of {len(latencies)} polls during {done}"
    assert "Traceback" not in hall.log()
