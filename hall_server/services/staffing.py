"""Staffing advice (排班建议): how many windows each service group needs, hour by hour.

A service group is the services' ``category`` (社保医保, 公安服务 …): halls staff by
category — a category's services sit in one zone and share its windows — and a group's
windows are those whose main (highest-weight) service is one of its services (综合窗口
that serve every service are the hall's reserve and not counted). The advice for a day
comes from the records of the same weekday in the weeks before it: arrivals per service
and hour, mean time at a window per service (过号 included: staff wait for them), and —
where visitors are recorded leaving the queue (取消 before a call) — their patience. The
fewest windows that call ``sla_share`` of visitors within the group's target wait is
Erlang C's answer, or Erlang A's where such walk-aways are measured.
``hall_server/simulation/staffing.py`` checks a plan by simulating it through the services.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import erlang
from ..domain.numbering import business_day, minute_of_day
from ..domain.tickets import TicketState
from ..models import Counter as CounterRow
from ..models import Device
from ..models import Ticket as TicketRow
from ..models import Window as WindowRow
from .context import HallContext, Layout, ServiceInfo

DEFAULT_SHARE = 0.8  # [hall.alarms] sla_share
DEFAULT_RECENT_MIN = 45  # [hall.alarms] sla_recent_min
MIN_WALKAWAYS = 5  # fewer who left the queue than this: patience unknown, Erlang C


def sla_share(layout: Layout) -> float:
    return float(layout.alarms.get("sla_share") or DEFAULT_SHARE)


def groups_of(layout: Layout) -> dict[str, list[str]]:
    """Service codes by group (category), in the hall's order."""
    groups: dict[str, list[str]] = {}
    for code, service in layout.services.items():
        groups.setdefault(service.category or service.code, []).append(code)
    return groups


def group_windows(layout: Layout, codes: list[str]) -> list[int]:
    """The group's own windows, strongest first: not general, their main service in the group.

    A window's main service is the one it weighs most (ties: the first listed); a window
    that also serves another group's service with a lower weight is still this group's.
    """
    own = []
    for w in layout.windows.values():
        if w.general or not w.weights:
            continue
        main = max(w.weights, key=lambda code: w.weights[code])
        if main in codes:
            own.append(w)
    own.sort(key=lambda w: (-sum(w.weights[c] for c in codes if c in w.weights), w.number))
    return [w.number for w in own]


def target_min(layout: Layout, codes: list[str]) -> int:
    """A group's target wait: the strictest ``sla_wait_min`` of its services."""
    return min(layout.services[c].sla_wait_min for c in codes)


# ---------------------------------------------------------------- the records


@dataclass
class History:
    """What the records of the same weekday say, per service (code)."""

    days: list[date]  # the business days that had tickets
    weeks: int
    arrivals: dict[str, dict[int, int]] = field(default_factory=dict)  # service -> hour -> count
    handle_s: dict[str, list[float]] = field(default_factory=dict)  # finished visits
    waits_s: dict[str, list[float]] = field(default_factory=dict)  # waits until first call
    no_shows: dict[str, int] = field(default_factory=dict)  # 过号: called, nobody came
    walkaways: dict[str, int] = field(default_factory=dict)  # cancelled before any call
    no_show_s: dict[str, list[float]] = field(default_factory=dict)  # call -> 过号 pressed
    priority: int = 0
    transferred: int = 0
    tickets: int = 0

    def per_hour(self, code: str, hour: int) -> float:
        """Mean arrivals per hour of a service at a local hour, over the days with records."""
        return self.arrivals.get(code, {}).get(hour, 0) / len(self.days) if self.days else 0.0

    def rate_while_open(self, service: ServiceInfo, weekday: int, hour: int) -> float:
        """Arrivals per hour while the service takes tickets in that hour (13:30-14:00: ×2)."""
        return self.per_hour(service.code, hour) / open_share(service, weekday, hour)

    def mean_handle_s(self, code: str, prior_s: float) -> float:
        """Mean handling of a service's finished visits (the prior when there are none)."""
        values = self.handle_s.get(code, [])
        return sum(values) / len(values) if values else prior_s

    def mean_window_s(self, code: str, prior_s: float) -> float:
        """Mean time a call of the service holds a window: visits and 过号 waits alike."""
        visits, waits = self.handle_s.get(code, []), self.no_show_s.get(code, [])
        if not visits:
            return prior_s
        return (sum(visits) + sum(waits)) / (len(visits) + len(waits))

    def no_show_share(self) -> float:
        return sum(self.no_shows.values()) / self.tickets if self.tickets else 0.0

    def mean_no_show_s(self, default_s: float = 120.0) -> float:
        waits = [w for values in self.no_show_s.values() for w in values]
        return sum(waits) / len(waits) if waits else default_s

    def handle_cv(self, code: str) -> float:
        values = self.handle_s.get(code, [])
        if len(values) < 10:
            return 1.0
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
        return math.sqrt(var) / mean if mean > 0 else 1.0


def open_share(service: ServiceInfo, weekday: int, hour: int) -> float:
    """The share of a local hour in which a service takes tickets (1 when its hours say none:
    tickets staff issued out of hours count over the whole hour)."""
    start = hour * 60
    minutes = 0
    for opens, closes in service.hours.on(weekday):
        a, b = minute_of_day(opens), minute_of_day(closes)
        minutes += max(0, min(b, start + 60) - max(a, start))
    return minutes / 60 if minutes else 1.0


def history_days(day: date, weeks: int) -> list[date]:
    """The same weekday in each of the ``weeks`` weeks before ``day``."""
    return [day - timedelta(weeks=k) for k in range(1, weeks + 1)]


def read_history(ctx: HallContext, day: date, weeks: int = 4) -> History:
    """Read the tickets of the same weekday in the ``weeks`` weeks before ``day``."""
    layout = ctx.layout
    wanted = history_days(day, weeks)
    history = History(days=[], weeks=weeks)
    seen: set[date] = set()
    with ctx.db.read() as session:
        rows = session.execute(
            select(
                TicketRow.service_id, TicketRow.business_day, TicketRow.issued_at,
                TicketRow.state, TicketRow.called_at, TicketRow.ended_at, TicketRow.wait_s,
                TicketRow.handle_s, TicketRow.priority, TicketRow.transfer_count,
                TicketRow.queued_at, TicketRow.first_called_at,
            ).where(TicketRow.hall_id == ctx.hall_id, TicketRow.business_day.in_(wanted))
        )  # fmt: skip
        for (service_id, bday, issued, state, called, ended, wait_s, handle_s, prio, moved,
             queued, first_called) in rows:  # fmt: skip
            service = layout.services_by_id.get(service_id)
            if service is None:
                continue
            code = service.code
            seen.add(bday)
            history.tickets += 1
            history.priority += bool(prio)
            history.transferred += moved > 0
            hour = layout.local(_aware(issued)).hour
            by_hour = history.arrivals.setdefault(code, {})
            by_hour[hour] = by_hour.get(hour, 0) + 1
            if wait_s is not None:
                history.waits_s.setdefault(code, []).append(wait_s)
            if state == TicketState.CANCELLED.value and first_called is None and ended:
                # Left the queue before being called: its time there counts as waiting.
                history.walkaways[code] = history.walkaways.get(code, 0) + 1
                waited = (_aware(ended) - _aware(queued)).total_seconds()
                history.waits_s.setdefault(code, []).append(waited)
            elif state == TicketState.DONE.value and handle_s:
                history.handle_s.setdefault(code, []).append(handle_s)
            elif state == TicketState.NO_SHOW.value:
                history.no_shows[code] = history.no_shows.get(code, 0) + 1
                if called is not None and ended is not None:
                    at_window = (_aware(ended) - _aware(called)).total_seconds()
                    history.no_show_s.setdefault(code, []).append(at_window)
    history.days = sorted(seen)
    return history


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------- Erlang's advice


@dataclass
class Cell:
    """One group in one hour of the plan."""

    group: str
    hour: int
    arrivals_per_h: float
    handle_s: float
    target_min: int
    model: str  # "erlang_c" | "erlang_a"
    windows: int  # advised
    share: float  # Erlang's predicted share called within the target
    wait_mean_s: float  # Erlang's predicted mean wait
    available: int  # the group's own windows in the hall
    sim_share: float | None = None  # the simulated check
    sim_wait_mean_s: float | None = None
    sim_visitors: int = 0
    added: int = 0  # windows added because the simulation missed the target

    def json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "hour": self.hour,
            "arrivals_per_h": round(self.arrivals_per_h, 2),
            "handle_mean_s": round(self.handle_s, 1),
            "target_min": self.target_min,
            "model": self.model,
            "windows": self.windows,
            "erlang_share": round(self.share, 3),
            "erlang_wait_mean_s": None if math.isinf(self.wait_mean_s)
            else round(self.wait_mean_s, 1),
            "windows_available": self.available,
            "short": max(0, self.windows - self.available),
            "sim_share": None if self.sim_share is None else round(self.sim_share, 3),
            "sim_wait_mean_s": None if self.sim_wait_mean_s is None
            else round(self.sim_wait_mean_s, 1),
            "sim_visitors": self.sim_visitors,
            "added_after_simulation": self.added,
        }  # fmt: skip


@dataclass
class Plan:
    """Advice for one day: a cell per group and hour with arrivals."""

    day: date
    weeks: int
    share: float
    history_days: list[date]
    patience_s: dict[str, float]  # group -> estimated mean patience (Erlang A groups)
    cells: list[Cell]
    checked_days: int = 0
    notes: list[str] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "weeks": self.weeks,
            "sla_share": self.share,
            "history_days": [d.isoformat() for d in self.history_days],
            "patience_s": {g: round(p, 1) for g, p in self.patience_s.items()},
            "simulated_days": self.checked_days,
            "notes": self.notes,
            "cells": [c.json() for c in self.cells],
        }


def fewest_windows_a(
    load: float, handle_s: float, patience_s: float, target_s: float, share: float
) -> int:
    """The fewest windows whose Erlang A share called within ``target_s`` reaches ``share``.

    The share grows with the windows: a bisection from Erlang C's answer (enough whenever
    nobody leaves) keeps it to a few Erlang A evaluations at a city hall's loads.
    """
    if load <= 0:
        return 0

    def enough(windows: int) -> bool:
        a = erlang.erlang_a(windows, load, handle_s, patience_s, target_s)
        return a.service_level >= share

    high = erlang.fewest_windows(load, handle_s, target_s, share)
    while not enough(high):  # those who leave count as not called: C may fall short
        high += 1
        if high > 10 * (load + 10):
            raise ValueError("no number of windows meets the target")
    low = 0  # not enough (0 windows call nobody)
    while high - low > 1:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle
    return high


def predict(
    windows: int, load: float, handle_s: float, target_s: float, patience_s: float | None
) -> tuple[float, float]:
    """Erlang's share called within ``target_s`` and mean wait with ``windows`` open."""
    if patience_s is not None and windows > 0:
        a = erlang.erlang_a(windows, load, handle_s, patience_s, target_s)
        return a.service_level, a.mean_wait_s
    return (
        erlang.service_level(windows, load, handle_s, target_s),
        erlang.mean_wait_s(windows, load, handle_s),
    )


def patience_of(history: History, codes: list[str]) -> float | None:
    """A group's mean patience: visitors who left the queue over the time visitors waited.

    In M/M/c+M each waiting visitor leaves at rate θ, so θ is estimated by the number who
    left over the total time visitors spent waiting (the maximum-likelihood estimator for
    exponential patience). Who left: tickets cancelled before any call (取消 on the phone
    page or at the desk). A 过号 (no-show) is not counted: the ticket keeps its place until
    it is called and then holds the window while staff wait, so it shortens nobody's wait —
    it is a short visit, and its time at the window is in the handling mean. None when
    fewer than MIN_WALKAWAYS left: Erlang C.
    """
    left = sum(history.walkaways.get(c, 0) for c in codes)
    waited = sum(sum(history.waits_s.get(c, [])) for c in codes)
    if left < MIN_WALKAWAYS or waited <= 0:
        return None
    return waited / left


def erlang_plan(layout: Layout, history: History, day: date, share: float | None = None) -> Plan:
    """Erlang's advice per group and hour from ``history`` (no simulation)."""
    share = sla_share(layout) if share is None else share
    cells: list[Cell] = []
    patience: dict[str, float] = {}
    for group, codes in groups_of(layout).items():
        p = patience_of(history, codes)
        if p is not None:
            patience[group] = p
        target = target_min(layout, codes)
        available = len(group_windows(layout, codes))
        hours = sorted({h for c in codes for h in history.arrivals.get(c, {})})
        for hour in hours:
            weekday = day.isoweekday()
            rates = {c: history.rate_while_open(layout.services[c], weekday, hour) for c in codes}
            lam_h = sum(rates.values())
            if lam_h <= 0:
                continue
            handle = (
                sum(
                    r * history.mean_window_s(c, layout.services[c].avg_handle_s)
                    for c, r in rates.items()
                )
                / lam_h
            )
            load = lam_h / 3600 * handle
            if p is not None:
                windows = fewest_windows_a(load, handle, p, target * 60, share)
            else:
                windows = erlang.fewest_windows(load, handle, target * 60, share)
            predicted, wait = predict(windows, load, handle, target * 60, p)
            cells.append(Cell(group, hour, lam_h, handle, target,
                              "erlang_a" if p is not None else "erlang_c", windows, predicted,
                              wait, available))  # fmt: skip
    return Plan(day, history.weeks, share, history.days, patience, cells)


def repredict(cell: Cell, patience_s: float | None) -> None:
    """Erlang's figures again after the advised windows changed."""
    load = cell.arrivals_per_h / 3600 * cell.handle_s
    cell.share, cell.wait_mean_s = predict(
        cell.windows, load, cell.handle_s, cell.target_min * 60, patience_s
    )


# ---------------------------------------------------------------- the live alarm


@dataclass(frozen=True, slots=True)
class GroupLoad:
    group: str
    open_windows: int
    arrivals_per_h: float
    handle_s: float
    target_min: int
    waiting: int  # the group's queue now
    # The later of: Erlang C's wait within which ``share`` of arrivals are called, and the
    # time the windows open now need for the visitors already waiting.
    predicted_wait_s: float
    share_within: float


def live_group_loads(
    session: Session, layout: Layout, hall_id: int, now: datetime
) -> list[GroupLoad]:
    """Each group with its own windows: windows open now, arrivals of the last minutes."""
    recent_min = float(layout.alarms.get("sla_recent_min") or DEFAULT_RECENT_MIN)
    share = sla_share(layout)
    since = now - timedelta(minutes=recent_min)
    counts: dict[int, int] = defaultdict(int)
    # By the kiosk index (hall, kiosk, issued_at): a range per kiosk (and one for tickets
    # issued by staff, kiosk NULL) reads only the recent tickets; by the day index, every
    # ticket of the day was read (14 ms of each check at 10,000 tickets a day).
    # Grouped by ``service_id + 0``: by the bare column, SQLite walks the hall's every ticket
    # of every day through the (hall, service, day, number) index to skip a sort.
    kiosks = list(session.scalars(select(Device.id).where(Device.hall_id == hall_id)))
    service = (TicketRow.service_id + 0).label("service")
    for issuer in (TicketRow.kiosk_id.is_(None), TicketRow.kiosk_id.in_(kiosks)):
        for service_id, count in session.execute(
            select(service, func.count())
            .where(TicketRow.hall_id == hall_id, issuer, TicketRow.issued_at >= since)
            .group_by(service)
        ):
            counts[service_id] += count
    open_numbers = set(
        session.scalars(
            select(WindowRow.number).where(
                WindowRow.hall_id == hall_id, WindowRow.active, WindowRow.state == "open"
            )
        )
    )
    # The queue now: each service's waiting count of the day, kept on its counter row.
    waiting: dict[int, int] = {
        service_id: count
        for service_id, count in session.execute(
            select(CounterRow.service_id, CounterRow.waiting).where(
                CounterRow.hall_id == hall_id,
                CounterRow.business_day == business_day(now, layout.tz),
            )
        )
    }
    loads: list[GroupLoad] = []
    for group, codes in groups_of(layout).items():
        own = group_windows(layout, codes)
        c_open = len(open_numbers.intersection(own))
        if c_open == 0:
            continue  # none open yet: "another window" means nothing; long waits still alarm
        per_h = {c: counts.get(layout.services[c].id, 0) * 60 / recent_min for c in codes}
        queued = {c: max(0, waiting.get(layout.services[c].id, 0)) for c in codes}
        lam_h, in_queue = sum(per_h.values()), sum(queued.values())
        if lam_h <= 0 and in_queue == 0:
            continue
        weights = per_h if lam_h > 0 else queued
        handle = sum(w * layout.services[c].avg_handle_s for c, w in weights.items()) / sum(
            weights.values()
        )
        load = lam_h / 3600 * handle
        target_s = target_min(layout, codes) * 60
        steady = erlang.wait_quantile_s(c_open, load, handle, share) if lam_h > 0 else 0.0
        backlog = in_queue * handle / c_open  # the visitors already waiting, served first
        loads.append(GroupLoad(
            group, c_open, lam_h, handle, target_min(layout, codes), in_queue,
            max(steady, backlog), erlang.service_level(c_open, load, handle, target_s),
        ))  # fmt: skip
    return loads


def open_window_causes(
    session: Session,
    layout: Layout,
    hall_id: int,
    now: datetime,
    add: Callable[[str, str, str | None, str, str], None],
    kind: str,
) -> None:
    """Add an "open another window" cause for each group whose predicted wait breaks the SLA.

    Yellow when, with the group's own windows open now, Erlang C at the arrival rate of the
    last ``sla_recent_min`` minutes predicts fewer than ``sla_share`` called within the
    target, or the visitors already waiting would take longer than the target to serve
    (waiting × handling / windows); red when the predicted wait is twice the target or the
    windows cannot keep up at all.
    """
    for g in live_group_loads(session, layout, hall_id, now):
        target_s = g.target_min * 60
        if g.predicted_wait_s <= target_s:
            continue
        level = "red" if g.predicted_wait_s >= 2 * target_s else "yellow"
        if math.isinf(g.predicted_wait_s):
            zh_wait, en_wait = "将持续增长", "keeps growing"
        else:
            minutes = round(g.predicted_wait_s / 60)
            zh_wait, en_wait = f"约{minutes}分钟", f"{minutes} min"
        add(
            kind,
            f"group:{g.group}"[:64],
            level,
            f"请为{g.group}加开窗口：预计等候{zh_wait}，超过{g.target_min}分钟目标",
            f"open another window for {g.group}: predicted wait {en_wait} over the "
            f"{g.target_min}-min target",
        )
