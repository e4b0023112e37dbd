"""Malformed Socket.IO input (issue 9, item 2): a clear answer and one line in the log.

Real python-socketio clients against a real ``hall serve``: each malformed ``auth`` is refused
with a ``connect_error`` whose data is ``{code, message}``, each malformed event after connect
is answered with an ``error`` event ``{code, message, event}``; the server writes exactly one
line for each and never a traceback. Raw frames that are not Socket.IO at all are one line too.
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.live import LiveHall, start_live_hall
from tests.support.polling import until

from .raw_socketio import frame, frames_until_closed, ws_open

Answer = tuple[str, Any]
HALL, KIOSK = "/hall", "/kiosk"
HUGE = 10**30


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHall]:
    live = start_live_hall(Path(tmp_path_factory.mktemp("realtime-input")))
    yield live
    live.stop()


class Client:
    """A python-socketio client that keeps every answer of one namespace, in order."""

    def __init__(self, hall: LiveHall, namespace: str, auth: Any) -> None:
        self.namespace, self.answers = namespace, queue.Queue[Answer]()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("connect_error", self._refused, namespace=namespace)
        self.sio.on(
            "*", lambda name, data=None: self.answers.put((name, data)), namespace=namespace
        )
        with contextlib.suppress(socketio.exceptions.ConnectionError):  # see connect_error
            self.sio.connect(hall.base_url, namespaces=[namespace], auth=auth,
                             transports=["websocket"], wait_timeout=5)  # fmt: skip

    def _refused(self, data: Any = None) -> None:
        self.answers.put(("connect_error", data))

    def emit(self, event: str, *args: Any) -> None:
        self.sio.emit(event, args[0] if len(args) == 1 else tuple(args), namespace=self.namespace)

    def next(self, timeout_s: float = 5) -> Answer:
        return self.answers.get(timeout=timeout_s)

    def next_named(self, *names: str) -> Answer:
        """The next answer called one of ``names``, skipping others (e.g. the snapshot)."""
        deadline = time.monotonic() + 5
        while True:
            name, data = self.next(max(0.01, deadline - time.monotonic()))
            if name in names:
                return name, data

    def close(self) -> None:
        self.sio.disconnect()


def in_words(message: str) -> bool:
    """Chinese first, then English in parentheses, as every error of the hall."""
    chinese, _, english = message.partition(" (")
    return any("\u4e00" <= c <= "\u9fff" for c in chinese) and english.rstrip(".").endswith(")")


def lines_of(hall: LiveHall) -> list[str]:
    return hall.log().splitlines()


def one_new_line(hall: LiveHall, before: int) -> str:
    """Wait for the server's line about what just happened; fail on a traceback or a second."""
    with contextlib.suppress(AssertionError):  # none came: the assert below says what did
        until(lambda: len(lines_of(hall)) > before, 5, interval_s=0.02)
    new = lines_of(hall)[before:]
    assert len(new) == 1 and "Traceback" not in new[0], new
    return new[0]


REFUSED_AUTH = [
    (HALL, "abc", "invalid_input"),
    (HALL, [1, 2], "invalid_input"),
    (HALL, {"token": 123}, "invalid_input"),
    (HALL, {"token": ["x"]}, "invalid_input"),
    (HALL, {"ticket": 7}, "invalid_input"),
    (HALL, {"token": "x" * 500}, "invalid_input"),
    (HALL, {"token": "nope"}, "unauthorized"),
    (KIOSK, [5], "invalid_input"),
    (KIOSK, {"token": 5, "role": "agent"}, "invalid_input"),
    (KIOSK, {"token": "kiosk-1", "role": 5}, "invalid_input"),
    (KIOSK, {"token": "kiosk-1", "role": "boss"}, "invalid_input"),
    (KIOSK, {"token": "tv-1", "role": "page"}, "forbidden"),
]


@pytest.mark.parametrize(("namespace", "auth", "code"), REFUSED_AUTH)
def test_malformed_auth_is_refused_in_words(
    hall: LiveHall, namespace: str, auth: Any, code: str
) -> None:
    if isinstance(auth, dict) and str(auth.get("token")) in hall.tokens:
        auth = {**auth, "token": hall.tokens[auth["token"]]}
    before = len(lines_of(hall))
    client = Client(hall, namespace, auth)
    try:
        name, data = client.next()
    finally:
        client.close()
    assert name == "connect_error"
    assert data["data"]["code"] == code and data["data"]["message"] == data["message"]
    assert in_words(data["message"]), data
    assert "refused" in one_new_line(hall, before)


@pytest.mark.parametrize("last_seq", ["x", -1, HUGE, True, 1.5, [2]])
def test_a_last_seq_it_cannot_have_is_answered_then_a_snapshot_follows(
    hall: LiveHall, last_seq: Any
) -> None:
    before = len(lines_of(hall))
    client = Client(hall, HALL, {"token": hall.tokens["tv-1"], "last_seq": last_seq})
    try:
        first, second = client.next(), client.next()
    finally:
        client.close()
    assert first[0] == "error" and first[1]["code"] == "invalid_input"
    assert first[1]["event"] == "connect" and in_words(first[1]["message"])
    assert second[0] == "snapshot"
    one_new_line(hall, before)


def hall_display(hall: LiveHall) -> Client:
    display = Client(hall, HALL, {"token": hall.tokens["tv-1"]})
    assert display.next()[0] == "snapshot"
    return display


BAD_EVENTS: list[tuple[str, tuple[Any, ...], str]] = [
    ("resync", ("abc",), "invalid_input"),
    ("resync", ([1],), "invalid_input"),
    ("resync", ({"last_seq": HUGE},), "invalid_input"),
    ("resync", ({"last_seq": -5},), "invalid_input"),
    ("resync", ({"last_seq": "7"},), "invalid_input"),
    ("nope", ({},), "invalid_input"),
    ("disconnect", ("client disconnect",), "invalid_input"),
]


@pytest.mark.parametrize(("event", "args", "code"), BAD_EVENTS)
def test_a_malformed_event_on_hall_gets_an_error_event(
    hall: LiveHall, event: str, args: tuple[Any, ...], code: str
) -> None:
    display = hall_display(hall)
    before = len(lines_of(hall))
    try:
        display.emit(event, *args)
        _, error = display.next_named("error")
        display.emit("resync", {})  # still served after it
        assert display.next_named("snapshot")[0] == "snapshot"
    finally:
        display.close()
    assert (error["code"], error["event"]) == (code, event) and in_words(error["message"])
    assert "refused" in one_new_line(hall, before)


KIOSK_EVENTS: list[tuple[str, str, Any, str]] = [
    ("agent", "print_result", "x", "invalid_input"),
    ("agent", "print_result", {"job_id": [1], "ok": True}, "invalid_input"),
    ("agent", "print_result", {"job_id": HUGE, "ok": True}, "invalid_input"),
    ("agent", "print_result", {"job_id": 1, "ok": "yes"}, "invalid_input"),
    ("agent", "print_result", {"job_id": 1, "ok": True, "error": 5}, "invalid_input"),
    ("agent", "print_result", {"job_id": 987654, "ok": True}, "not_found"),
    ("page", "print_result", {"job_id": 1, "ok": True}, "forbidden"),
    ("agent", "card", "x", "invalid_input"),
    ("page", "read_card", {"timeout_s": "soon"}, "invalid_input"),
    ("agent", "read_card", {}, "forbidden"),
    ("page", "print", {}, "invalid_input"),
]


@pytest.mark.parametrize(("role", "event", "data", "code"), KIOSK_EVENTS)
def test_a_malformed_event_on_kiosk_gets_an_error_event(
    hall: LiveHall, role: str, event: str, data: Any, code: str
) -> None:
    kiosk = Client(hall, KIOSK, {"token": hall.tokens["kiosk-1"], "role": role})
    kiosk.next_named("printer") if role == "page" else None
    before = len(lines_of(hall))
    try:
        kiosk.emit(event, data)
        _, error = kiosk.next_named("error")
    finally:
        kiosk.close()
    assert (error["code"], error["event"]) == (code, event) and in_words(error["message"])
    one_new_line(hall, before)


GARBAGE = [b"x", b"", b"42[", b'42["resync"', b"4-", b"45-[]", b"4/hall", b'42/hall,{"a":1}',
           b"43/hall,1[]", b"9", b"\xff\xfe"]  # fmt: skip


def test_frames_that_are_not_socketio_leave_one_line_each_and_no_traceback(
    hall: LiveHall,
) -> None:
    before = len(lines_of(hall))
    for garbage in GARBAGE:
        sock = ws_open(hall)
        sock.sendall(frame(garbage))
        frames_until_closed(sock, 0.3)
        sock.close()
    # A refused connect last: once its line is there, every earlier line is too.
    Client(hall, HALL, "sentinel").close()
    until(lambda: any("sentinel" in line for line in lines_of(hall)[before:]), 5,
          interval_s=0.02, what="the sentinel's line in the server log")  # fmt: skip
    new = lines_of(hall)[before:]
    assert len(new) <= len(GARBAGE) + 1 and not any("Traceback" in line for line in new), new


def test_the_server_log_never_shows_a_traceback(hall: LiveHall) -> None:
    assert "Traceback" not in hall.log()
