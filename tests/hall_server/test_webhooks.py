"""Outgoing webhooks to a receiver on 127.0.0.1: signed deliveries, retries with backoff
and the delivery log when the receiver fails, and calling never waits for a receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hall_server.services.webhooks import WebhookWorker, start_webhooks, verify

from .hall import HallRig


@dataclass
class Receiver:
    """An HTTP receiver on 127.0.0.1 that records requests and answers ``status``."""

    server: ThreadingHTTPServer
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    hold: threading.Event | None = None  # when set up, answers wait until it is set

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hall-events"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            me = state["r"]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if me.hold is not None:
                me.hold.wait(30)
            me.requests.append({"headers": dict(self.headers), "body": body})
            self.send_response(me.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["r"] = receiver = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    if receiver.hold is not None:
        receiver.hold.set()
    server.shutdown()
    server.server_close()


def subscribe(hall: HallRig, url: str, events: list[str]) -> dict[str, Any]:
    response = hall.post("root", "/admin/webhooks", {"url": url, "events": events, "name": "审批"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def call_one(hall: HallRig) -> dict[str, Any]:
    hall.act("staff1", 3, "open")
    ticket = hall.issue("b")
    hall.act("staff1", 3, "call-next")
    return ticket


def deliveries(hall: HallRig) -> list[dict[str, Any]]:
    return hall.get("root", "/admin/webhooks/deliveries").get_json()["deliveries"]


def test_chosen_events_are_delivered_signed(hall: HallRig, receiver: Receiver) -> None:
    sub = subscribe(hall, receiver.url, ["ticket.called", "ticket.finished"])
    ticket = call_one(hall)
    hall.act("staff1", 3, "finish", case_no="BJ2026-0001")
    assert WebhookWorker(hall.ctx).run_once() == 2
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == [
        "ticket.called",
        "ticket.finished",
    ]
    for request in receiver.requests:
        headers = request["headers"]
        assert verify(
            sub["secret"], headers["X-Hall-Timestamp"], request["body"], headers["X-Hall-Signature"]
        )
        assert not verify(
            "wrong", headers["X-Hall-Timestamp"], request["body"], headers["X-Hall-Signature"]
        )
    finished = json.loads(receiver.requests[1]["body"])
    assert (finished["ticket_id"], finished["case_no"], finished["hall"]) == (
        ticket["id"],
        "BJ2026-0001",
        "test",
    )
    assert receiver.requests[1]["headers"]["X-Hall-Event"] == "ticket.finished"
    log = deliveries(hall)
    assert [(d["event_type"], d["state"], d["attempts"], d["last_status"]) for d in log] == [
        ("ticket.finished", "delivered", 1, 200),
        ("ticket.called", "delivered", 1, 200),
    ]
    assert WebhookWorker(hall.ctx).run_once() == 0  # nothing twice
    listed = hall.get("root", "/admin/webhooks").get_json()["webhooks"]
    assert "secret" not in listed[0] and listed[0]["url"] == receiver.url


def test_a_failing_receiver_gets_retries_with_backoff_and_the_log_shows_it(
    hall: HallRig, receiver: Receiver
) -> None:
    subscribe(hall, receiver.url, ["ticket.called"])
    call_one(hall)
    receiver.status = 500
    worker = WebhookWorker(hall.ctx)
    assert worker.run_once() == 1
    [entry] = deliveries(hall)
    assert (entry["state"], entry["attempts"], entry["last_status"], entry["last_error"]) == (
        "pending",
        1,
        500,
        "HTTP 500",
    )
    assert worker.run_once() == 0  # not before its backoff
    hall.clock.advance(seconds=10)
    assert worker.run_once() == 1
    assert deliveries(hall)[0]["attempts"] == 2
    hall.clock.advance(seconds=29)
    assert worker.run_once() == 0
    receiver.status = 204
    hall.clock.advance(seconds=1)
    assert worker.run_once() == 1
    [entry] = deliveries(hall)
    assert (entry["state"], entry["attempts"], entry["last_status"]) == ("delivered", 3, 204)
    assert len(receiver.requests) == 3
    seqs = {r["headers"]["X-Hall-Seq"] for r in receiver.requests}
    assert len(seqs) == 1  # the same event each time, for the receiver to deduplicate


def test_a_receiver_that_never_answers_well_is_given_up_after_the_last_retry(
    hall: HallRig, receiver: Receiver
) -> None:
    subscribe(hall, "http://127.0.0.1:9/nobody-listens", ["ticket.called"])
    call_one(hall)
    worker = WebhookWorker(hall.ctx)
    for _ in range(7):
        worker.run_once()
        hall.clock.advance(hours=2)
    [entry] = deliveries(hall)
    assert (entry["state"], entry["attempts"], entry["last_status"]) == ("failed", 7, None)
    assert "ConnectionError" in entry["last_error"]
    failed = hall.get("root", "/admin/webhooks/deliveries?state=failed").get_json()
    assert len(failed["deliveries"]) == 1


def test_subscriptions_are_checked_and_audited(hall: HallRig, receiver: Receiver) -> None:
    bad_url = hall.post("root", "/admin/webhooks", {"url": "ftp://x", "events": ["ticket.called"]})
    assert bad_url.status_code == 422 and "url" in bad_url.get_json()["error"]["message"]
    bad_event = hall.post("root", "/admin/webhooks", {"url": receiver.url, "events": ["nope"]})
    assert bad_event.status_code == 422
    assert hall.post("boss", "/admin/webhooks", {"url": receiver.url}).status_code == 403
    sub = subscribe(hall, receiver.url, ["ticket.called"])
    paused = hall.client.put(
        f"/api/v1/admin/webhooks/{sub['id']}", json={"active": False}, headers=hall.headers("root")
    )
    assert paused.get_json()["active"] is False
    call_one(hall)
    assert WebhookWorker(hall.ctx).run_once() == 0 and receiver.requests == []
    audit = hall.get("root", "/admin/audit").get_json()["changes"]
    assert [(e["section"], e["action"], e["actor"]) for e in audit] == [
        ("webhooks", "updated", "root"),
        ("webhooks", "created", "root"),
    ]
    assert sub["secret"] not in json.dumps(audit)


def test_calling_never_waits_for_a_slow_receiver(hall: HallRig, receiver: Receiver) -> None:
    receiver.hold = threading.Event()
    subscribe(hall, receiver.url, ["ticket.called", "ticket.finished"])

    def spawn(fn: Any) -> None:
        threading.Thread(target=fn, daemon=True).start()

    loop = start_webhooks(hall.ctx, spawn, idle_s=0.2)
    call_one(hall)  # the worker now sends ticket.called and hangs on the receiver
    started = time.monotonic()
    hall.act("staff1", 3, "finish")
    hall.issue("b")
    hall.act("staff1", 3, "call-next")
    assert time.monotonic() - started < 2.0
    receiver.hold.set()
    loop.wake.set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        states = [d["state"] for d in deliveries(hall)]
        if len(states) == 3 and set(states) == {"delivered"}:
            break
        hall.clock.advance(seconds=1)
        loop.wake.wait(0.05)  # poll the delivery log, bounded by the deadline
    assert [d["state"] for d in deliveries(hall)] == ["delivered"] * 3
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == [
        "ticket.called",
        "ticket.finished",
        "ticket.called",
    ]
    loop.close()
