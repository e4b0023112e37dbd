"""Ticket life as the hall's staff know it: which button works when, and what it records."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hall_server.domain import tickets as tk
from hall_server.domain.errors import IllegalTransition, InvalidInput
from hall_server.domain.tickets import Ticket, TicketAction, TicketState

S = TicketState
A = TicketAction
T0 = datetime(2024, 6, 14, 1, 0, tzinfo=UTC)  # Friday 09:00 in the hall (Asia/Shanghai)
CJK = re.compile(r"[\u4e00-\u9fff]")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ticket(state: TicketState = S.WAITING, **kw: Any) -> Ticket:
    at_window = state in {S.CALLED, S.SERVING, S.HELD, S.NO_SHOW}
    facts: dict[str, Any] = {
        "number": "A012",
        "service": "A",
        "state": state,
        "issued_at": T0,
        "queued_at": T0,
        "window": 3 if at_window else None,
        "called_at": at(10) if at_window else None,
        "first_called_at": at(10) if at_window else None,
        "call_count": 1 if at_window else 0,
        "started_at": at(12) if state in {S.SERVING, S.HELD} else None,
        "ended_at": at(15) if state is S.NO_SHOW else None,
    }
    facts.update(kw)
    return Ticket(**facts)


# The button each action is, pressed with the hall's most permissive settings, so only
# the ticket's state decides whether it is legal.
PRESS: dict[TicketAction, Callable[[Ticket, datetime], Ticket]] = {
    A.CALL: lambda t, now: tk.call(t, 3, now),
    A.RECALL: lambda t, now: tk.recall(t, now, max_recalls=0),
    A.START: tk.start,
    A.FINISH: lambda t, now: tk.finish(t, now, finish_from_called=True),
    A.NO_SHOW: tk.no_show,
    A.REQUEUE: lambda t, now: tk.requeue(t, now, queued_at=now, return_limit_min=0),
    A.TRANSFER: lambda t, now: tk.transfer(t, now, service="B"),
    A.HOLD: tk.hold,
    A.RETURN: tk.return_from_hold,
    A.CANCEL: tk.cancel,
    A.EXPIRE: tk.expire,
}

# DESIGN.md "Ticket life", written out as the hall's rule book.
LEGAL: dict[tuple[TicketState, TicketAction], TicketState] = {
    (S.WAITING, A.CALL): S.CALLED,
    (S.WAITING, A.CANCEL): S.CANCELLED,
    (S.WAITING, A.EXPIRE): S.EXPIRED,
    (S.CALLED, A.RECALL): S.CALLED,
    (S.CALLED, A.START): S.SERVING,
    (S.CALLED, A.FINISH): S.DONE,
    (S.CALLED, A.NO_SHOW): S.NO_SHOW,
    (S.CALLED, A.TRANSFER): S.WAITING,
    (S.CALLED, A.CANCEL): S.CANCELLED,
    (S.CALLED, A.EXPIRE): S.EXPIRED,
    (S.SERVING, A.FINISH): S.DONE,
    (S.SERVING, A.TRANSFER): S.WAITING,
    (S.SERVING, A.HOLD): S.HELD,
    (S.SERVING, A.EXPIRE): S.EXPIRED,
    (S.HELD, A.RETURN): S.WAITING,
    (S.HELD, A.CANCEL): S.CANCELLED,
    (S.HELD, A.EXPIRE): S.EXPIRED,
    (S.NO_SHOW, A.REQUEUE): S.WAITING,
    (S.NO_SHOW, A.CANCEL): S.CANCELLED,
}
STATE_ZH = {
    S.WAITING: "等候中",
    S.CALLED: "已叫号",
    S.SERVING: "办理中",
    S.HELD: "挂起补件",
    S.NO_SHOW: "已过号",
    S.DONE: "已办结",
    S.CANCELLED: "已取消",
    S.EXPIRED: "已过期",
}
ACTION_ZH = {
    A.CALL: "叫号",
    A.RECALL: "重呼",
    A.START: "开始办理",
    A.FINISH: "办结",
    A.NO_SHOW: "过号",
    A.REQUEUE: "重新排队",
    A.TRANSFER: "转移",
    A.HOLD: "挂起",
    A.RETURN: "补件返回",
    A.CANCEL: "取消",
    A.EXPIRE: "过期",
}
ALL_PAIRS = [(s, a) for s in S for a in A]
LEGAL_PAIRS = [p for p in ALL_PAIRS if p in LEGAL]
ILLEGAL_PAIRS = [p for p in ALL_PAIRS if p not in LEGAL]


def pair_id(pair: tuple[TicketState, TicketAction]) -> str:
    return f"{pair[0].value}-{pair[1].value}"


@pytest.mark.parametrize("pair", LEGAL_PAIRS, ids=pair_id)
def test_legal_action_leads_to_the_designed_state(
    pair: tuple[TicketState, TicketAction],
) -> None:
    state, action = pair
    assert tk.next_state(state, action) is LEGAL[pair]
    assert PRESS[action](ticket(state), at(20)).state is LEGAL[pair]


@pytest.mark.parametrize("pair", ILLEGAL_PAIRS, ids=pair_id)
def test_illegal_action_is_refused_with_a_chinese_sentence(
    pair: tuple[TicketState, TicketAction],
) -> None:
    state, action = pair
    for attempt in (
        lambda: tk.next_state(state, action),
        lambda: PRESS[action](ticket(state), at(20)),
    ):
        with pytest.raises(IllegalTransition) as refused:
            attempt()
        message = refused.value.message
        assert refused.value.code == "illegal_transition"
        assert message.startswith(f"号票{STATE_ZH[state]}，不能{ACTION_ZH[action]}")
        assert CJK.search(message)


ALLOWED = {
    S.WAITING: {A.CALL, A.CANCEL, A.EXPIRE},
    S.CALLED: {A.RECALL, A.START, A.FINISH, A.NO_SHOW, A.TRANSFER, A.CANCEL, A.EXPIRE},
    S.SERVING: {A.FINISH, A.TRANSFER, A.HOLD, A.EXPIRE},
    S.HELD: {A.RETURN, A.CANCEL, A.EXPIRE},
    S.NO_SHOW: {A.REQUEUE, A.CANCEL},
    S.DONE: set(),
    S.CANCELLED: set(),
    S.EXPIRED: set(),
}


@pytest.mark.parametrize("state", list(S), ids=str)
def test_allowed_actions_are_the_buttons_staff_may_press(state: TicketState) -> None:
    assert tk.allowed_actions(state) == ALLOWED[state]


@pytest.mark.parametrize(
    ("state", "is_open"),
    [
        (S.WAITING, True),
        (S.CALLED, True),
        (S.SERVING, True),
        (S.HELD, True),
        (S.NO_SHOW, False),
        (S.DONE, False),
        (S.CANCELLED, False),
        (S.EXPIRED, False),
    ],
    ids=str,
)
def test_open_tickets_are_those_still_in_the_hall(state: TicketState, is_open: bool) -> None:
    assert ticket(state).is_open is is_open


# ---------------------------------------------------------------------------------------
# Whole lives: (minute, step) scripts from issue (minute 0) to the end of the visit.

Step = tuple[float, Callable[[Ticket, datetime], Ticket]]


def call(window: int) -> Callable[[Ticket, datetime], Ticket]:
    return lambda t, now: tk.call(t, window, now)


def recall(t: Ticket, now: datetime) -> Ticket:
    return tk.recall(t, now, max_recalls=3)


def finish(t: Ticket, now: datetime) -> Ticket:
    return tk.finish(t, now, finish_from_called=False)


def finish_from_call(t: Ticket, now: datetime) -> Ticket:
    return tk.finish(t, now, finish_from_called=True)


def requeue(t: Ticket, now: datetime) -> Ticket:
    return tk.requeue(t, now, queued_at=now, return_limit_min=30)


def transfer_to(service: str | None = None, window: int | None = None) -> Callable[..., Ticket]:
    return lambda t, now: tk.transfer(t, now, service=service, window=window)


def live(steps: list[Step]) -> Ticket:
    t = ticket()
    for minute, step in steps:
        t = step(t, at(minute))
    return t


LIVES: list[Any] = [
    pytest.param(
        [(10, call(3)), (12, tk.start), (20, finish)],
        dict(state=S.DONE, wait_s=600, handle_s=480, call_count=1),
        id="call-start-finish",
    ),
    pytest.param(
        [(10, call(3)), (25, finish_from_call)],
        dict(state=S.DONE, wait_s=600, handle_s=900, call_count=1, started_at=at(10)),
        id="finish-straight-from-call-counts-from-the-call",
    ),
    pytest.param(
        [(10, call(3)), (11, recall), (12, recall), (13, tk.start), (20, finish)],
        dict(state=S.DONE, wait_s=600, handle_s=420, call_count=3, called_at=at(12)),
        id="recalled-twice-then-served",
    ),
    pytest.param(
        [(10, call(3)), (12, tk.start), (15, tk.hold), (40, tk.return_from_hold),
         (41, call(3)), (42, tk.start), (50, finish)],
        dict(state=S.DONE, wait_s=600, handle_s=(3 + 8) * 60, call_count=2, hold_count=1),
        id="hold-time-is-not-handling-time",
    ),
    pytest.param(
        [(10, call(3)), (12, tk.start), (15, tk.hold), (40, tk.return_from_hold),
         (41, call(3)), (42, tk.start), (44, tk.hold), (60, tk.return_from_hold),
         (61, call(3)), (62, finish_from_call)],
        dict(state=S.DONE, handle_s=(3 + 2 + 1) * 60, call_count=3, hold_count=2),
        id="two-holds-three-segments",
    ),
    pytest.param(
        [(10, call(3)), (12, tk.start), (17, transfer_to(service="B")), (30, call(5)),
         (31, tk.start), (40, finish)],
        dict(state=S.DONE, service="B", number="A012", wait_s=600, handle_s=(5 + 9) * 60,
             transfer_count=1, call_count=2, window=5),
        id="transferred-to-another-service",
    ),
    pytest.param(
        [(10, call(3)), (11, recall), (12, tk.no_show), (20, requeue), (30, call(3)),
         (31, tk.start), (35, finish)],
        dict(state=S.DONE, wait_s=600, first_called_at=at(10), handle_s=240, call_count=3,
             no_show_count=1),
        id="no-show-returns-and-is-served",
    ),
    pytest.param(
        [(5, tk.cancel)],
        dict(state=S.CANCELLED, wait_s=None, handle_s=0, call_count=0, ended_at=at(5)),
        id="cancelled-while-waiting",
    ),
    pytest.param(
        [(10, call(3)), (12, tk.start), (20, tk.expire)],
        dict(state=S.EXPIRED, handle_s=480, ended_at=at(20), finished_at=None),
        id="expired-while-serving-keeps-the-served-time",
    ),
    pytest.param(
        [(10, call(3)), (12, tk.start), (15, tk.hold), (60, tk.expire)],
        dict(state=S.EXPIRED, handle_s=180, ended_at=at(60)),
        id="expired-while-held",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("steps", "expected"), LIVES)
def test_whole_life_records_the_right_times(steps: list[Step], expected: dict[str, Any]) -> None:
    t = live(steps)
    assert {k: getattr(t, k) for k in expected} == expected


def test_first_call_is_stamped_once_and_wait_is_issue_to_first_call() -> None:
    t = tk.call(ticket(), 3, at(10))
    assert (t.first_called_at, t.called_at, t.wait_s, t.window) == (at(10), at(10), 600, 3)
    t = tk.recall(t, at(11), max_recalls=3)
    t = tk.no_show(t, at(12))
    t = tk.requeue(t, at(20), queued_at=at(20), return_limit_min=30)
    t = tk.call(t, 4, at(45))
    assert (t.first_called_at, t.called_at, t.wait_s, t.window) == (at(10), at(45), 600, 4)
    assert t.call_count == 3


@pytest.mark.parametrize("max_recalls", [1, 2, 3])
def test_recall_is_refused_after_max_recalls(max_recalls: int) -> None:
    t = tk.call(ticket(), 3, at(10))
    for n in range(max_recalls):
        t = tk.recall(t, at(11 + n), max_recalls=max_recalls)
    assert t.call_count == 1 + max_recalls
    assert t.called_at == at(10 + max_recalls)
    with pytest.raises(IllegalTransition, match="请按过号处理"):
        tk.recall(t, at(30), max_recalls=max_recalls)


def test_recall_without_a_limit_never_refuses() -> None:
    t = tk.call(ticket(), 3, at(10))
    for n in range(20):
        t = tk.recall(t, at(11 + n), max_recalls=0)
    assert t.call_count == 21


@pytest.mark.parametrize(
    "back_in_queue",
    [
        pytest.param(lambda t, now: requeue(tk.no_show(t, now), now), id="after-no-show"),
        pytest.param(lambda t, now: tk.transfer(t, now, window=5), id="after-transfer"),
    ],
)
def test_each_new_call_gets_its_own_recalls(
    back_in_queue: Callable[[Ticket, datetime], Ticket],
) -> None:
    t = tk.call(ticket(), 3, at(10))
    t = tk.recall(t, at(11), max_recalls=2)
    t = tk.recall(t, at(12), max_recalls=2)
    t = back_in_queue(t, at(13))
    t = tk.call(t, 5, at(20))
    t = tk.recall(t, at(21), max_recalls=2)  # the first recall at the new call
    assert t.call_count == 5


def test_finish_straight_from_call_is_refused_where_staff_must_press_start() -> None:
    called = tk.call(ticket(), 3, at(10))
    with pytest.raises(IllegalTransition, match="请先开始办理 A012 再办结"):
        tk.finish(called, at(20), finish_from_called=False)


def test_hold_keeps_the_window_and_return_reserves_it() -> None:
    held = tk.hold(tk.start(tk.call(ticket(), 3, at(10)), at(12)), at(15))
    assert (held.state, held.window, held.hold_count, held.handle_s) == (S.HELD, 3, 1, 180)
    back = tk.return_from_hold(held, at(40))
    assert (back.state, back.target_window, back.window, back.queued_at) == (
        S.WAITING,
        3,
        None,
        at(40),
    )
    with pytest.raises(IllegalTransition, match="只能由3号窗口呼叫"):
        tk.call(back, 4, at(41))
    again = tk.call(back, 3, at(41))
    assert (again.window, again.target_window) == (3, None)


@pytest.mark.parametrize(
    ("service", "window", "expected_service", "expected_target"),
    [
        ("B", None, "B", None),
        (None, 5, "A", 5),
        ("B", 5, "B", 5),
    ],
    ids=["to-service", "to-window", "to-service-at-window"],
)
@pytest.mark.parametrize("from_state", [S.CALLED, S.SERVING], ids=str)
def test_transfer_keeps_the_number_and_waits_again(
    from_state: TicketState,
    service: str | None,
    window: int | None,
    expected_service: str,
    expected_target: int | None,
) -> None:
    moved = tk.transfer(ticket(from_state), at(20), service=service, window=window)
    assert moved.number == "A012"
    assert moved.state is S.WAITING
    assert (moved.service, moved.target_window, moved.window) == (
        expected_service,
        expected_target,
        None,
    )
    assert moved.queued_at == at(20)
    assert moved.transfer_count == 1
    assert moved.issued_at == T0


def test_transfers_are_counted() -> None:
    t = tk.call(ticket(), 3, at(10))
    t = tk.transfer(t, at(11), service="B")
    t = tk.call(t, 4, at(12))
    t = tk.transfer(t, at(13), window=6)
    assert t.transfer_count == 2
    with pytest.raises(IllegalTransition, match="只能由6号窗口呼叫"):
        tk.call(t, 4, at(14))


def test_transfer_needs_a_service_or_a_window() -> None:
    with pytest.raises(InvalidInput, match="转移需要指定事项或窗口"):
        tk.transfer(ticket(S.SERVING), at(20))


@pytest.mark.parametrize(
    ("missed_min_ago", "return_limit_min", "accepted"),
    [
        (5, 30, True),
        (30, 30, True),
        (31, 30, False),
        (240, 30, False),
        (240, 0, True),  # 0: the hall sets no limit
    ],
    ids=["5min-of-30", "exactly-30-of-30", "31min-of-30", "4h-of-30", "4h-no-limit"],
)
def test_no_show_may_requeue_within_the_return_limit(
    missed_min_ago: int, return_limit_min: int, accepted: bool
) -> None:
    missed = tk.no_show(tk.call(ticket(), 3, at(10)), at(15))
    assert (missed.state, missed.no_show_count, missed.ended_at) == (S.NO_SHOW, 1, at(15))
    now = at(15 + missed_min_ago)
    if accepted:
        back = tk.requeue(missed, now, queued_at=at(3), return_limit_min=return_limit_min)
        assert (back.state, back.queued_at, back.window, back.ended_at) == (
            S.WAITING,
            at(3),
            None,
            None,
        )
        assert back.number == "A012"
    else:
        with pytest.raises(
            IllegalTransition, match=f"过号已超过{return_limit_min}分钟，请重新取号"
        ):
            tk.requeue(missed, now, queued_at=now, return_limit_min=return_limit_min)


@pytest.mark.parametrize("state", [S.WAITING, S.CALLED, S.HELD, S.NO_SHOW], ids=str)
def test_cancel_ends_the_visit(state: TicketState) -> None:
    gone = tk.cancel(ticket(state), at(30))
    assert (gone.state, gone.ended_at, gone.window, gone.is_open) == (
        S.CANCELLED,
        at(30),
        None,
        False,
    )


@pytest.mark.parametrize(
    ("state", "handle_s"),
    [(S.WAITING, 0), (S.CALLED, 0), (S.SERVING, (30 - 12) * 60), (S.HELD, 0)],
    ids=str,
)
def test_end_of_day_expires_every_open_ticket(state: TicketState, handle_s: float) -> None:
    gone = tk.expire(ticket(state), at(30))
    assert (gone.state, gone.ended_at, gone.handle_s, gone.is_open) == (
        S.EXPIRED,
        at(30),
        handle_s,
        False,
    )


@pytest.mark.parametrize("state", [S.DONE, S.CANCELLED, S.EXPIRED], ids=str)
def test_end_of_day_never_touches_an_ended_ticket(state: TicketState) -> None:
    with pytest.raises(IllegalTransition, match=f"号票{STATE_ZH[state]}，不能过期"):
        tk.expire(ticket(state), at(30))


@pytest.mark.parametrize("window", [1, 4, 12])
def test_a_targeted_ticket_cannot_be_called_by_another_window(window: int) -> None:
    reserved = ticket(S.WAITING, target_window=3)
    with pytest.raises(IllegalTransition, match="A012 只能由3号窗口呼叫"):
        tk.call(reserved, window, at(10))
    assert tk.call(reserved, 3, at(10)).state is S.CALLED
