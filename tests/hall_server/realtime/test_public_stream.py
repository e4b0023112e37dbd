"""The public stream (displays, kiosks, phones): calls at once and in order, issues only as
coalesced queue counts that always converge to the truth, a lost message seen and resynced;
staff still get every event. The rule is in docs/API.md ("Two audiences")."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from flask_socketio import SocketIOTestClient
from sqlalchemy import func, select

from hall_server.client.hall import HallClient
from hall_server.contract import NAMESPACE, PUBLIC_WITHHELD_EVENTS, QUEUE_COUNTS
from hall_server.models import Ticket as TicketRow
from hall_server.realtime.public import HallRooms
from hall_server.services.snapshot import snapshot
from tests.support.polling import until

from ..hall import HallRig
from .sockets import as_device, received
from .views import snapshot_view, state_view

DEADLINE_S = 15.0


class Screen:
    """A public (or staff) connection whose messages go through the real HallClient rules.

    ``drop`` loses the next message it matches, as a network might; ``resync`` requests go
    back over the same test connection, so the server's answer is fed in too.
    """

    def __init__(self, hall: HallRig, who: str) -> None:
        self.socket: SocketIOTestClient = as_device(hall, who)
        self.client = HallClient("http://127.0.0.1:9", token="d.unused")
        self.client._link.emit = self._send  # type: ignore[method-assign]
        self.messages: list[dict[str, Any]] = []  # every event message, as received
        self._drop: list[Callable[[dict[str, Any]], bool]] = []
        self.dropped: list[dict[str, Any]] = []
        self.pump()

    def _send(self, name: str, data: Any) -> None:
        self.socket.emit(name, data, namespace=NAMESPACE)

    def drop(self, matches: Callable[[dict[str, Any]], bool]) -> None:
        self._drop.append(matches)

    def pump(self) -> None:
        """Hand everything received so far to the client (its resyncs answered on the way)."""
        while batch := received(self.socket, counts=True):
            for name, payload in batch:
                if name == "snapshot":
                    self.client._on_snapshot(payload)
                    continue
                self.messages.append(payload)
                rule = next((r for r in self._drop if r(payload)), None)
                if rule is not None:
                    self._drop.remove(rule)
                    self.dropped.append(payload)
                    continue
                self.client._on_event(payload)

    def counts(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == QUEUE_COUNTS]


def true_waiting(hall: HallRig) -> dict[str, int]:
    """Waiting tickets per service, counted from the tickets themselves."""
    with hall.ctx.db.read() as session:
        rows = session.execute(
            select(TicketRow.service_id, func.count())
            .where(TicketRow.hall_id == hall.ctx.hall_id, TicketRow.state == "waiting")
            .group_by(TicketRow.service_id)
        ).all()
    by_id = dict(rows)
    return {s.code: int(by_id.get(s.id, 0)) for s in hall.ctx.layout.services.values()}


def converges(hall: HallRig, screen: Screen, deadline_s: float = DEADLINE_S) -> bool:
    """Poll until the screen shows the hall's last seq and the true counts, and the last
    counts message it got is current and true too (a call carries its own service's count,
    so the state may be right before the counts that follow it arrive), or the deadline."""

    def converged() -> bool:
        screen.pump()
        state = screen.client.state
        waiting = {code: q["waiting"] for code, q in state.queues.items()}
        seq, truth = last_seq(hall), true_waiting(hall)
        counts = screen.counts()
        last = counts[-1] if counts else {"seq": seq, "waiting": truth}  # none due: no change
        last_is_true = (last["seq"], last["waiting"]) == (seq, truth)
        return state.seq == seq and waiting == truth and last_is_true

    try:  # the counts come from the server's timer: look again soon
        until(converged, deadline_s, interval_s=0.02)
    except AssertionError:
        return False
    return True


def last_seq(hall: HallRig) -> int:
    return int(snapshot(hall.ctx, staff=True)["seq"])


def rooms_of(hall: HallRig) -> HallRooms:
    return next(s for s in hall.ctx.subscribers if isinstance(s, HallRooms))


def counts_by_hand(hall: HallRig) -> HallRooms:
    """Keep the timer out of a test that sends the counts itself, at moments it chooses."""
    rooms = rooms_of(hall)
    rooms.period_s = 3600.0
    return rooms


def call_next(hall: HallRig, window: int) -> dict[str, Any] | None:
    """Send whoever stands at the window away (过号) and call the next ticket."""
    hall.post("boss", f"/windows/{window}/no-show")  # 409 when nobody is called there
    response = hall.post("boss", f"/windows/{window}/call-next")
    assert response.status_code == 200, response.get_json()
    ticket: dict[str, Any] | None = response.get_json()["ticket"]
    return ticket


def open_windows(hall: HallRig, *numbers: int) -> None:
    for number in numbers:
        hall.act("boss", number, "open")


@pytest.mark.parametrize("seed", range(6))
def test_coalesced_counts_always_converge_to_the_true_waiting_counts(
    hall: HallRig, seed: int
) -> None:
    rng = random.Random(seed)
    display, kiosk = Screen(hall, "tv-1"), Screen(hall, "kiosk-1")
    open_windows(hall, 1, 2, 3, 4)
    waiting: list[int] = []
    for _ in range(8):  # bursts: issues, calls, finishes and cancels in a random mix
        for _ in range(rng.randint(1, 25)):
            roll = rng.random()
            if roll < 0.6:
                waiting.append(hall.issue(rng.choice("ab"))["id"])
            elif roll < 0.8:
                call_next(hall, rng.randint(1, 4))
            elif roll < 0.9 and waiting:
                ticket = waiting.pop(rng.randrange(len(waiting)))
                hall.post("boss", f"/tickets/{ticket}/cancel")  # 409 once called: fine
            else:
                hall.post("boss", f"/windows/{rng.randint(1, 4)}/no-show")  # 409 if idle
        if rng.random() < 0.5:
            display.pump()  # sometimes the screen reads between bursts, sometimes not
    for screen in (display, kiosk):
        assert converges(hall, screen), (screen.client.state.seq, last_seq(hall))
        assert state_view(screen.client.state) == snapshot_view(snapshot(hall.ctx, staff=False))
        assert not any(m["type"] in PUBLIC_WITHHELD_EVENTS for m in screen.messages)
        assert screen.client.stats.resyncs == 0  # nothing was lost, so nothing was asked
    last_counts = display.counts()[-1]
    assert last_counts["waiting"] == true_waiting(hall)


def test_a_screen_gets_every_call_at_once_in_seq_order_and_never_an_issue(
    hall: HallRig,
) -> None:
    display = Screen(hall, "tv-1")
    staff = as_device(hall, "boss")
    open_windows(hall, 1, 3)
    calls = []
    for round_ in range(6):
        for _ in range(5):
            hall.issue("b")
        called = call_next(hall, 1 + 2 * (round_ % 2))
        assert called is not None
        calls.append(called["id"])
        # At once: there when the call-next has answered, before any timer.
        arrived = [p for _, p in received(display.socket, counts=True)]
        assert [(c["ticket_id"], c["number"]) for c in arrived if c["type"] == "ticket.called"] == [
            (called["id"], called["number"])
        ]
        display.messages.extend(arrived)
        for message in arrived:
            display.client._on_event(message)
    shown = [m for m in display.messages if m["type"] == "ticket.called"]
    assert [m["ticket_id"] for m in shown] == calls
    assert [m["seq"] for m in shown] == sorted(m["seq"] for m in shown)
    assert converges(hall, display)
    assert not any(m["type"] == "ticket.issued" for m in display.messages)
    every = [p for _, p in received(staff)]
    assert Counter(e.get("type") for e in every)["ticket.issued"] == 30


def test_staff_get_every_event_and_no_counts(hall: HallRig) -> None:
    staff = Screen(hall, "boss")
    counts_by_hand(hall)
    open_windows(hall, 3)
    for _ in range(12):
        hall.issue("b")
    call_next(hall, 3)
    rooms_of(hall).send_counts()  # as the timer would, at once
    staff.pump()
    assert [m["seq"] for m in staff.messages] == list(range(1, last_seq(hall) + 1))
    assert not any("prev" in m or m["type"] == QUEUE_COUNTS for m in staff.messages)
    assert state_view(staff.client.state) == snapshot_view(snapshot(hall.ctx, staff=True))


def test_each_public_message_says_which_public_event_came_before(hall: HallRig) -> None:
    display = Screen(hall, "tv-1")
    counts_by_hand(hall)
    open_windows(hall, 3)  # seq 1
    hall.issue("b")  # 2, withheld
    hall.issue("b")  # 3, withheld
    hall.act("boss", 3, "call-next")  # 4
    counts = rooms_of(hall).send_counts()
    hall.issue("b")  # 5
    later = rooms_of(hall).send_counts()
    display.pump()
    assert [(m["type"], m["seq"], m["prev"]) for m in display.messages] == [
        ("window.opened", 1, 0),
        ("ticket.called", 4, 1),
        (QUEUE_COUNTS, 4, 4),
        (QUEUE_COUNTS, 5, 4),
    ]
    assert counts is not None and counts["waiting"]["b"] == 1
    assert later is not None and later["waiting"]["b"] == 2
    assert rooms_of(hall).send_counts() is None  # nothing moved: nothing sent


@pytest.mark.parametrize(
    "lose",
    [
        lambda m: m["type"] == "ticket.called",
        lambda m: m["type"] == "window.opened",
        lambda m: m["type"] == QUEUE_COUNTS,
    ],
    ids=["a call", "a window change", "a counts message"],
)
def test_a_screen_that_loses_a_message_resyncs_and_converges(
    hall: HallRig, lose: Callable[[dict[str, Any]], bool]
) -> None:
    display = Screen(hall, "tv-1")
    display.drop(lose)
    open_windows(hall, 1, 3)
    for round_ in range(4):
        for _ in range(3):
            hall.issue("b")
        rooms_of(hall).send_counts()
        call_next(hall, 3)
        if round_ == 1:
            hall.act("boss", 1, "pause", reason="午休")
        display.pump()
    assert display.dropped, "the test lost nothing"
    assert converges(hall, display)
    assert state_view(display.client.state) == snapshot_view(snapshot(hall.ctx, staff=False))
    if lose({"type": QUEUE_COUNTS}):
        return  # a lost counts message is made good by the next one, not by a resync
    assert display.client.stats.resyncs >= 1


def test_a_public_resync_replays_the_calls_and_ends_with_fresh_counts(hall: HallRig) -> None:
    counts_by_hand(hall)
    open_windows(hall, 3)
    for _ in range(40):
        hall.issue("b")
    hall.act("boss", 3, "call-next")
    hall.act("boss", 3, "start")
    display = as_device(hall, "tv-1", last_seq=1)
    replay = [p for _, p in received(display, counts=True)]
    assert [(m["type"], m["prev"]) for m in replay] == [
        ("ticket.called", 1),
        ("ticket.started", 42),
        (QUEUE_COUNTS, 43),
    ]
    assert replay[-1]["seq"] == 43 and replay[-1]["waiting"]["b"] == 39
    answer = hall.get("tv-1", "/events?after=1").get_json()
    assert [e["seq"] for e in answer["events"]] == [42, 43]
    assert answer["counts"]["waiting"] == true_waiting(hall)


def test_a_public_resync_too_far_behind_gets_a_snapshot(
    hall_with: Callable[..., HallRig],
) -> None:
    hall = hall_with(resync_max_events=2)
    hall.act("boss", 3, "open")
    for _ in range(3):
        hall.issue("b")
        call_next(hall, 3)
    names = [name for name, _ in received(as_device(hall, "tv-1", last_seq=1))]
    assert names == ["snapshot"]


def test_counts_come_a_few_times_a_second_at_most(hall: HallRig) -> None:
    display = Screen(hall, "tv-1")
    period = rooms_of(hall).period_s
    started = time.monotonic()
    issued = 0
    # At most 1.5 s, and fewer tickets than service b's numbers (a fast machine ran out).
    while time.monotonic() - started < 1.5 and issued < 900:
        hall.issue("b")
        issued += 1
        display.pump()
    assert converges(hall, display)
    elapsed = time.monotonic() - started
    assert issued > 10
    assert 1 <= len(display.counts()) <= elapsed / period + 2
