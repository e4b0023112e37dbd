"""Who a window calls next: one table per step of the call-next policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hall_server.domain.queueing import (
    CallPolicy,
    Candidate,
    Decision,
    Reason,
    call_next,
    eta_seconds,
    people_ahead,
    requeue_position,
)

T0 = datetime(2024, 6, 14, 1, 0, tzinfo=UTC)  # 09:00 in the hall
WINDOW = 3
PLAIN = CallPolicy(priority_swap_ratio=3, aging_min=0, appointment_early_min=30)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ticket(id: int, service: str = "A", minute: float = 0, **kw: Any) -> Candidate:
    return Candidate(id=id, service=service, queued_at=at(minute), **kw)


def slot(start_min: float, end_min: float) -> dict[str, Any]:
    return {"slot_start": at(start_min), "slot_end": at(end_min)}


def chosen(
    queue: Sequence[Candidate],
    *,
    weights: Mapping[str, int] | None = None,
    policy: CallPolicy = PLAIN,
    now_min: float = 60,
    streak: int = 0,
) -> Decision:
    return call_next(
        WINDOW, weights or {"A": 1, "B": 1}, queue, policy, at(now_min), priority_streak=streak
    )


def check(decision: Decision, expected_id: int | None, reason: Reason | None) -> None:
    got = decision.ticket.id if decision.ticket else None
    assert (got, decision.reason) == (expected_id, reason)


# 1. Tickets targeted to this window (transfer, hold return) come first.
TARGETED = [
    pytest.param([ticket(1, minute=0), ticket(2, minute=30, target_window=3)], 2, Reason.TARGETED,
                 id="over-an-earlier-ticket"),
    pytest.param([ticket(1, priority=True), ticket(2, minute=30, target_window=3)], 2,
                 Reason.TARGETED, id="over-green-channel"),
    pytest.param([ticket(1, minute=10, **slot(50, 80)), ticket(2, minute=30, target_window=3)], 2,
                 Reason.TARGETED, id="over-an-appointment-in-its-slot"),
    pytest.param([ticket(1), ticket(2, "X", minute=30, target_window=3)], 2, Reason.TARGETED,
                 id="even-for-a-service-this-window-does-not-serve"),
    pytest.param([ticket(1, minute=40, target_window=3), ticket(2, minute=20, target_window=3)],
                 2, Reason.TARGETED, id="earliest-of-two-targeted"),
    pytest.param([ticket(1, minute=0, target_window=5), ticket(2, minute=30)], 2,
                 Reason.WEIGHTED, id="another-windows-ticket-is-skipped"),
    pytest.param([ticket(1, priority=True, target_window=5), ticket(2, minute=30)], 2,
                 Reason.WEIGHTED, id="another-windows-green-channel-is-skipped"),
    pytest.param([ticket(1, target_window=5)], None, None,
                 id="only-another-windows-ticket-waits"),
]  # fmt: skip


@pytest.mark.parametrize(("queue", "expected", "reason"), TARGETED)
def test_targeted_tickets_first(
    queue: list[Candidate], expected: int | None, reason: Reason | None
) -> None:
    check(chosen(queue), expected, reason)


# 2. Checked-in appointments inside their slot (10:00-10:30, 30 minutes early allowed).
APPOINTMENTS = [
    pytest.param(70, [ticket(1, priority=True), ticket(2, minute=20, **slot(60, 90))], 2,
                 Reason.APPOINTMENT, id="in-slot-beats-green-channel"),
    pytest.param(70, [ticket(1), ticket(2, minute=20, **slot(60, 90))], 2, Reason.APPOINTMENT,
                 id="in-slot-beats-an-earlier-ticket"),
    pytest.param(30, [ticket(1), ticket(2, minute=20, **slot(60, 90))], 2, Reason.APPOINTMENT,
                 id="30-min-early-is-inside"),
    pytest.param(29, [ticket(1), ticket(2, minute=20, **slot(60, 90))], 1, Reason.WEIGHTED,
                 id="31-min-early-is-ordinary"),
    pytest.param(90, [ticket(1), ticket(2, minute=20, **slot(60, 90))], 2, Reason.APPOINTMENT,
                 id="at-slot-end-is-inside"),
    pytest.param(91, [ticket(1), ticket(2, minute=20, **slot(60, 90))], 1, Reason.WEIGHTED,
                 id="after-the-slot-is-ordinary"),
    pytest.param(91, [ticket(1, minute=10), ticket(2, minute=5, **slot(60, 90))], 2,
                 Reason.WEIGHTED, id="after-the-slot-keeps-its-queue-place"),
    pytest.param(91, [ticket(1, priority=True, minute=30), ticket(2, minute=5, **slot(60, 90))],
                 1, Reason.PRIORITY, id="after-the-slot-green-channel-wins"),
    pytest.param(70, [ticket(2, minute=10, **slot(60, 90)), ticket(3, minute=40, **slot(45, 75))],
                 3, Reason.APPOINTMENT, id="earlier-slot-first"),
    pytest.param(70, [ticket(1), ticket(2, "X", minute=20, **slot(60, 90))], 1, Reason.WEIGHTED,
                 id="appointment-for-a-service-not-served-is-skipped"),
]  # fmt: skip


@pytest.mark.parametrize(("now_min", "queue", "expected", "reason"), APPOINTMENTS)
def test_appointments_inside_their_slot(
    now_min: float, queue: list[Candidate], expected: int, reason: Reason
) -> None:
    check(chosen(queue, now_min=now_min), expected, reason)


# 3. Green channel first, with a swap ratio: after N priority calls in a row, one normal.
def call_sequence(ratio: int, priority: int, normal: int, calls: int) -> str:
    """Call ``calls`` times over a queue where the normal tickets came first; P/N per call."""
    queue = [ticket(100 + i, minute=i) for i in range(normal)]
    queue += [ticket(i, minute=30 + i, priority=True) for i in range(priority)]
    policy = replace(PLAIN, priority_swap_ratio=ratio)
    streak, letters = 0, ""
    for _ in range(calls):
        decision = chosen(queue, policy=policy, streak=streak)
        assert decision.ticket is not None
        letters += "P" if decision.ticket.priority else "N"
        queue.remove(decision.ticket)
        streak = decision.priority_streak
    return letters


@pytest.mark.parametrize(
    ("ratio", "priority", "normal", "sequence"),
    [
        (3, 8, 8, "PPPNPPPN"),
        (1, 8, 8, "PNPNPNPN"),
        (2, 8, 8, "PPNPPNPP"),
        (0, 8, 8, "PPPPPPPP"),
        (3, 2, 6, "PPNNNN"),
        (3, 8, 1, "PPPNPPPP"),
        (0, 2, 3, "PPNNN"),
    ],
    ids=[
        "ratio-3",
        "ratio-1-alternates",
        "ratio-2",
        "ratio-0-always-priority",
        "priority-runs-out",
        "normal-runs-out",
        "ratio-0-then-normal",
    ],
)
def test_green_channel_swap_ratio(ratio: int, priority: int, normal: int, sequence: str) -> None:
    assert call_sequence(ratio, priority, normal, len(sequence)) == sequence


P, N = ticket(1, minute=30, priority=True), ticket(2, minute=0)


@pytest.mark.parametrize(
    ("ratio", "streak", "queue", "expected", "streak_after"),
    [
        (3, 0, [P, N], P, 1),
        (3, 2, [P, N], P, 3),
        (3, 3, [P, N], N, 0),
        (3, 3, [P], P, 4),
        (3, 2, [N], N, 0),
        (0, 10, [P, N], P, 11),
    ],
    ids=[
        "first-priority",
        "third-priority",
        "swap-due",
        "swap-due-but-nobody-normal",
        "normal-call-resets-the-streak",
        "ratio-0",
    ],
)
def test_green_channel_streak(
    ratio: int,
    streak: int,
    queue: list[Candidate],
    expected: Candidate,
    streak_after: int,
) -> None:
    decision = chosen(queue, policy=replace(PLAIN, priority_swap_ratio=ratio), streak=streak)
    assert (decision.ticket, decision.priority_streak) == (expected, streak_after)


@pytest.mark.parametrize(
    ("queue", "reason"),
    [
        ([P, N, ticket(3, minute=40, target_window=3)], Reason.TARGETED),
        ([P, N, ticket(3, minute=40, **slot(50, 80))], Reason.APPOINTMENT),
    ],
    ids=["targeted", "appointment"],
)
def test_targeted_and_appointment_calls_leave_the_streak_alone(
    queue: list[Candidate], reason: Reason
) -> None:
    decision = chosen(queue, streak=2)
    assert (decision.reason, decision.priority_streak) == (reason, 2)


def test_a_normal_call_in_between_restarts_the_green_channel_run() -> None:
    queue = [ticket(100 + i, minute=i) for i in range(6)]
    queue += [ticket(1, minute=30, priority=True), ticket(2, minute=31, priority=True)]
    streak, letters = 0, ""
    for call in range(7):
        if call == 3:  # three more green-channel visitors arrive after a normal call
            queue += [ticket(10 + i, minute=40 + i, priority=True) for i in range(3)]
        decision = chosen(queue, streak=streak)
        assert decision.ticket is not None
        letters += "P" if decision.ticket.priority else "N"
        queue.remove(decision.ticket)
        streak = decision.priority_streak
    assert letters == "PPNPPPN"


# 4. The window's weight for the service, plus aging (one step per aging_min waited).
@pytest.mark.parametrize(
    ("a_waited_min", "b_waited_min", "aging_min", "expected_service"),
    [
        (30, 5, 0, "B"),
        (119, 0, 0, "B"),
        (39, 0, 20, "B"),
        (40, 0, 20, "A"),
        (61, 19, 20, "A"),
        (61, 41, 20, "B"),
    ],
    ids=[
        "weight-3-beats-an-earlier-weight-1",
        "no-aging-never-climbs",
        "one-aging-step-is-not-enough",
        "two-steps-tie-and-the-earlier-wins",
        "three-steps-climb-past-weight-3",
        "weight-3-ages-too",
    ],
)
def test_weights_and_aging(
    a_waited_min: int, b_waited_min: int, aging_min: int, expected_service: str
) -> None:
    now = 120
    queue = [ticket(1, "A", minute=now - a_waited_min), ticket(2, "B", minute=now - b_waited_min)]
    decision = chosen(
        queue,
        weights={"A": 1, "B": 3},
        policy=replace(PLAIN, aging_min=aging_min),
        now_min=now,
    )
    assert decision.ticket is not None
    assert (decision.ticket.service, decision.reason) == (expected_service, Reason.WEIGHTED)


def test_a_long_waiting_ticket_climbs_past_several_weight_3_tickets() -> None:
    queue = [ticket(1, "A", minute=0)] + [ticket(10 + i, "B", minute=55 + i) for i in range(4)]
    decision = chosen(
        queue, weights={"A": 1, "B": 3}, policy=replace(PLAIN, aging_min=20), now_min=61
    )
    assert decision.ticket is not None and decision.ticket.id == 1


# 5. Among equals, the earliest in the queue (then the lowest id).
FIFO = [
    pytest.param({"A": 1}, [ticket(1, minute=10), ticket(2, minute=5)], 2, id="earlier-first"),
    pytest.param({"A": 1}, [ticket(7, minute=5), ticket(4, minute=5)], 4,
                 id="same-time-lower-id"),
    pytest.param({"A": 2, "B": 2}, [ticket(1, "B", minute=10), ticket(2, "A", minute=5)], 2,
                 id="equal-weights-across-services"),
    pytest.param({"A": 1},
                 [ticket(1, minute=10, priority=True), ticket(2, minute=5, priority=True)],
                 2, id="green-channel-among-itself"),
    pytest.param({"A": 1, "B": 3},
                 [ticket(1, "A", minute=0, priority=True), ticket(2, "B", minute=5, priority=True)],
                 2, id="green-channel-weights-apply"),
]  # fmt: skip


@pytest.mark.parametrize(("weights", "queue", "expected"), FIFO)
@pytest.mark.parametrize("order", ["as-issued", "reversed"])
def test_first_come_first_served_among_equals(
    weights: dict[str, int], queue: list[Candidate], expected: int, order: str
) -> None:
    if order == "reversed":
        queue = queue[::-1]
    decision = chosen(queue, weights=weights)
    assert decision.ticket is not None and decision.ticket.id == expected


# Services the window does not serve are never called; an empty queue calls nobody.
NOT_SERVED = [
    pytest.param([ticket(1, "B", minute=0), ticket(2, "A", minute=10)], 2, id="earlier-B"),
    pytest.param([ticket(1, "B", priority=True), ticket(2, "A", minute=10)], 2,
                 id="green-channel-B"),
    pytest.param([ticket(1, "B", minute=0, **slot(50, 80)), ticket(2, "A", minute=10)], 2,
                 id="appointment-B"),
    pytest.param([ticket(1, "B")], None, id="only-B-waits"),
    pytest.param([], None, id="empty-queue"),
]  # fmt: skip


@pytest.mark.parametrize(("queue", "expected"), NOT_SERVED)
def test_services_the_window_does_not_serve_are_never_called(
    queue: list[Candidate], expected: int | None
) -> None:
    decision = chosen(queue, weights={"A": 1}, streak=2)
    if expected is None:
        assert decision == Decision(None, None, 2)
    else:
        assert decision.ticket is not None and decision.ticket.id == expected


# A returning no-show's place in the queue.
ISSUED, NOW = at(0), at(60)
WAITING = [at(40), at(10), at(30), at(20)]


@pytest.mark.parametrize(
    ("mode", "after_n", "place"),
    [
        ("end", 0, NOW),
        ("front", 0, ISSUED),
        ("after_n", 0, ISSUED),
        ("after_n", 1, at(10) + timedelta(microseconds=1)),
        ("after_n", 2, at(20) + timedelta(microseconds=1)),
        ("after_n", 3, at(30) + timedelta(microseconds=1)),
        ("after_n", 4, NOW),
        ("after_n", 10, NOW),
    ],
    ids=["end", "front", "after-0", "after-1", "after-2", "after-3", "after-all-4", "after-10"],
)
def test_requeue_position(mode: str, after_n: int, place: datetime) -> None:
    assert requeue_position(mode, ISSUED, NOW, WAITING, after_n) == place


@pytest.mark.parametrize("after_n", [1, 2, 3])
def test_requeued_after_n_has_n_people_ahead(after_n: int) -> None:
    waiting = [ticket(10 + i, minute=m) for i, m in enumerate([40, 10, 30, 20])]
    place = requeue_position("after_n", ISSUED, NOW, [c.queued_at for c in waiting], after_n)
    back = Candidate(id=1, service="A", queued_at=place)
    assert people_ahead(back, [*waiting, back]) == after_n


@pytest.mark.parametrize(
    ("mine", "expected"),
    [
        (ticket(5, "A", minute=25), 2),
        (ticket(5, "A", minute=0), 0),
        (ticket(5, "A", minute=99), 4),
        (ticket(2, "A", minute=20), 1),  # same time as ticket 3, lower id: ahead of it
        (ticket(5, "B", minute=99), 1),
    ],
    ids=["middle", "first", "last", "tie-by-id", "other-service"],
)
def test_people_ahead_counts_the_same_service_only(mine: Candidate, expected: int) -> None:
    waiting = [
        ticket(1, "A", minute=10),
        ticket(3, "A", minute=20),
        ticket(4, "A", minute=30),
        ticket(6, "A", minute=40),
        ticket(7, "B", minute=15),
        mine,
    ]
    assert people_ahead(mine, waiting) == expected


@pytest.mark.parametrize(
    ("ahead", "windows", "avg_handle_s", "eta"),
    [
        (0, 2, 300, 0),
        (4, 2, 300, 600),
        (3, 2, 100, 150),
        (1, 3, 100, 33),
        (10, 1, 240.5, 2405),
        (5, 0, 300, None),
    ],
    ids=["nobody-ahead", "two-windows", "half-minutes", "rounded", "one-window", "no-window"],
)
def test_eta_shares_the_people_ahead_among_the_serving_windows(
    ahead: int, windows: int, avg_handle_s: float, eta: int | None
) -> None:
    assert eta_seconds(ahead, windows, avg_handle_s) == eta
