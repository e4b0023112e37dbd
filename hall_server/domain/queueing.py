"""The call-next policy: which waiting ticket a window calls next.

A pure function of (window, its skills, waiting tickets, policy, now). In order:
1. tickets targeted to this window (transfer, hold return);
2. checked-in appointments inside their slot;
3. green-channel priority, with a swap ratio (after N priority calls in a row, one normal);
4. the window's weight for the service plus aging (a ticket waiting long climbs);
5. earliest in the queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Reason(StrEnum):
    """Why a ticket was chosen (kept in the hall log for audit and tuning)."""

    TARGETED = "targeted"
    APPOINTMENT = "appointment"
    PRIORITY = "priority"
    WEIGHTED = "weighted"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A waiting ticket as call-next sees it."""

    id: int
    service: str
    queued_at: datetime
    priority: bool = False
    target_window: int | None = None
    slot_start: datetime | None = None  # checked-in appointment's slot
    slot_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """A hall's call-next settings."""

    priority_swap_ratio: int = 3  # 0: priority always first
    aging_min: int = 20  # 0: no aging
    appointment_early_min: int = 30


@dataclass(frozen=True, slots=True)
class Decision:
    """The ticket to call (None: nobody waits for this window) and the window's new streak."""

    ticket: Candidate | None
    reason: Reason | None
    priority_streak: int


def eligible(
    window: int, weights: Mapping[str, int], waiting: Iterable[Candidate]
) -> list[Candidate]:
    """Keep the waiting tickets this window may call."""
    return [
        c
        for c in waiting
        if c.target_window == window or (c.target_window is None and c.service in weights)
    ]


def _in_slot(c: Candidate, policy: CallPolicy, now: datetime) -> bool:
    if c.slot_start is None or c.slot_end is None:
        return False
    return c.slot_start - timedelta(minutes=policy.appointment_early_min) <= now <= c.slot_end


def _effective_weight(
    c: Candidate, weights: Mapping[str, int], policy: CallPolicy, now: datetime
) -> int:
    weight = weights.get(c.service, 1)
    if policy.aging_min > 0:
        waited_min = (now - c.queued_at).total_seconds() / 60
        weight += max(0, int(waited_min // policy.aging_min))
    return weight


def call_next(
    window: int,
    weights: Mapping[str, int],
    waiting: Sequence[Candidate],
    policy: CallPolicy,
    now: datetime,
    priority_streak: int = 0,
) -> Decision:
    """Choose the next ticket for ``window`` whose service weights are ``weights``."""
    fifo = sorted(eligible(window, weights, waiting), key=lambda c: (c.queued_at, c.id))
    if not fifo:
        return Decision(None, None, priority_streak)

    targeted = [c for c in fifo if c.target_window == window]
    if targeted:
        return Decision(targeted[0], Reason.TARGETED, priority_streak)

    in_slot = [c for c in fifo if _in_slot(c, policy, now)]
    if in_slot:
        first = min(in_slot, key=lambda c: (c.slot_start, c.queued_at, c.id))
        return Decision(first, Reason.APPOINTMENT, priority_streak)

    def best(pool: list[Candidate]) -> Candidate:
        # max weight; among equals the earliest (pool is in FIFO order, max keeps the first)
        return max(pool, key=lambda c: _effective_weight(c, weights, policy, now))

    priority = [c for c in fifo if c.priority]
    normal = [c for c in fifo if not c.priority]
    swap_due = policy.priority_swap_ratio > 0 and priority_streak >= policy.priority_swap_ratio
    if priority and not (swap_due and normal):
        return Decision(best(priority), Reason.PRIORITY, priority_streak + 1)
    return Decision(best(normal), Reason.WEIGHTED, 0)


def requeue_position(
    mode: str, issued_at: datetime, now: datetime, waiting: Sequence[datetime], after_n: int
) -> datetime:
    """Return the queue time for a returning no-show: ``end``, ``front`` or ``after_n``."""
    if mode == "front" or (mode == "after_n" and after_n <= 0):
        return issued_at
    if mode == "after_n":
        ahead = sorted(waiting)
        if len(ahead) > after_n:
            return ahead[after_n - 1] + timedelta(microseconds=1)
    return now


def people_ahead(ticket: Candidate, waiting: Sequence[Candidate]) -> int:
    """Count the waiting tickets of the same service queued before ``ticket``."""
    return sum(
        1
        for c in waiting
        if c.service == ticket.service
        and c.id != ticket.id
        and (c.queued_at, c.id) < (ticket.queued_at, ticket.id)
    )


def eta_seconds(ahead: int, windows_serving: int, avg_handle_s: float) -> int | None:
    """Estimate the wait: people ahead shared by the open windows, times the mean handling."""
    if windows_serving <= 0:
        return None
    return round(ahead * avg_handle_s / windows_serving)
