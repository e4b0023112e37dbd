"""Position and ETA of tickets from the live hall (the replay is domain/forecast.py).

This module reads what the forecast needs, cheaply:

- **Handling times learned per service** (``HandlingBook``, ``estimate``): the configured
  mean (``avg_handle_min``) is the prior of the past ``HISTORY_DAYS`` days' mean (the
  reports' ``daily_stats`` rows, or the finished tickets where reports were not built), and
  that the prior of today's finished visits (call to finish, each clipped at ``CLIP`` × the
  configured mean so one visit left open over lunch cannot drag it), each step empirical
  Bayes that believes a distance only beyond three standard errors (``_shrink``), or with
  three past days their day-to-day drift (``_today_from_days``); the estimate's own
  uncertainty is kept for the range. Per hour of the day from the past days' visits, when
  the hours differ beyond their noise (``hourly``). The estimates are cached per hall and
  refreshed by the clock when visits finished (the day counters, which every finish already
  updates) — never a scan per request.
- **Pauses learned** (``PauseBook``): their length and rate from the hall log's window
  events, read past the last seq read; **arrivals** of newcomers who may go first: the last
  hour's, with the past days' rate for the hour as the prior.
- **The hall now**: the windows (state, priority streak, the visitor at each and how long
  the visit has lasted, a paused window's expected resume, a closed window's opening time
  from the hours of what it serves when none that serve the service is open), and the
  waiting tickets — at most ``QUEUE_READ`` per service and pool, read from the queue heads'
  index, so the cost stays bounded at any queue length; a ticket further back gets the
  forecast of the last one read plus the rest at the service's rate.

Answers are cached per hall seq (the phone page, the services list and the TV read the same
state many times between two changes).
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    case,
    false,
    func,
    literal_column,
    select,
    text,
    true,
    union_all,
)

from ..db import Prepared
from ..domain.forecast import (
    HIGH_Q,
    LOW_Q,
    Eta,
    Handling,
    PauseRisk,
    WindowNow,
    forecast,
    gamma_quantile,
)
from ..domain.numbering import business_day, ends_past_closing
from ..domain.queueing import Candidate
from ..models import Appointment, DailyStat, Hall, LogEvent
from ..models import Counter as CounterRow
from ..models import Ticket as TicketRow
from ..models import Window as WindowRow
from .context import HallContext, Layout, ServiceInfo
from .ticket_rows import RowReader

PRIOR_VISITS = 10  # the exponential's spread (cv² = 1) counts as this many visits
MIN_VISITS = 3  # fewer finished visits than this: the configured mean as it is
FLOOR = 0.02  # the configured mean is never trusted closer than 2 %
EVIDENCE = 9.0  # (three standard errors)²: what moves the estimate off its prior
PRIOR_SD = 0.15  # before any visit, the configured mean is taken as right within ±15 % (1 SD)
HISTORY_DAYS = 28
CLIP = 8.0  # a visit counts at most CLIP × the configured mean
REFRESH_S = 60.0  # hall seconds between two refreshes of today's figures
REFRESH_EARLY_S = 15.0  # the same while the day has fewer than 50 finished visits
EXPECTED_PAUSE_S = 15 * 60  # a pause (暂停) is expected to last this long, before any is recorded
PRIOR_PAUSES = 3  # the prior pause length counts as this many recorded pauses
PAUSES_KEPT = 500  # recorded pause lengths kept (the latest)
QUEUE_READ = 100  # waiting tickets read per service and pool (and the replay's bound)
NEW_TICKET_ID = 2**62  # a hypothetical new ticket: after every real one queued as early

_t = cast(Table, TicketRow.__table__).c
_w = cast(Table, WindowRow.__table__).c
_a = cast(Table, Appointment.__table__).c
_c = cast(Table, CounterRow.__table__).c


# ---------------------------------------------------------------- handling times


@dataclass
class _Figures:
    count: int = 0
    total: float = 0.0
    squares: float = 0.0
    days: list[tuple[int, float]] = field(default_factory=list)  # (visits, mean) per past day

    def add_day(self, count: int, total: float, squares: float) -> None:
        if count > 0:
            self.count += count
            self.total += total
            self.squares += squares
            self.days.append((count, total / count))


_LOG = cast(Table, LogEvent.__table__).c
_WINDOW_LOG_COLUMNS = [_LOG.seq, _LOG.type, _LOG.window_no, _LOG.at]
_WINDOW_LOG_ROWS = RowReader(_WINDOW_LOG_COLUMNS)
_WINDOW_LOG = Prepared(
    select(*_WINDOW_LOG_COLUMNS)
    .where(
        _LOG.hall_id == bindparam("b_hall"),
        _LOG.seq > bindparam("b_seq"),
        _LOG.at >= bindparam("b_since"),
        _LOG.type.in_([literal_column("'window.opened'"), literal_column("'window.paused'"),
                       literal_column("'window.resumed'"), literal_column("'window.closed'")]),
    )
    .order_by(_LOG.seq)
)  # fmt: skip


_SEQ_AT_ROWS = RowReader([_LOG.at])
_SEQ_AT = Prepared(
    select(_LOG.at).where(_LOG.hall_id == bindparam("b_hall"), _LOG.seq == bindparam("b_seq"))
)


def _first_seq_since(connection: Connection, hall_id: int, since: datetime) -> int:
    """The first seq of the hall log at or after ``since``: a binary search on the log's own
    (hall, seq) index — its seqs have no gaps and its times never go back — instead of a
    walk through every entry."""
    found = _SEQ.run(connection, {"b_hall": hall_id}).fetchall()
    low, high = 1, (int(found[0][0] or 0) if found else 0) + 1
    while low < high:
        middle = (low + high) // 2
        rows = _SEQ_AT_ROWS(connection, _SEQ_AT.run(connection, {"b_hall": hall_id,
                                                                 "b_seq": middle}))  # fmt: skip
        if rows and rows[0].at is not None and rows[0].at < since:
            low = middle + 1
        else:
            high = middle
    return low


@dataclass
class PauseBook:
    """The hall's recorded pauses (暂停): how often an open window pauses and for how long.

    Read from the hall log's window events, the past ``HISTORY_DAYS`` days once, then only
    what is new (by seq, on the log's own index) at each refresh of the handling book.
    """

    seq: int = 0
    open_s: float = 0.0  # window time open and not paused
    lengths: list[float] = field(default_factory=list)  # finished pauses, seconds
    state: dict[int, tuple[str, datetime]] = field(default_factory=dict)  # per window

    def read(self, connection: Connection, hall_id: int, now: datetime) -> None:
        since = now - timedelta(days=HISTORY_DAYS)
        if self.seq == 0:  # the first read: start at the log's first entry since then
            self.seq = _first_seq_since(connection, hall_id, since) - 1
        cursor = _WINDOW_LOG.run(connection, {"b_hall": hall_id, "b_seq": self.seq,
                                              "b_since": since})  # fmt: skip
        for row in _WINDOW_LOG_ROWS(connection, cursor):
            seq, kind, number, at = row.seq, row.type, row.window_no, row.at
            self.seq = max(self.seq, int(seq))
            if number is None:
                continue
            before = self.state.get(number)
            if before is not None:
                gone = (at - before[1]).total_seconds()
                if before[0] == "open" and 0 < gone < 86_400:
                    self.open_s += gone
                elif before[0] == "paused" and kind == "window.resumed" and 0 < gone < 86_400:
                    self.lengths.append(gone)
            state = {"window.opened": "open", "window.resumed": "open",
                     "window.paused": "paused"}.get(kind, "closed")  # fmt: skip
            self.state[number] = (state, at)
        del self.lengths[:-PAUSES_KEPT]
        # the next read starts after everything logged so far (not after the last window
        # event: the issues and calls since would be walked again at every refresh)
        found = _SEQ.run(connection, {"b_hall": hall_id}).fetchall()
        self.seq = max(self.seq, int(found[0][0] or 0) if found else 0)

    def mean_s(self) -> float:
        """A pause's expected length: the recorded ones, with the prior as a few of them."""
        n = len(self.lengths)
        return (PRIOR_PAUSES * EXPECTED_PAUSE_S + sum(self.lengths)) / (PRIOR_PAUSES + n)

    def remaining_s(self, elapsed_s: float) -> float:
        """How much longer a pause that has lasted ``elapsed_s`` is expected to go on: the
        recorded pauses that lasted longer (at least ``PRIOR_PAUSES`` of them), else the
        mean length less the time gone; a minute at least."""
        longer = [x - elapsed_s for x in self.lengths if x > elapsed_s]
        if len(longer) >= PRIOR_PAUSES:
            return max(sum(longer) / len(longer), 60.0)
        return max(self.mean_s() - elapsed_s, 60.0)

    def risk(self) -> PauseRisk | None:
        """Pauses per second an open window is open, and their mean length (none recorded:
        no risk assumed)."""
        if not self.lengths or self.open_s < 3600:
            return None
        return PauseRisk(len(self.lengths) / self.open_s, self.mean_s())


@dataclass
class HandlingBook:
    """Per-service handling estimates of one hall, refreshed as visits finish."""

    day: Any = None
    served: int = -1
    refreshed_at: datetime | None = None
    history: dict[int, _Figures] = field(default_factory=dict)
    today: dict[int, _Figures] = field(default_factory=dict)
    hours_history: dict[tuple[int, int], _Figures] = field(default_factory=dict)
    estimates: dict[str, Handling] = field(default_factory=dict)
    by_hour: dict[int, dict[str, Handling]] = field(default_factory=dict)  # per local hour
    rates: dict[tuple[str, bool], float] = field(default_factory=dict)  # per s, last hour
    arrivals: dict[tuple[str, bool, int], float] = field(default_factory=dict)  # past, per hour
    pauses: PauseBook = field(default_factory=lambda: PauseBook())
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(
        self, ctx: HallContext, connection: Connection, now: datetime, served: int
    ) -> dict[str, Handling]:
        """The estimates now (for this hour of the day), refreshed first when visits finished
        since the last refresh.

        ``served``: the day's finished count (the day counters), the refresh's trigger.
        """
        layout = ctx.layout
        day = business_day(now, layout.tz)
        with self.lock:
            if day != self.day:
                self.day, self.served, self.refreshed_at = day, -1, None
                self.history = _history(connection, ctx.hall_id, day, layout)
                self.hours_history = _hours(connection, ctx.hall_id, day, layout, now, past=True)
                self.arrivals = _arrival_history(connection, ctx.hall_id, day, layout, now)
                self.today = {}
            every = REFRESH_S if served >= 50 else REFRESH_EARLY_S
            stale = served != self.served and (
                self.refreshed_at is None or (now - self.refreshed_at).total_seconds() >= every
            )
            if stale or not self.estimates or layout_changed(self.estimates, layout):
                self.today = _today(connection, ctx.hall_id, day, layout)
                self.rates = _arrival_rates(
                    connection, ctx.hall_id, day, layout, now, self.arrivals
                )
                self.pauses.read(connection, ctx.hall_id, now)
                self.served, self.refreshed_at = served, now
                self.estimates = estimate(layout, self.history, self.today)
                self.by_hour = {}
            hour = now.astimezone(layout.tz).hour
            found = self.by_hour.get(hour)
            if found is None:
                found = self.by_hour[hour] = hourly(
                    layout, self.estimates, hour, self.hours_history
                )
            return found


def _hours(
    connection: Connection, hall_id: int, day: Any, layout: Layout, now: datetime, *, past: bool
) -> dict[tuple[int, int], _Figures]:
    """Finished visits per (service, local hour of the call): the past ``HISTORY_DAYS`` days'
    (``past``) or today's. Hours are read in UTC and moved by the hall's offset now."""
    if not layout.services:
        return {}
    if past:
        params = {"b_hall": hall_id, "b_from": day - timedelta(days=HISTORY_DAYS),
                  "b_to": day - timedelta(days=1)}  # fmt: skip
    else:
        params = {"b_hall": hall_id, "b_from": day, "b_to": day}
    offset = now.astimezone(layout.tz).utcoffset() or timedelta(0)
    shift = int(offset.total_seconds() // 3600)
    found: dict[tuple[int, int], _Figures] = {}
    statement = _hours_statement(layout, connection.dialect.name)
    for sid, utc_hour, n, total, squares in statement.run(connection, params):
        if utc_hour is None:
            continue
        key = (int(sid), (int(utc_hour) + shift) % 24)
        found.setdefault(key, _Figures()).add_day(int(n), float(total or 0), float(squares or 0))
    return found


def hourly(
    layout: Layout,
    estimates: dict[str, Handling],
    hour: int,
    past: dict[tuple[int, int], _Figures],
) -> dict[str, Handling]:
    """Each service's handling in this hour of the day: the past days' visits called in this
    hour (not today's: an hour still going has finished only its shorter visits), shrunk
    towards the service's estimate for the whole day by how much the hours really differ —
    empirical Bayes across the hours (James–Stein): the variance of the hours' means less
    their own noise. Hours that differ only by noise all keep the day's estimate (a test of
    the hours' heterogeneity decides first); a real morning-to-afternoon difference shows
    across many hours at once, not by one hour's chance."""
    out: dict[str, Handling] = {}
    for code, day_estimate in estimates.items():
        out[code] = day_estimate
        service = layout.services.get(code)
        if service is None:
            continue
        hours: dict[int, _Figures] = {}
        for (sid, h), figures in past.items():
            if sid == service.id:
                hours[h] = figures
        seen = {h: f for h, f in hours.items() if f.count >= MIN_VISITS}
        mine = seen.get(hour)
        if mine is None or len(seen) < 3:
            continue
        centre = day_estimate.mean_s
        cv2 = max(day_estimate.cv2, 0.09)
        means = {h: f.total / f.count for h, f in seen.items()}
        noise = {h: cv2 * means[h] ** 2 / f.count for h, f in seen.items()}
        # Do the hours differ beyond their noise at all? Cochran's Q, χ² with H − 1 degrees
        # of freedom when they do not: believed beyond three of its standard deviations
        # (the hours are looked at all day long).
        q = sum((means[h] - centre) ** 2 / noise[h] for h in means)
        df = len(means) - 1
        if q <= df + 3 * math.sqrt(2 * df):
            continue
        spread = sum((m - centre) ** 2 for m in means.values()) / df
        tau2 = max(spread - sum(noise.values()) / len(noise), 0.0)
        if tau2 <= 0:
            continue
        weight = tau2 / (tau2 + noise[hour])
        mean = centre + weight * (means[hour] - centre)
        var = tau2 * noise[hour] / (tau2 + noise[hour])
        out[code] = Handling(mean, day_estimate.cv2, var / (mean * mean))
    return out


def layout_changed(estimates: dict[str, Handling], layout: Layout) -> bool:
    return set(estimates) != set(layout.services)


def _history(connection: Connection, hall_id: int, day: Any, layout: Layout) -> dict[int, _Figures]:
    """Past days' handled count and time per service, day by day: the reports' daily rows, or
    where the reports were not built (a new hall, the simulator), the finished tickets
    themselves — read once a day."""
    rows = connection.execute(
        select(DailyStat.key, DailyStat.business_day, func.sum(DailyStat.handled),
               func.sum(DailyStat.handle_sum_ms))
        .where(
            DailyStat.hall_id == hall_id,
            DailyStat.dim == "service",
            DailyStat.business_day < day,
            DailyStat.business_day >= day - timedelta(days=HISTORY_DAYS),
        )
        .group_by(DailyStat.key, DailyStat.business_day)
    )  # fmt: skip
    found: dict[int, _Figures] = {}
    for key, _day, handled, total_ms in rows:
        if str(key).isdigit() and handled:
            found.setdefault(int(key), _Figures()).add_day(
                int(handled), float(total_ms or 0) / 1000, 0.0
            )
    if found or not layout.services:
        return found
    params = {"b_hall": hall_id, "b_from": day - timedelta(days=HISTORY_DAYS),
              "b_to": day - timedelta(days=1)}  # fmt: skip
    for sid, _day, n, total, squares in _today_statement(layout).run(connection, params):
        found.setdefault(int(sid), _Figures()).add_day(
            int(n), float(total or 0), float(squares or 0)
        )
    return found


def _drift(past: _Figures, cv2: float) -> float | None:
    """How much the mean handling varies from day to day beyond each day's own noise: the
    variance of the past days' means less their mean sampling variance (at least 3 days)."""
    if len(past.days) < 3:
        return None
    means = [m for _, m in past.days]
    centre = sum(means) / len(means)
    between = sum((m - centre) ** 2 for m in means) / (len(means) - 1)
    noise = sum(cv2 * m * m / n for n, m in past.days) / len(past.days)
    return max(between - noise, 0.0)


def _caps(layout: Layout) -> tuple[tuple[int, float], ...]:
    """Per service, the longest a visit counts (CLIP × its configured mean, at least 1 min)."""
    return tuple(sorted((s.id, CLIP * max(s.avg_handle_s, 60.0)) for s in layout.services.values()))


def _clipped_handle(caps: tuple[tuple[int, float], ...]) -> Any:
    """A ticket's handling time, clipped at its service's cap (SQL)."""
    cap = case(
        {sid: literal_column(repr(float(v))) for sid, v in caps},
        value=_t.service_id,
        else_=literal_column("3600.0"),
    )
    return case((_t.handle_s > cap, cap), else_=_t.handle_s)


_today_statements: dict[tuple[tuple[int, float], ...], Prepared] = {}


def _today_statement(layout: Layout) -> Prepared:
    key = _caps(layout)
    found = _today_statements.get(key)
    if found is not None:
        return found
    clipped = _clipped_handle(key)
    statement = (
        select(_t.service_id, _t.business_day, func.count(), func.sum(clipped),
               func.sum(clipped * clipped))
        .where(
            _t.hall_id == bindparam("b_hall"),
            _t.business_day >= bindparam("b_from"),
            _t.business_day <= bindparam("b_to"),
            _t.state == literal_column("'done'"),
            _t.handle_s > 0,
        )
        .group_by(_t.service_id, _t.business_day)
    )  # fmt: skip
    prepared = _today_statements[key] = Prepared(statement)
    return prepared


_hours_statements: dict[tuple[str, tuple[tuple[int, float], ...]], Prepared] = {}


def _hours_statement(layout: Layout, dialect: str) -> Prepared:
    """Finished visits per service and UTC hour of the call, clipped as ``_today_statement``."""
    key = (dialect, _caps(layout))
    found = _hours_statements.get(key)
    if found is not None:
        return found
    clipped = _clipped_handle(key[1])
    hour: Any
    if dialect == "sqlite":
        hour = literal_column("CAST(strftime('%H', tickets.called_at) AS INTEGER)")
    else:
        hour = literal_column(
            "CAST(EXTRACT(HOUR FROM tickets.called_at AT TIME ZONE 'UTC') AS INTEGER)"
        )
    statement = (
        select(_t.service_id, hour, func.count(), func.sum(clipped), func.sum(clipped * clipped))
        .where(
            _t.hall_id == bindparam("b_hall"),
            _t.business_day >= bindparam("b_from"),
            _t.business_day <= bindparam("b_to"),
            _t.state == literal_column("'done'"),
            _t.handle_s > 0,
            _t.called_at.is_not(None),
        )
        .group_by(_t.service_id, hour)
    )
    prepared = _hours_statements[key] = Prepared(statement)
    return prepared


def _today(connection: Connection, hall_id: int, day: Any, layout: Layout) -> dict[int, _Figures]:
    """Today's finished visits per service: count, clipped sum and sum of squares."""
    if not layout.services:
        return {}
    params = {"b_hall": hall_id, "b_from": day, "b_to": day}
    rows = _today_statement(layout).run(connection, params).fetchall()
    return {
        int(sid): _Figures(int(n), float(total or 0), float(squares or 0))
        for sid, _day, n, total, squares in rows
    }


_GREEN_COLUMNS = [
    _t.service_id,
    func.count().label("issued"),
    func.sum(case((_t.priority == true(), 1), else_=0)).label("green"),
    func.min(_t.issued_at).label("first"),
]
_GREEN_ROWS = RowReader(_GREEN_COLUMNS)
_GREEN = Prepared(
    select(*_GREEN_COLUMNS)
    .where(
        _t.hall_id == bindparam("b_hall"),
        _t.business_day == bindparam("b_day"),
        _t.issued_at >= bindparam("b_since"),
    )
    .group_by(_t.service_id)
)
GREEN_WINDOW_S = 3600.0  # green-channel arrivals are counted over the last hour


ARRIVALS_PRIOR_S = 1800.0  # the past days' rate for this hour counts as half an hour seen


def _arrival_rates(
    connection: Connection,
    hall_id: int,
    day: Any,
    layout: Layout,
    now: datetime,
    past: dict[tuple[str, bool, int], float] | None = None,
) -> dict[tuple[str, bool], float]:
    """Tickets per second per (service, green channel or appointment): the last hour's, with
    the past days' rate for this hour of the day (``past``) as the prior worth
    ``ARRIVALS_PRIOR_S`` of watching — so at opening time, before anyone came today, the
    newcomers who will go first are still expected."""
    since = now - timedelta(seconds=GREEN_WINDOW_S)
    rows = _GREEN_ROWS(
        connection, _GREEN.run(connection, {"b_hall": hall_id, "b_day": day, "b_since": since})
    )
    hour = now.astimezone(layout.tz).hour
    rates: dict[tuple[str, bool], float] = {}
    seen: dict[tuple[str, bool], int] = {}
    span = 0.0
    if rows:
        first = min(r.first for r in rows)
        span = min(max((now - first).total_seconds(), 0.0), GREEN_WINDOW_S)
    for r in rows:
        if r.service_id in layout.services_by_id:
            code = layout.services_by_id[r.service_id].code
            green = int(r.green or 0)
            seen[(code, True)] = green
            seen[(code, False)] = int(r.issued or 0) - green
    for code in layout.services:
        for green in (True, False):
            count = seen.get((code, green), 0)
            prior = (past or {}).get((code, green, hour))
            if prior is not None:
                rates[(code, green)] = (prior * ARRIVALS_PRIOR_S + count) / (
                    ARRIVALS_PRIOR_S + span
                )
            elif (code, green) in seen:
                rates[(code, green)] = count / max(span, 600.0)
    return rates


_ARRIVAL_DAYS = Prepared(
    select(func.count(func.distinct(_t.business_day))).where(
        _t.hall_id == bindparam("b_hall"),
        _t.business_day >= bindparam("b_from"),
        _t.business_day <= bindparam("b_to"),
    )
)
_arrival_statements: dict[str, Prepared] = {}


def _arrival_history(
    connection: Connection, hall_id: int, day: Any, layout: Layout, now: datetime
) -> dict[tuple[str, bool, int], float]:
    """Past days' tickets per second per (service, green channel, local hour of the issue),
    averaged over the days the hall issued any — read once a day."""
    dialect = connection.dialect.name
    statement = _arrival_statements.get(dialect)
    if statement is None:
        hour: Any = (
            literal_column("CAST(strftime('%H', tickets.issued_at) AS INTEGER)")
            if dialect == "sqlite"
            else literal_column(
                "CAST(EXTRACT(HOUR FROM tickets.issued_at AT TIME ZONE 'UTC') AS INTEGER)"
            )
        )
        statement = _arrival_statements[dialect] = Prepared(
            select(_t.service_id, _t.priority, hour, func.count())
            .where(
                _t.hall_id == bindparam("b_hall"),
                _t.business_day >= bindparam("b_from"),
                _t.business_day <= bindparam("b_to"),
            )
            .group_by(_t.service_id, _t.priority, hour)
        )
    params = {"b_hall": hall_id, "b_from": day - timedelta(days=HISTORY_DAYS),
              "b_to": day - timedelta(days=1)}  # fmt: skip
    counted = _ARRIVAL_DAYS.run(connection, params).fetchall()
    days = int(counted[0][0] or 0) if counted else 0
    if days == 0:
        return {}
    offset = now.astimezone(layout.tz).utcoffset() or timedelta(0)
    shift = int(offset.total_seconds() // 3600)
    found: dict[tuple[str, bool, int], float] = {}
    for sid, priority, utc_hour, n in statement.run(connection, params):
        service = layout.services_by_id.get(sid)
        if service is None or utc_hour is None:
            continue
        key = (service.code, bool(priority), (int(utc_hour) + shift) % 24)
        found[key] = found.get(key, 0.0) + int(n) / days / 3600.0
    return found


def _shrink(
    prior: float, prior_var: float, count: float, mean: float, cv2: float
) -> tuple[float, float]:
    """Empirical Bayes: move from ``prior`` towards an observed ``mean`` of ``count`` visits as
    far as the distance between them exceeds the observed mean's own noise. Returns the
    estimate and its variance (the posterior's: τ²·SE²/(τ² + SE²); ``prior_var`` when there
    are too few visits to learn from)."""
    if count < MIN_VISITS:
        return prior, prior_var
    se2 = max(cv2, 0.09) * mean * mean / count
    d = mean - prior
    # the observed mean is taken as a sign that the prior is off only beyond three of its
    # standard errors (else the distance is the observed mean's noise, and the prior stays)
    tau2 = max(d * d - se2 if d * d > EVIDENCE * se2 else 0.0, (FLOOR * prior) ** 2)
    return prior + tau2 / (tau2 + se2) * d, tau2 * se2 / (tau2 + se2)


def estimate(
    layout: Layout, history: dict[int, _Figures], today: dict[int, _Figures]
) -> dict[str, Handling]:
    """Each service's mean handling, in two steps of empirical Bayes (``_shrink``).

    The configured mean is the prior of the past days' mean, and what that gives is the
    prior of today's: the configured error is estimated as τ² = max(d² − SE², (FLOOR·prior)²)
    from the distance d between the observed and the prior mean, and the estimate moves
    τ²/(τ² + SE²) of d. A right prior stays (a day's noise does not move it); one 40 % off is
    left within a few dozen visits; fewer than ``MIN_VISITS`` visits keep the prior. The
    estimate's own uncertainty (its relative variance, ``Handling.mean_rv``) widens the ETA's
    range: ``PRIOR_SD`` of the configured mean before any visit, the posterior's after.
    """
    out: dict[str, Handling] = {}
    for service in layout.services.values():
        prior = max(service.avg_handle_s, 1.0)
        prior_var = (PRIOR_SD * prior) ** 2
        cv2 = 1.0
        past = history.get(service.id)
        if past is not None and past.count:
            past_mean = past.total / past.count
            if past.squares > 0 and past.count >= 2:
                var = max(past.squares / past.count - past_mean * past_mean, 0.0)
                cv2 = (PRIOR_VISITS + past.count * var / past_mean**2) / (PRIOR_VISITS + past.count)
            prior, prior_var = _shrink(prior, prior_var, float(past.count), past_mean, cv2)
        seen = today.get(service.id)
        mean, mean_var = prior, prior_var
        if seen is not None and seen.count:
            today_mean = seen.total / seen.count
            if seen.count >= 2:
                var = max(seen.squares / seen.count - today_mean * today_mean, 0.0)
                seen_cv2 = var / (today_mean * today_mean) if today_mean > 0 else 1.0
                # spread: shrunk towards the past days' (or the exponential's 1)
                cv2 = (PRIOR_VISITS * cv2 + seen.count * seen_cv2) / (PRIOR_VISITS + seen.count)
            drift = _drift(past, cv2) if past is not None else None
            if drift is None:
                mean, mean_var = _shrink(prior, prior_var, float(seen.count), today_mean, cv2)
            else:
                mean, mean_var = _today_from_days(prior, prior_var + drift, seen.count,
                                                  today_mean, cv2)  # fmt: skip
        visits = (past.count if past is not None else 0) + (seen.count if seen is not None else 0)
        cv2 = towards_exponential(cv2, visits)
        out[service.code] = Handling(mean_s=mean, cv2=cv2, mean_rv=mean_var / (mean * mean))
    return out


def _today_from_days(
    prior: float, prior_var: float, count: int, mean: float, cv2: float
) -> tuple[float, float]:
    """Today's mean with past days to say how far a day strays: the prior's variance is the
    past estimate's plus the day-to-day drift (``_drift``), not guessed from today's one
    distance — unless today is off by more than three of its standard errors (a change the
    past days never showed: a new procedure), which is then believed as ``_shrink`` does."""
    if count < MIN_VISITS:
        return prior, prior_var
    se2 = max(cv2, 0.09) * mean * mean / count
    d = mean - prior
    tau2 = max(prior_var, (FLOOR * prior) ** 2)
    if d * d > 9 * se2:
        tau2 = max(tau2, d * d - se2)
    return prior + tau2 / (tau2 + se2) * d, tau2 * se2 / (tau2 + se2)


def towards_exponential(cv2: float, visits: int) -> float:
    """The measured spread, kept at the exponential's cv² = 1 as far as it is noise.

    A sample's cv² is noisy (for exponential handling its standard error is about
    √(8 / n)): the distance from 1 is shrunk by its noise (positive-part James–Stein), so
    exponential handling is not mistaken for a log-normal one (whose residual and hazard
    differ) on the strength of a few hundred visits.
    """
    if visits <= 0:
        return 1.0
    d = cv2 - 1.0
    noise = 8.0 / visits
    if d * d <= noise:
        return 1.0
    return 1.0 + d * (1.0 - noise / (d * d))


_books: weakref.WeakKeyDictionary[HallContext, HandlingBook] = weakref.WeakKeyDictionary()
_books_lock = threading.Lock()


def handling_book(ctx: HallContext) -> HandlingBook:
    with _books_lock:
        book = _books.get(ctx)
        if book is None:
            book = _books[ctx] = HandlingBook()
        return book


# ---------------------------------------------------------------- the hall now


@dataclass
class HallNow:
    """What the replay starts from, read at one moment."""

    now: datetime
    windows: list[WindowNow]
    waiting: list[Candidate]
    handling: dict[str, Handling]
    truncated: set[tuple[str, bool]]  # (service, green channel) pools read only in part
    counts: dict[str, int]  # waiting per service (the day counters)
    rates: dict[tuple[str, bool], float] = field(default_factory=dict)  # arrivals per s
    until: dict[str, datetime] = field(default_factory=dict)  # when each stops issuing
    pauses: PauseRisk | None = None  # how often open windows pause, for how long


_WAITING_COLUMNS = [_t.id, _t.service_id, _t.queued_at, _t.priority, _t.target_window,
                    _a.slot_start, _a.slot_end]  # fmt: skip
_WAITING_ROWS = RowReader(_WAITING_COLUMNS)
_WINDOW_COLUMNS = [_w.number, _w.state, _w.state_since, _w.priority_streak]
_WINDOW_ROWS = RowReader(_WINDOW_COLUMNS)
_WINDOWS = Prepared(
    select(*_WINDOW_COLUMNS).where(_w.hall_id == bindparam("b_hall"), _w.active == true())
)
_BUSY_COLUMNS = [_t.window_no, _t.service_id, _t.called_at, _t.started_at]
_BUSY_ROWS = RowReader(_BUSY_COLUMNS)
_BUSY = Prepared(
    select(*_BUSY_COLUMNS).where(
        _t.hall_id == bindparam("b_hall"),
        _t.state.in_([literal_column("'called'"), literal_column("'serving'")]),
    )
)
_COUNTS = Prepared(
    select(_c.service_id, _c.waiting, _c.served).where(
        _c.hall_id == bindparam("b_hall"), _c.business_day == bindparam("b_day")
    )
)
_SEQ = Prepared(select(cast(Table, Hall.__table__).c.last_seq).where(
    cast(Table, Hall.__table__).c.id == bindparam("b_hall")))  # fmt: skip
_SQLITE_POOL = (
    "SELECT * FROM (SELECT tickets.id, tickets.service_id, tickets.queued_at, tickets.priority,"
    " tickets.target_window, appointments.slot_start, appointments.slot_end"
    " FROM tickets INDEXED BY {index}"
    " LEFT OUTER JOIN appointments ON appointments.id = tickets.appointment_id"
    " WHERE tickets.hall_id = :b_hall AND tickets.state = 'waiting' AND {where}"
    " ORDER BY tickets.queued_at, tickets.id LIMIT {limit})"
)
_waiting_statements: dict[tuple[str, tuple[int, ...]], Prepared] = {}


def _waiting_statement(layout: Layout, dialect: str, only: set[int] | None = None) -> Prepared:
    """The first QUEUE_READ waiting tickets of each service's two pools and the targeted ones:
    one UNION ALL of index walks, built once per layout (and set of services ``only``)."""
    ids = sorted(s.id for s in layout.services.values() if only is None or s.id in only)
    key = (dialect, tuple(ids))  # by content: simulated halls share ids and versions
    found = _waiting_statements.get(key)
    if found is not None:
        return found
    statement: Any
    if dialect == "sqlite":
        parts = [_SQLITE_POOL.format(index="ix_tickets_targeted", limit=QUEUE_READ,
                                     where="tickets.target_window IS NOT NULL")]  # fmt: skip
        for sid in ids:
            for priority in (1, 0):
                parts.append(_SQLITE_POOL.format(
                    index="ix_tickets_heads", limit=QUEUE_READ,
                    where=f"tickets.target_window IS NULL AND tickets.service_id = {int(sid)}"
                    f" AND tickets.priority = {priority}",
                ))  # fmt: skip
        statement = (
            text(" UNION ALL ".join(parts))
            .bindparams(bindparam("b_hall", type_=_t.hall_id.type))
            .columns(*_WAITING_COLUMNS)
        )
    else:
        base = (
            select(*_WAITING_COLUMNS)
            .select_from(_t.id.table.outerjoin(_a.id.table, _a.id == _t.appointment_id))
            .where(_t.hall_id == bindparam("b_hall"), _t.state == literal_column("'waiting'"))
        )
        pools = [base.where(_t.target_window.is_not(None))]
        for sid in ids:
            for flag in (true(), false()):
                pools.append(base.where(_t.target_window.is_(None),
                                        _t.service_id == literal_column(str(int(sid))),
                                        _t.priority == flag))  # fmt: skip
        statement = union_all(*[
            select(p.order_by(_t.queued_at, _t.id).limit(QUEUE_READ).subquery()) for p in pools
        ])  # fmt: skip
    prepared = _waiting_statements[key] = Prepared(statement)
    return prepared


_part_statements: dict[tuple[str, tuple[int, ...]], tuple[Prepared, Prepared]] = {}


def _part(layout: Layout, service: str) -> tuple[Prepared, Prepared]:
    """The windows whose calls can reach ``service``'s queue (those that serve it, and through
    the services they share, those that drain the same queues) and the visitors at them: two
    statements per set. In a hall of separate zones that is the zone's group, not the hall."""
    services, chosen = {service}, set()
    grew = True
    while grew:
        grew = False
        for n, info in layout.windows.items():
            if n not in chosen and services.intersection(info.weights):
                chosen.add(n)
                services.update(info.weights)
                grew = True
    numbers = tuple(sorted(chosen))
    key = (service, numbers)
    found = _part_statements.get(key)
    if found is not None:
        return found
    listed: list[Any] = [literal_column(str(int(n))) for n in numbers] or [literal_column("-1")]
    windows = Prepared(
        select(*_WINDOW_COLUMNS).where(
            _w.hall_id == bindparam("b_hall"), _w.active == true(), _w.number.in_(listed)
        )
    )
    busy = Prepared(
        select(*_BUSY_COLUMNS).where(
            _t.hall_id == bindparam("b_hall"),
            _t.window_no.in_(listed),
            _t.state.in_([literal_column("'called'"), literal_column("'serving'")]),
        )
    )
    made = _part_statements[key] = (windows, busy)
    return made


def read_hall(
    ctx: HallContext,
    connection: Connection,
    now: datetime,
    *,
    tickets: bool = True,
    for_service: str | None = None,
) -> HallNow:
    """Read the windows, the waiting tickets (bounded; none when not ``tickets``) and the
    handling estimates; with ``for_service``, only the windows that serve it and the queues of
    what those serve (an issue's lean read)."""
    layout = ctx.layout
    hall = {"b_hall": ctx.hall_id}
    day = business_day(now, layout.tz)
    count_rows = _COUNTS.run(connection, hall | {"b_day": day}).fetchall()
    served = sum(int(r[2] or 0) for r in count_rows)
    book = handling_book(ctx)
    handling = book.get(ctx, connection, now, served)
    window_statement, busy_statement = _WINDOWS, _BUSY
    if for_service is not None:
        window_statement, busy_statement = _part(layout, for_service)
    at_window: dict[int, tuple[str, float]] = {}
    for r in _BUSY_ROWS(connection, busy_statement.run(connection, hall)):
        begun = r.called_at or r.started_at or now
        service = layout.services_by_id.get(r.service_id)
        if r.window_no is not None and service is not None:
            at_window[r.window_no] = (service.code, max(0.0, (now - begun).total_seconds()))
    windows = []
    for r in _WINDOW_ROWS(connection, window_statement.run(connection, hall)):
        info = layout.windows.get(r.number)
        if info is None:
            continue
        busy = at_window.get(r.number)
        resume = None
        if r.state == "paused":
            elapsed = max((now - (r.state_since or now)).total_seconds(), 0.0)
            resume = now + timedelta(seconds=book.pauses.remaining_s(elapsed))
        windows.append(
            WindowNow(
                number=r.number,
                weights=info.weights,
                state=r.state,
                priority_streak=r.priority_streak or 0,
                busy_service=busy[0] if busy else None,
                elapsed_s=busy[1] if busy else 0.0,
                resume_at=resume,
            )
        )
    windows = _openings(layout, windows, now)
    serving_ids = None
    if for_service is not None:
        serving_ids = {layout.services[c].id for w in windows for c in w.weights}
    statement = _waiting_statement(layout, connection.dialect.name, serving_ids)
    waiting = []
    pools: dict[tuple[str, bool], int] = {}
    rows = _WAITING_ROWS(connection, statement.run(connection, hall)) if tickets else []
    for r in rows:
        service = layout.services_by_id.get(r.service_id)
        if service is None:
            continue
        waiting.append(
            Candidate(
                id=r.id, service=service.code, queued_at=r.queued_at, priority=bool(r.priority),
                target_window=r.target_window, slot_start=r.slot_start, slot_end=r.slot_end,
            )
        )  # fmt: skip
        if r.target_window is None:
            key = (service.code, bool(r.priority))
            pools[key] = pools.get(key, 0) + 1
    counts = {
        layout.services_by_id[r[0]].code: int(r[1] or 0)
        for r in count_rows
        if r[0] in layout.services_by_id
    }
    truncated = {key for key, n in pools.items() if n >= QUEUE_READ}
    return HallNow(now, windows, waiting, handling, truncated, counts, dict(book.rates),
                   _issuing_until(layout, now), book.pauses.risk())  # fmt: skip


def _issuing_until(layout: Layout, now: datetime) -> dict[str, datetime]:
    """Per service, the end of the open period it is in (``now`` when it issues no tickets)."""
    local = now.astimezone(layout.tz)
    clock = local.time()
    until: dict[str, datetime] = {}
    for code, service in layout.services.items():
        until[code] = now
        if local.isoweekday() not in service.hours.weekdays:
            continue
        for start, end in service.hours.on(local.isoweekday()):
            if start <= clock < end:
                until[code] = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
    return until


def _openings(layout: Layout, windows: list[WindowNow], now: datetime) -> list[WindowNow]:
    """Closed windows open at their services' next opening (the replay counts them only for
    a ticket that no open or paused window may call)."""
    local = now.astimezone(layout.tz)
    out = []
    for w in windows:
        if w.state != "closed":
            out.append(w)
            continue
        opens = _next_opening(layout, w, local)
        out.append(
            WindowNow(w.number, w.weights, "closed", w.priority_streak, opens_at=opens)
            if opens is not None
            else w
        )
    return out


def _next_opening(layout: Layout, w: WindowNow, local: datetime) -> datetime | None:
    """When a service of ``w`` next opens today, from the schedule (its hours): a window left
    closed inside open hours is not promised at any time (nobody knows when staff come); the
    next open period later today is."""
    best: datetime | None = None
    clock = local.time()
    for code in w.weights:
        service = layout.services.get(code)
        if service is None:
            continue
        for start, _end in service.hours.on(local.isoweekday()):
            if clock >= start:
                continue
            at = datetime.combine(local.date(), start, tzinfo=local.tzinfo)
            if best is None or at < best:
                best = at
    return best


# ---------------------------------------------------------------- answers


def eta_fields(
    eta: Eta | None, fallback_ahead: int, service: ServiceInfo, now: datetime, layout: Layout
) -> dict[str, Any]:
    """The API's fields: ``people_ahead``, ``eta_s`` (median), ``eta_range_s`` and
    ``eta_past_closing`` (the median wait from ``now`` ends after the service's last ticket
    period today, by its hours that weekday: every surface then tells it without a figure)."""
    if eta is None:
        return no_eta(fallback_ahead)
    local = now.astimezone(layout.tz)
    return {
        "people_ahead": eta.position,
        "eta_s": round(eta.median_s),
        "eta_range_s": [round(eta.low_s), round(eta.high_s)],
        "eta_past_closing": ends_past_closing(service.hours, local, eta.median_s),
    }


def no_eta(people_ahead: int) -> dict[str, Any]:
    """The fields of a ticket with no wait to tell (not waiting, or no window will call it)."""
    return {"people_ahead": people_ahead, "eta_s": None, "eta_range_s": None,
            "eta_past_closing": False}  # fmt: skip


def _ticket_fields(
    ctx: HallContext, row: Any, eta: Eta | None, fallback_ahead: int, now: datetime
) -> dict[str, Any]:
    layout = ctx.layout
    return eta_fields(eta, fallback_ahead, layout.services_by_id[row.service_id], now, layout)


def forecast_ticket(
    hall: HallNow,
    ticket: Candidate,
    ctx: HallContext,
    now: datetime | None = None,
    *,
    whole: bool = True,
) -> Eta | None:
    """Position and ETA of one waiting ticket (or a new one with ``NEW_TICKET_ID``).

    ``now`` later than when ``hall`` was read (a cached read of the same seq): the waits are
    shortened by the time gone since.
    """
    known = any(c.id == ticket.id for c in hall.waiting)
    pool = (ticket.service, ticket.priority)
    if ticket.target_window is None and pool in hall.truncated and not known:
        eta = _beyond_read(hall, ticket, ctx)
    else:
        eta = forecast(ticket, hall.windows, hall.waiting, hall.handling, ctx.layout.call_policy,
                       hall.now, arrival_rates=hall.rates, arrivals_until=hall.until,
                       whole=whole, pauses=hall.pauses)  # fmt: skip
    gone = (now - hall.now).total_seconds() if now is not None else 0.0
    if eta is None or gone <= 0:
        return eta
    return Eta(eta.position, max(eta.median_s - gone, 0.0), max(eta.low_s - gone, 0.0),
               max(eta.high_s - gone, 0.0))  # fmt: skip


def _beyond_read(hall: HallNow, ticket: Candidate, ctx: HallContext) -> Eta | None:
    """A ticket past the tickets read: the last one read, plus the rest at the service's
    share of its windows."""
    same = [c for c in hall.waiting if (c.service, c.priority) == (ticket.service, ticket.priority)
            and c.target_window is None]  # fmt: skip
    last = max(same, key=lambda c: (c.queued_at, c.id))
    base = forecast(last, hall.windows, hall.waiting, hall.handling, ctx.layout.call_policy,
                    hall.now, arrival_rates=hall.rates, arrivals_until=hall.until)  # fmt: skip
    rate = _service_rate(hall, ticket.service)
    if base is None or rate <= 0:
        return None
    extra = max(hall.counts.get(ticket.service, 0) - len(same), 1)
    more = extra / rate
    return Eta(base.position + extra, base.median_s + more, base.low_s + more * 0.9,
               base.high_s + more * 1.1)  # fmt: skip


def _serving(hall: HallNow, code: str) -> list[WindowNow]:
    """The windows that will call ``code``: the open and paused ones, else those opening."""
    serving = [w for w in hall.windows if code in w.weights]
    live = [w for w in serving if w.state != "closed"]
    return live or [w for w in serving if w.opens_at is not None]


def _service_rate(hall: HallNow, code: str) -> float:
    """Calls per second the windows serving ``code`` give it: each its weight's share among
    the services with someone waiting."""
    mean = max(hall.handling.get(code, Handling(300.0)).mean_s, 1.0)
    rate = 0.0
    for w in _serving(hall, code):
        busy = sum(v for s, v in w.weights.items() if s == code or hall.counts.get(s, 0) > 0)
        rate += w.weights[code] / busy / mean
    return rate


def _long_queue(hall: HallNow, ticket: Candidate, ahead: int) -> Eta | None:
    """A queue too long to replay: ``ahead`` calls at the windows serving the service, each
    giving it the share of its weights the service has, on the Gamma clock of the replay."""
    code = ticket.service
    spec = hall.handling.get(code, Handling(300.0))
    rate, start = _service_rate(hall, code), None
    for w in _serving(hall, code):
        at = w.opens_at if w.state == "closed" else w.resume_at if w.state == "paused" else None
        delay = max((at - hall.now).total_seconds(), 0.0) if at is not None else 0.0
        start = delay if start is None else min(start, delay)
    if rate <= 0 or start is None:
        return None
    kappa = min(max(spec.cv2, 0.05), 4.0)
    shape = (ahead + 1) / kappa

    def at_quantile(q: float) -> float:
        return start + kappa * gamma_quantile(shape, q) / rate

    return Eta(ahead, at_quantile(0.5), at_quantile(LOW_Q), at_quantile(HIGH_Q))


def new_ticket(service: str, now: datetime, *, priority: bool = False) -> Candidate:
    return Candidate(id=NEW_TICKET_ID, service=service, queued_at=now, priority=priority)


def as_candidate(
    row: Any, layout: Layout, slot: tuple[datetime, datetime] | None = None
) -> Candidate:
    """A ticket row as the forecast sees it."""
    return Candidate(
        id=row.id, service=layout.services_by_id[row.service_id].code, queued_at=row.queued_at,
        priority=bool(row.priority), target_window=row.target_window,
        slot_start=slot[0] if slot else None, slot_end=slot[1] if slot else None,
    )  # fmt: skip


@dataclass
class _SeqCache:
    seq: int = -1
    minute: int = -1
    hall: HallNow | None = None
    answers: dict[tuple[Any, ...], Eta | None] = field(default_factory=dict)


_caches: weakref.WeakKeyDictionary[HallContext, _SeqCache] = weakref.WeakKeyDictionary()


def _cached(ctx: HallContext, connection: Connection, now: datetime) -> _SeqCache:
    """The hall read at this seq (and this minute: the clock moves waits and aging on)."""
    seq = _seq_now(ctx, connection)
    minute = int(now.timestamp() // 60)
    with _books_lock:
        cache = _caches.get(ctx)
        if cache is None:
            cache = _caches[ctx] = _SeqCache()
    if cache.seq != seq or cache.minute != minute or cache.hall is None:
        fresh = _SeqCache(seq, minute, read_hall(ctx, connection, now))
        with _books_lock:
            _caches[ctx] = fresh
        return fresh
    return cache


def ticket_eta(
    ctx: HallContext,
    connection: Connection,
    row: Any,
    now: datetime,
    fallback_ahead: Callable[[], int],
) -> dict[str, Any]:
    """The ETA fields of a ticket row, from the hall at its current seq (a ticket no longer
    waiting has none; ``fallback_ahead`` counts its service's queue when no window will call
    it today)."""
    if row.state != "waiting":
        return no_eta(0)
    cache = _cached(ctx, connection, now)
    assert cache.hall is not None
    key = ("ticket", row.id)
    if key not in cache.answers:
        candidate = next((c for c in cache.hall.waiting if c.id == row.id), None)
        if candidate is None:
            candidate = as_candidate(row, ctx.layout)
        cache.answers[key] = forecast_ticket(cache.hall, candidate, ctx, now)
    eta = cache.answers[key]
    return _ticket_fields(ctx, row, eta, fallback_ahead() if eta is None else 0, now)


def new_ticket_etas(
    ctx: HallContext, connection: Connection, now: datetime
) -> dict[str, Eta | None]:
    """Per service, the position and ETA a visitor taking a normal ticket now would get."""
    cache = _cached(ctx, connection, now)
    assert cache.hall is not None
    out: dict[str, Eta | None] = {}
    for code in ctx.layout.services:
        key = ("new", code)
        if key not in cache.answers:
            cache.answers[key] = forecast_ticket(
                cache.hall, new_ticket(code, cache.hall.now), ctx, now
            )
        out[code] = cache.answers[key]
    return out


_quiet: weakref.WeakSet[HallContext] = weakref.WeakSet()


def answer_issues_without_eta(ctx: HallContext, quiet: bool = True) -> None:
    """Issues of this hall answer no ETA (the simulator's: it reads none, and the forecast
    would cost more than the issue itself; hall state is the same either way); ``quiet``
    False gives them their ETA again (benchmarks/eta_issue_cost.py compares the two)."""
    if quiet:
        _quiet.add(ctx)
    else:
        _quiet.discard(ctx)


@dataclass
class _Lean:
    seq: int  # the hall's seq the read is current up to
    hall: HallNow
    services: frozenset[str]  # the services whose queues it holds
    tickets: bool = True  # read with the waiting tickets (else: windows and counts only)


_leans: weakref.WeakKeyDictionary[HallContext, dict[str, _Lean]] = weakref.WeakKeyDictionary()
_issued: weakref.WeakKeyDictionary[HallContext, dict[int, Candidate]] = weakref.WeakKeyDictionary()
LEAN_REUSE_S = 30.0  # hall seconds a lean read is reused for issues in a row
LONG_QUEUE_REUSE_S = 5.0  # ... and for a long queue's issue, whatever was written since
LEAN_KEPT = 4 * QUEUE_READ  # tickets a reused read may grow to before it is read again
ISSUED_KEPT = 400  # this process's latest issues remembered (by the seq they made)


def note_issue(ctx: HallContext, seq: int, candidate: Candidate) -> None:
    """Inside an issue's write: this process made ``seq`` by issuing ``candidate``.

    Kept for the lean reads of issues in a row, which run after the write has let the hall
    go (``issued_ticket_eta``): by then later issues may have noted theirs.
    """
    with _books_lock:
        issued = _issued.setdefault(ctx, {})
        issued[seq] = candidate
        if len(issued) > ISSUED_KEPT:
            for old in sorted(issued)[: len(issued) - ISSUED_KEPT]:
                del issued[old]


def _lean_read(
    ctx: HallContext,
    read: _Snapshot,
    now: datetime,
    candidate: Candidate,
    seq: int,
    *,
    tickets: bool = True,
    any_writes_within_s: float = 0.0,
) -> HallNow:
    """The lean read for an issue of ``candidate``'s service (made at ``seq``), the new
    ticket in it.

    ``any_writes_within_s``: a read (without tickets) this many hall seconds old is used
    whatever was written since — for a long queue, whose wait is its length (counted in the
    write) over the rate of its windows: a call or an issue of another process a few seconds
    ago moves that by a fraction of a visitor.

    Issues in a row (a kiosk rush) change nothing but the queues' tails: when every seq
    since this service's last lean read was an issue made here, that read plus those
    tickets is the hall now, and nothing is read again. Any other change (a call, a pause,
    an issue by another process) leaves a seq this process did not make: then it reads, in
    one snapshot, with the seq it saw.
    """
    added: list[Candidate] | None = None
    with _books_lock:
        leans = _leans.setdefault(ctx, {})
        entry = leans.get(candidate.service)
    if (
        entry is not None
        and not tickets
        and 0 <= (now - entry.hall.now).total_seconds() <= any_writes_within_s
    ):
        return entry.hall
    if entry is not None and seq - entry.seq <= ISSUED_KEPT:
        with _books_lock:
            issued = _issued.get(ctx, {})
            since = [issued.get(s) for s in range(entry.seq + 1, seq + 1)]
        added = None if None in since else cast(list[Candidate], since)
    if (
        entry is not None
        and added is not None
        and (entry.tickets or not tickets)
        and len(entry.hall.waiting) < LEAN_KEPT
        and 0 <= (now - entry.hall.now).total_seconds() <= LEAN_REUSE_S
    ):
        old = entry.hall
        added = [c for c in added if c.service in entry.services]
        hall = HallNow(old.now, old.windows, [*old.waiting, *added], old.handling, old.truncated,
                       old.counts, old.rates, old.until, old.pauses)  # fmt: skip
        seen, kept = max(seq, entry.seq), entry.tickets
    else:
        connection = read.connection()
        seen = _seq_now(ctx, connection)
        hall = read_hall(ctx, connection, now, for_service=candidate.service, tickets=tickets)
        kept = tickets
    services = frozenset(code for w in hall.windows for code in w.weights)
    with _books_lock:
        latest = leans.get(candidate.service)
        if latest is None or latest.seq < seen:
            leans[candidate.service] = _Lean(seen, hall, services, kept)
    return hall


def _seq_now(ctx: HallContext, connection: Connection) -> int:
    found = _SEQ.run(connection, {"b_hall": ctx.hall_id}).fetchall()
    return int(found[0][0] or 0) if found else 0


class _Snapshot:
    """A read of the hall in one snapshot, opened on first use (most issues need none)."""

    def __init__(self, ctx: HallContext) -> None:
        self._ctx = ctx
        self._stack = ExitStack()
        self._connection: Connection | None = None

    def connection(self) -> Connection:
        if self._connection is None:
            session = self._stack.enter_context(self._ctx.db.snapshot())
            self._connection = session.connection()
        return self._connection

    def __enter__(self) -> _Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def issued_ticket_eta(
    ctx: HallContext,
    row: Any,
    now: datetime,
    *,
    seq: int,
    fallback_ahead: int,
    slot: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """The ETA fields of a ticket just issued at ``seq``: after its write has committed and
    let the hall go (its reads would have held the hall's row), with ``note_issue`` done
    inside the write.

    When the hall was last read at the seq before this issue (issues in a row), that read
    plus the new ticket is the hall at ``seq``: nothing is read again. The result is kept
    as the read of ``seq``.
    """
    if ctx in _quiet:
        return no_eta(fallback_ahead)
    minute = int(now.timestamp() // 60)
    cache = _caches.get(ctx)
    candidate = as_candidate(row, ctx.layout, slot)
    with _Snapshot(ctx) as read:
        if fallback_ahead >= QUEUE_READ and candidate.target_window is None and slot is None:
            # a long queue: no replay and none of it read, whether or not the last read is
            # fresh (a replay to the end of a queue that grew by issues in a row costs O(queue))
            hall = _lean_read(ctx, read, now, candidate, seq, tickets=False,
                              any_writes_within_s=LONG_QUEUE_REUSE_S)  # fmt: skip
            long = _long_queue(hall, candidate, fallback_ahead)
            gone = (now - hall.now).total_seconds()
            if long is not None and gone > 0:  # a reused read: the waits are shorter by then
                long = Eta(long.position, max(long.median_s - gone, 0.0),
                           max(long.low_s - gone, 0.0), max(long.high_s - gone, 0.0))  # fmt: skip
            return _ticket_fields(ctx, row, long, fallback_ahead, now)
        if (
            cache is not None
            and cache.hall is not None
            and cache.seq == seq - 1
            and 0 <= (now - cache.hall.now).total_seconds() <= 60
        ):
            old = cache.hall
            hall = HallNow(old.now, old.windows, [*old.waiting, candidate], old.handling,
                           old.truncated, old.counts, old.rates, old.until, old.pauses)  # fmt: skip
        else:  # the lean read: the windows that serve it and the queues they serve
            lean = _lean_read(ctx, read, now, candidate, seq)
            candidate = next((c for c in lean.waiting if c.id == row.id), candidate)
            eta = forecast_ticket(lean, candidate, ctx, now)
            return _ticket_fields(ctx, row, eta, fallback_ahead, now)
    eta = forecast_ticket(hall, candidate, ctx, now)
    with _books_lock:
        latest = _caches.get(ctx)
        if latest is None or latest.seq < seq:
            _caches[ctx] = _SeqCache(seq, minute, hall)
    return _ticket_fields(ctx, row, eta, fallback_ahead, now)
