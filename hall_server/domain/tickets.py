"""Ticket life: states, the legal transitions, and the times they stamp.

Every transition of DESIGN.md's ticket life is one entry of ``TRANSITIONS``; ``apply``
is the only way a ticket changes, so timestamps and durations are always consistent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from .errors import IllegalTransition, InvalidInput


class TicketState(StrEnum):
    """Where a ticket is in its life."""

    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    HELD = "held"
    NO_SHOW = "no_show"
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class TicketAction(StrEnum):
    """What can happen to a ticket."""

    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no-show"
    REQUEUE = "requeue"
    TRANSFER = "transfer"
    HOLD = "hold"
    RETURN = "return"
    CANCEL = "cancel"
    EXPIRE = "expire"


S = TicketState
A = TicketAction

QUEUED = frozenset({S.WAITING})
AT_WINDOW = frozenset({S.CALLED, S.SERVING})
OPEN = frozenset({S.WAITING, S.CALLED, S.SERVING, S.HELD})  # expired at the end of the day
ENDED = frozenset({S.DONE, S.CANCELLED, S.EXPIRED})

TRANSITIONS: dict[tuple[TicketState, TicketAction], TicketState] = {
    (S.WAITING, A.CALL): S.CALLED,
    (S.CALLED, A.RECALL): S.CALLED,
    (S.CALLED, A.START): S.SERVING,
    (S.CALLED, A.FINISH): S.DONE,  # only when the hall finishes straight from a call
    (S.SERVING, A.FINISH): S.DONE,
    (S.CALLED, A.NO_SHOW): S.NO_SHOW,
    (S.NO_SHOW, A.REQUEUE): S.WAITING,
    (S.CALLED, A.TRANSFER): S.WAITING,
    (S.SERVING, A.TRANSFER): S.WAITING,
    (S.SERVING, A.HOLD): S.HELD,
    (S.HELD, A.RETURN): S.WAITING,
    (S.WAITING, A.CANCEL): S.CANCELLED,
    (S.CALLED, A.CANCEL): S.CANCELLED,
    (S.HELD, A.CANCEL): S.CANCELLED,
    (S.NO_SHOW, A.CANCEL): S.CANCELLED,
    **{(state, A.EXPIRE): S.EXPIRED for state in OPEN},
}

STATE_NAMES_ZH = {
    S.WAITING: "等候中",
    S.CALLED: "已叫号",
    S.SERVING: "办理中",
    S.HELD: "挂起补件",
    S.NO_SHOW: "已过号",
    S.DONE: "已办结",
    S.CANCELLED: "已取消",
    S.EXPIRED: "已过期",
}
ACTION_NAMES_ZH = {
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
# The same in plain English for messages (never the internal names such as "no_show").
STATE_NAMES_EN = {
    S.WAITING: "waiting",
    S.CALLED: "already called",
    S.SERVING: "being served",
    S.HELD: "on hold for documents",
    S.NO_SHOW: "marked absent",
    S.DONE: "finished",
    S.CANCELLED: "cancelled",
    S.EXPIRED: "expired",
}
ACTION_NAMES_EN = {
    A.CALL: "called",
    A.RECALL: "called again",
    A.START: "started",
    A.FINISH: "finished",
    A.NO_SHOW: "marked absent",
    A.REQUEUE: "put back in the queue",
    A.TRANSFER: "transferred",
    A.HOLD: "put on hold",
    A.RETURN: "brought back",
    A.CANCEL: "cancelled",
    A.EXPIRE: "expired",
}


@dataclass(frozen=True, slots=True)
class Ticket:
    """The facts of one ticket that the rules read and write."""

    number: str
    service: str
    state: TicketState
    issued_at: datetime
    queued_at: datetime  # its place in the queue: issue time, or later after requeue/transfer
    priority: bool = False
    window: int | None = None  # the window it is called to, served at, or held for
    target_window: int | None = None  # only this window may call it (transfer, hold return)
    first_called_at: datetime | None = None
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    ended_at: datetime | None = None  # finished, cancelled, expired or marked no-show
    call_count: int = 0  # every call and recall in the ticket's life
    recalls: int = 0  # recalls since the last fresh call (the limit applies per call)
    hold_count: int = 0
    transfer_count: int = 0
    no_show_count: int = 0
    wait_s: float | None = None  # issue -> first call
    handle_s: float = 0.0  # time spent serving, all segments added up

    @property
    def is_open(self) -> bool:
        """Tell whether the visit is still going on (expired at day end)."""
        return self.state in OPEN


def next_state(state: TicketState, action: TicketAction) -> TicketState:
    """Return the state ``action`` leads to from ``state``, or raise IllegalTransition."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(
            f"号票{STATE_NAMES_ZH[state]}，不能{ACTION_NAMES_ZH[action]}"
            f" (a ticket that is {STATE_NAMES_EN[state]} cannot be {ACTION_NAMES_EN[action]})."
        ) from None


def allowed_actions(state: TicketState) -> frozenset[TicketAction]:
    """List the actions legal from ``state``."""
    return frozenset(a for (s, a) in TRANSITIONS if s is state)


def _served_segment(t: Ticket, now: datetime) -> float:
    """Seconds of the serving segment that ends now (0 when not serving)."""
    if t.state is S.SERVING and t.started_at is not None:
        return max(0.0, (now - t.started_at).total_seconds())
    return 0.0


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def call(t: Ticket, window: int, now: datetime) -> Ticket:
    """Call a waiting ticket to ``window``."""
    if t.target_window is not None and t.target_window != window:
        raise IllegalTransition(
            f"{t.number} 只能由{t.target_window}号窗口呼叫 "
            f"(it is reserved for window {t.target_window})."
        )
    state = next_state(t.state, A.CALL)
    first = t.first_called_at or now
    return replace(
        t,
        state=state,
        window=window,
        target_window=None,
        called_at=now,
        first_called_at=first,
        call_count=t.call_count + 1,
        recalls=0,
        wait_s=t.wait_s if t.wait_s is not None else _seconds(t.issued_at, now),
    )


def recall(t: Ticket, now: datetime, *, max_recalls: int) -> Ticket:
    """Announce a called ticket again."""
    state = next_state(t.state, A.RECALL)
    if max_recalls and t.recalls >= max_recalls:
        raise IllegalTransition(
            f"{t.number} 已呼叫{t.recalls + 1}次，请按过号处理 "
            f"(called {t.recalls + 1} times already: mark it no-show)."
        )
    return replace(
        t, state=state, called_at=now, call_count=t.call_count + 1, recalls=t.recalls + 1
    )


def start(t: Ticket, now: datetime) -> Ticket:
    """Begin serving a called ticket."""
    return replace(t, state=next_state(t.state, A.START), started_at=now)


def finish(t: Ticket, now: datetime, *, finish_from_called: bool) -> Ticket:
    """Finish serving; from CALLED only where the hall allows an implicit start."""
    if t.state is S.CALLED and not finish_from_called:
        raise IllegalTransition(
            f"请先开始办理 {t.number} 再办结 (start serving {t.number} before finishing it)."
        )
    state = next_state(t.state, A.FINISH)
    if t.state is S.CALLED:  # implicit start at the call
        started = t.called_at or now
        segment = _seconds(started, now)
    else:
        started = t.started_at or now
        segment = _served_segment(t, now)
    return replace(
        t,
        state=state,
        started_at=started,
        finished_at=now,
        ended_at=now,
        handle_s=t.handle_s + segment,
    )


def no_show(t: Ticket, now: datetime) -> Ticket:
    """Mark a called visitor as not having come (过号)."""
    return replace(
        t,
        state=next_state(t.state, A.NO_SHOW),
        no_show_count=t.no_show_count + 1,
        ended_at=now,
    )


def requeue(t: Ticket, now: datetime, *, queued_at: datetime, return_limit_min: int) -> Ticket:
    """Put a returning no-show back in the queue at ``queued_at`` (see requeue_position)."""
    state = next_state(t.state, A.REQUEUE)
    if (
        t.ended_at is not None
        and return_limit_min
        and _seconds(t.ended_at, now) > return_limit_min * 60
    ):
        raise IllegalTransition(
            f"{t.number} 过号已超过{return_limit_min}分钟，请重新取号 "
            f"(missed more than {return_limit_min} minutes ago: take a new ticket)."
        )
    return replace(t, state=state, window=None, queued_at=queued_at, ended_at=None)


def transfer(
    t: Ticket, now: datetime, *, service: str | None = None, window: int | None = None
) -> Ticket:
    """Send the ticket to another service or window; it keeps its number and waits again."""
    if service is None and window is None:
        raise InvalidInput("转移需要指定事项或窗口 (name a service or a window to transfer to).")
    state = next_state(t.state, A.TRANSFER)
    return replace(
        t,
        state=state,
        service=service or t.service,
        window=None,
        target_window=window,
        queued_at=now,
        transfer_count=t.transfer_count + 1,
        handle_s=t.handle_s + _served_segment(t, now),
    )


def hold(t: Ticket, now: datetime) -> Ticket:
    """Pause serving while the visitor fetches material (挂起/补件)."""
    return replace(
        t,
        state=next_state(t.state, A.HOLD),
        hold_count=t.hold_count + 1,
        handle_s=t.handle_s + _served_segment(t, now),
    )


def return_from_hold(t: Ticket, now: datetime) -> Ticket:
    """The visitor is back: the ticket waits again, reserved for the same window."""
    return replace(
        t,
        state=next_state(t.state, A.RETURN),
        target_window=t.window,
        window=None,
        queued_at=now,
    )


def cancel(t: Ticket, now: datetime) -> Ticket:
    """Cancel the visit (by the visitor or staff)."""
    return replace(t, state=next_state(t.state, A.CANCEL), ended_at=now, window=None)


def expire(t: Ticket, now: datetime) -> Ticket:
    """End an open ticket at the end of the business day."""
    return replace(
        t,
        state=next_state(t.state, A.EXPIRE),
        ended_at=now,
        handle_s=t.handle_s + _served_segment(t, now),
    )
