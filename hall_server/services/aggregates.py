"""Daily aggregates of the tickets: exact figures per business day and group, kept in
``daily_stats`` so that a year of reports reads a few thousand rows instead of millions.

Definitions (docs/REPORTS.md), the same for stored days and for days computed live:
- a ticket belongs to its business day, its last service, the window and staff that last
  had it (none when never called) and the hour (local) it was issued;
- served = finished (``done``); no-show = marked 过号 at least once and never served;
- wait = issue -> first call, for tickets that were called; handling = serving time of
  served tickets; both counted in whole milliseconds (``round(seconds * 1000)``), so sums
  are exact integers; percentiles are nearest-rank over the durations rounded down to
  ``HIST_RES_S`` seconds, from histograms that add up exactly across days;
- within SLA = called with a wait of at most the service's ``sla_wait_min``;
- evaluations (好差评) count with their ticket; 差评 = score 1 or 2.

A past day is built once the day is over (a background job keeps the last days fresh by a
fingerprint of their rows); today is always computed live from the raw rows.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..domain.numbering import business_day
from ..models import DailyStat, Evaluation, Hall, Service, StatDay
from ..models import Ticket as TicketRow
from .context import HallContext

DIMS = ("hall", "service", "window", "staff", "hour")
HIST_RES_S = 10  # histogram bucket: durations rounded down to 10 s for percentiles
FRESH_DAYS = 7  # past days re-checked by fingerprint (late ratings, day-end expiry)
BAD_SCORES = (1, 2)
_COUNTS = (
    "tickets",
    "served",
    "no_show",
    "cancelled",
    "expired",
    "called",
    "within_sla",
    "wait_sum_ms",
    "handled",
    "handle_sum_ms",
    "evaluations",
    "score_sum",
    "bad",
)


def ms(seconds: float) -> int:
    """A duration in whole milliseconds, as every figure counts it."""
    return round(seconds * 1000)


def bucket(duration_ms: int) -> int:
    """The histogram bucket (in seconds, rounded down to HIST_RES_S) of a duration."""
    return duration_ms // (1000 * HIST_RES_S) * HIST_RES_S


def percentile(hist: dict[str, int], total: int, p: float) -> int | None:
    """Nearest-rank percentile ``p`` (0-100) of a histogram holding ``total`` values."""
    if total <= 0:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for value in sorted(hist, key=int):
        seen += hist[value]
        if seen >= rank:
            return int(value)
    return max(int(v) for v in hist)


@dataclass
class Figures:
    """Additive figures of one group: counts, exact sums, maxima and histograms."""

    tickets: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    expired: int = 0
    called: int = 0
    within_sla: int = 0
    wait_sum_ms: int = 0
    wait_max_ms: int = 0
    wait_hist: dict[str, int] = field(default_factory=dict)  # bucket seconds -> tickets
    handled: int = 0
    handle_sum_ms: int = 0
    handle_max_ms: int = 0
    handle_hist: dict[str, int] = field(default_factory=dict)
    evaluations: int = 0
    score_sum: int = 0
    bad: int = 0

    def merge(self, other: Figures) -> None:
        """Add another group's figures to these."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.wait_max_ms = max(self.wait_max_ms, other.wait_max_ms)
        self.handle_max_ms = max(self.handle_max_ms, other.handle_max_ms)
        for mine, theirs in ((self.wait_hist, other.wait_hist),
                             (self.handle_hist, other.handle_hist)):  # fmt: skip
            if not mine:
                mine.update(theirs)  # the first: a copy at C speed
                continue
            get = mine.get
            for key, n in theirs.items():
                mine[key] = get(key, 0) + n

    def summary(self) -> dict[str, Any]:
        """The figures a report shows (durations in seconds)."""
        called, handled = self.called, self.handled
        return {
            "tickets": self.tickets,
            "served": self.served,
            "no_show": self.no_show,
            "cancelled": self.cancelled,
            "expired": self.expired,
            "no_show_rate": round(self.no_show / self.tickets, 4) if self.tickets else None,
            "called": called,
            "wait_mean_s": round(self.wait_sum_ms / called / 1000, 1) if called else None,
            "wait_p50_s": percentile(self.wait_hist, called, 50),
            "wait_p90_s": percentile(self.wait_hist, called, 90),
            "wait_max_s": self.wait_max_ms / 1000 if called else None,
            "handle_mean_s": round(self.handle_sum_ms / handled / 1000, 1) if handled else None,
            "handle_p90_s": percentile(self.handle_hist, handled, 90),
            "sla_share": round(self.within_sla / called, 4) if called else None,
            "evaluations": self.evaluations,
            "satisfaction": round(self.score_sum / self.evaluations, 2)
            if self.evaluations
            else None,
            "bad": self.bad,
        }

    @classmethod
    def from_row(cls, row: DailyStat) -> Figures:
        fig = cls(**{name: getattr(row, name) for name in _COUNTS})
        fig.wait_max_ms, fig.handle_max_ms = row.wait_max_ms, row.handle_max_ms
        fig.wait_hist, fig.handle_hist = dict(row.wait_hist), dict(row.handle_hist)
        return fig


Groups = dict[tuple[str, str], Figures]  # (dim, key) -> figures


def day_figures(session: Session, hall_id: int, tz: ZoneInfo, day: date) -> Groups:
    """Compute one business day's figures for every group, from the raw ticket rows."""
    sla = dict(
        session.execute(
            select(Service.id, Service.sla_wait_min).where(Service.hall_id == hall_id)
        ).all()
    )
    rows = session.execute(
        select(
            TicketRow.service_id,
            TicketRow.window_no,
            TicketRow.staff_id,
            TicketRow.issued_at,
            TicketRow.state,
            TicketRow.no_show_count,
            TicketRow.wait_s,
            TicketRow.handle_s,
            Evaluation.score,
        )
        .outerjoin(Evaluation, Evaluation.ticket_id == TicketRow.id)
        .where(TicketRow.hall_id == hall_id, TicketRow.business_day == day)
    )
    columns: dict[tuple[str, str], _Columns] = {}
    for service_id, window, staff, issued, state, no_shows, wait_s, handle_s, score in rows:
        # Each ticket's figures once; then appended to its five groups' columns.
        wait = None if wait_s is None else ms(wait_s)
        handle = ms(handle_s or 0.0) if state == "done" else None
        within = wait is not None and wait <= int(sla.get(service_id, 30)) * 60_000
        missed = state != "done" and no_shows > 0
        for key in (
            ("hall", ""),
            ("service", str(service_id)),
            ("window", "" if window is None else str(window)),
            ("staff", "" if staff is None else str(staff)),
            ("hour", f"{issued.astimezone(tz).hour:02d}"),
        ):
            col = columns.get(key)
            if col is None:
                col = columns[key] = _Columns()
            col.states.append(state)
            if missed:
                col.no_show += 1
            if wait is not None:
                col.waits.append(wait)
                col.within += within
            if handle is not None:
                col.handles.append(handle)
            if score is not None:
                col.scores.append(score)
    return {key: col.figures() for key, col in columns.items()}


@dataclass
class _Columns:
    """One group's raw values, turned into Figures with builtins (fast in CPython)."""

    states: list[str] = field(default_factory=list)
    waits: list[int] = field(default_factory=list)
    handles: list[int] = field(default_factory=list)
    scores: list[int] = field(default_factory=list)
    no_show: int = 0
    within: int = 0

    def figures(self) -> Figures:
        waits, handles, scores = self.waits, self.handles, self.scores
        return Figures(
            tickets=len(self.states),
            served=self.states.count("done"),
            no_show=self.no_show,
            cancelled=self.states.count("cancelled"),
            expired=self.states.count("expired"),
            called=len(waits),
            within_sla=self.within,
            wait_sum_ms=sum(waits),
            wait_max_ms=max(waits, default=0),
            wait_hist=dict(Counter(str(bucket(w)) for w in waits)),
            handled=len(handles),
            handle_sum_ms=sum(handles),
            handle_max_ms=max(handles, default=0),
            handle_hist=dict(Counter(str(bucket(h)) for h in handles)),
            evaluations=len(scores),
            score_sum=sum(scores),
            bad=sum(1 for x in scores if x in BAD_SCORES),
        )


def fingerprint(session: Session, hall_id: int, day: date) -> str:
    """What changes whenever a ticket of the day or its rating changes."""
    count, versions = session.execute(
        select(func.count(), func.coalesce(func.sum(TicketRow.version), 0)).where(
            TicketRow.hall_id == hall_id, TicketRow.business_day == day
        )
    ).one()
    ratings = session.scalar(
        select(func.count())
        .select_from(Evaluation)
        .join(TicketRow, TicketRow.id == Evaluation.ticket_id)
        .where(TicketRow.hall_id == hall_id, TicketRow.business_day == day)
    )
    return f"{count}:{versions}:{ratings}"


def store_day(
    session: Session, hall_id: int, day: date, groups: Groups, mark: str, now: datetime
) -> None:
    """Replace a day's stored aggregates by ``groups`` (in the caller's transaction)."""
    session.execute(
        delete(DailyStat).where(
            DailyStat.hall_id == hall_id, DailyStat.business_day == day, DailyStat.dim.in_(DIMS)
        )  # the day's own rows: a week or month rollup may start on this day too
    )
    _insert(session, hall_id, day, groups)
    row = session.get(StatDay, (hall_id, day))
    if row is None:
        session.add(StatDay(hall_id=hall_id, business_day=day, fingerprint=mark, built_at=now))
    else:
        row.fingerprint, row.built_at = mark, now


# ---------------------------------------------------------------- week and month rollups
# A week's or month's rows are the sum of its days' rows, stored under dims like "month:s"
# with a marker row ("month:#") whose key fingerprints the days merged: a report uses a
# rollup only when every day of it is built and unchanged since.

LEVELS = ("week", "month")
DIM_CODES = {"hall": "h", "service": "s", "window": "w", "staff": "p", "hour": "o"}
DIM_NAMES = {code: dim for dim, code in DIM_CODES.items()}


def period_start(level: str, day: date) -> date:
    return day - timedelta(days=day.weekday()) if level == "week" else day.replace(day=1)


def period_end(level: str, start: date) -> date:
    if level == "week":
        return start + timedelta(days=6)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def rollup_dim(level: str, dim: str) -> str:
    return f"{level}:{DIM_CODES[dim]}"


def days_mark(marks: dict[date, str]) -> str:
    """A fingerprint of the days (and their own fingerprints) a rollup merged."""
    text = "|".join(f"{day.isoformat()}={mark}" for day, mark in sorted(marks.items()))
    return hashlib.sha1(text.encode()).hexdigest()


def build_rollup(session: Session, hall_id: int, level: str, start: date) -> None:
    """Replace the rollup rows of one week or month by the sum of its stored days."""
    end = period_end(level, start)
    marks = stored_days(session, hall_id, start, end)
    merged: Groups = {}
    for row in session.scalars(
        select(DailyStat).where(
            DailyStat.hall_id == hall_id,
            DailyStat.dim.in_(DIMS),
            DailyStat.business_day >= start,
            DailyStat.business_day <= end,
        )
    ):
        merged.setdefault((row.dim, row.key), Figures()).merge(Figures.from_row(row))
    codes = [f"{level}:{code}" for code in (*DIM_CODES.values(), "#")]
    session.execute(
        delete(DailyStat).where(
            DailyStat.hall_id == hall_id, DailyStat.dim.in_(codes), DailyStat.business_day == start
        )
    )
    groups = {(rollup_dim(level, dim), key): fig for (dim, key), fig in merged.items()}
    groups[(f"{level}:#", days_mark(marks))] = Figures(tickets=len(marks))
    _insert(session, hall_id, start, groups)


def _insert(session: Session, hall_id: int, day: date, groups: Groups) -> None:
    session.add_all(
        DailyStat(
            hall_id=hall_id,
            business_day=day,
            dim=dim,
            key=key,
            **{name: getattr(fig, name) for name in _COUNTS},
            wait_max_ms=fig.wait_max_ms,
            handle_max_ms=fig.handle_max_ms,
            wait_hist=dict(fig.wait_hist),
            handle_hist=dict(fig.handle_hist),
        )
        for (dim, key), fig in groups.items()
    )


def build_day(ctx: HallContext, day: date, now: datetime | None = None) -> bool:
    """Build (or rebuild) a past day's aggregates when its rows changed; True if written."""
    now = now or ctx.clock()
    tz = ctx.layout.tz
    with ctx.db.snapshot() as session:
        mark = fingerprint(session, ctx.hall_id, day)
        stored = session.get(StatDay, (ctx.hall_id, day))
        if stored is not None and stored.fingerprint == mark:
            return False
        groups = day_figures(session, ctx.hall_id, tz, day)
    with ctx.write_lock, ctx.db.write() as session:
        store_day(session, ctx.hall_id, day, groups, mark, now)
    return True


def days_to_build(ctx: HallContext, now: datetime, *, backfill: bool) -> list[date]:
    """Past days whose aggregates may be missing or stale: the last FRESH_DAYS, and with
    ``backfill`` every day since the first ticket that has never been built."""
    today = business_day(now, ctx.layout.tz)
    recent = [today - timedelta(days=n) for n in range(FRESH_DAYS, 0, -1)]
    if not backfill:
        return recent
    with ctx.db.read() as session:
        first = session.scalar(
            select(func.min(TicketRow.business_day)).where(TicketRow.hall_id == ctx.hall_id)
        )
        built = set(
            session.scalars(select(StatDay.business_day).where(StatDay.hall_id == ctx.hall_id))
        )
    if first is None:
        return recent
    missing = [first + timedelta(days=n) for n in range((today - first).days)]
    return sorted({d for d in missing if d not in built} | set(recent))


def refresh_stats(ctx: HallContext, now: datetime | None = None, *, backfill: bool = False) -> int:
    """Build every past day that needs it; return how many days were written."""
    now = now or ctx.clock()
    built = [day for day in days_to_build(ctx, now, backfill=backfill) if build_day(ctx, day, now)]
    for level, start in sorted(
        {(level, period_start(level, d)) for d in built for level in LEVELS}
    ):
        with ctx.write_lock, ctx.db.write() as session:
            build_rollup(session, ctx.hall_id, level, start)
    return len(built)


def stored_days(session: Session, hall_id: int, start: date, end: date) -> dict[date, str]:
    """The built days between ``start`` and ``end`` with their fingerprints."""
    return dict(
        session.execute(
            select(StatDay.business_day, StatDay.fingerprint).where(
                StatDay.hall_id == hall_id,
                StatDay.business_day >= start,
                StatDay.business_day <= end,
            )
        ).all()
    )


def stored_rows(
    session: Session, hall_id: int, dims: Iterable[str], days: list[date], start: date, end: date
) -> Iterable[DailyStat]:
    """The stored aggregate rows of ``dims`` for the given days (within start..end)."""
    wanted = set(days)
    if not wanted:
        return []
    query = select(DailyStat).where(DailyStat.hall_id == hall_id, DailyStat.dim.in_(list(dims)))
    if len(wanted) <= 400:  # a few days (the edges of a report): name them
        rows = session.scalars(query.where(DailyStat.business_day.in_(sorted(wanted))))
    else:
        rows = session.scalars(
            query.where(DailyStat.business_day >= start, DailyStat.business_day <= end)
        )
    return (r for r in rows if r.business_day in wanted)


def hall_tz(session: Session, hall_id: int) -> ZoneInfo:
    hall = session.get(Hall, hall_id)
    assert hall is not None
    return ZoneInfo(hall.timezone)


def refresh_planner_stats(ctx: HallContext) -> None:
    """Give SQLite's query planner table statistics (ANALYZE; about 1 s per million tickets).

    Without them SQLite picks an index by the shape of a query, and a GROUP BY over today's
    tickets can walk every ticket of every day (seconds at a few million tickets). A sampled
    ANALYZE (analysis_limit) reads only the first rows and misleads the planner the same
    way, so this reads everything, once a day. PostgreSQL keeps its own (autovacuum).
    """
    if not ctx.db.is_sqlite:
        return
    engine = ctx.db.engine.execution_options(hall_write=True)  # BEGIN IMMEDIATE
    with ctx.write_lock, engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
