"""Reports (效能监察): figures by day, week, month or range, grouped by service, window,
staff or hour of day — from the stored daily aggregates, today and changed days live."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.errors import InvalidInput
from ..domain.numbering import business_day
from ..models import DailyStat, Hall, Service, Staff
from ..models import Ticket as TicketRow
from .aggregates import (
    FRESH_DAYS,
    Figures,
    day_figures,
    days_mark,
    fingerprint,
    hall_tz,
    period_end,
    period_start,
    rollup_dim,
    stored_days,
    stored_rows,
)
from .context import HallContext

PERIODS = ("day", "week", "month", "range")
GROUPS = ("hall", "service", "window", "staff", "hour")
MAX_DAYS = 3 * 366
GROUP_NAMES = {
    "hall": ("全厅", "whole hall"),
    "service": ("事项", "service"),
    "window": ("窗口", "window"),
    "staff": ("人员", "staff"),
    "hour": ("时段", "hour of day"),
}
PERIOD_NAMES = {"day": "日", "week": "周", "month": "月", "range": "区间"}


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """Which days, cut into which periods, grouped how."""

    start: date
    end: date
    period: str = "range"
    group: str = "service"

    def check(self) -> ReportQuery:
        if self.period not in PERIODS:
            raise InvalidInput(f"period 应为 {'/'.join(PERIODS)} (got {self.period!r}).")
        if self.group not in GROUPS:
            raise InvalidInput(f"group 应为 {'/'.join(GROUPS)} (got {self.group!r}).")
        if self.end < self.start:
            raise InvalidInput("end 不能早于 start (end must not be before start).")
        if (self.end - self.start).days >= MAX_DAYS:
            raise InvalidInput(f"报表最长{MAX_DAYS}天 (at most {MAX_DAYS} days per report).")
        return self


def period_label(day: date, period: str, query: ReportQuery) -> str:
    """The label of the period ``day`` falls in."""
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day:%Y-%m}"
    return f"{query.start.isoformat()}~{query.end.isoformat()}"


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


@dataclass
class _Days:
    trusted: list[date]  # built and unchanged: read from daily_stats
    live: list[date]  # today, not built, or changed since: computed from the tickets
    built: dict[date, str]  # day -> fingerprint of its stored rows
    first: date  # the hall's first business day with a ticket


def _split_days(session: Session, hall_id: int, query: ReportQuery, today: date) -> _Days:
    built = stored_days(session, hall_id, query.start, query.end)
    first = session.scalar(
        select(func.min(TicketRow.business_day)).where(TicketRow.hall_id == hall_id)
    )
    first = first or today
    days = _Days([], [], built, first)
    for day in _days(max(query.start, first), min(query.end, today)):
        mark = built.get(day)
        if day == today or mark is None:
            days.live.append(day)
        elif (
            day >= today - timedelta(days=FRESH_DAYS) and fingerprint(session, hall_id, day) != mark
        ):
            days.live.append(day)  # changed since it was built (late rating, day-end expiry)
        else:
            days.trusted.append(day)
    return days


ROLLUPS_FOR = {"day": (), "week": ("week",), "month": ("month",), "range": ("month", "week")}


def _rollups(
    session: Session,
    hall_id: int,
    query: ReportQuery,
    today: date,
    days: _Days,
    level: str,
    remaining: set[date],
) -> list[date]:
    """Starts of the weeks or months inside the query whose stored rollup can stand for
    their days: every day of it built, unchanged, and the rollup made from exactly those."""
    wanted: dict[date, list[date]] = {}
    for start in sorted({period_start(level, d) for d in remaining}):
        end = period_end(level, start)
        if start < query.start or end > query.end:
            continue
        needed = [d for d in _days(start, end) if days.first <= d < today]
        if needed and all(d in remaining for d in needed):
            wanted[start] = needed
    if not wanted:
        return []
    marks = dict(
        session.execute(
            select(DailyStat.business_day, DailyStat.key).where(
                DailyStat.hall_id == hall_id,
                DailyStat.dim == f"{level}:#",
                DailyStat.business_day >= min(wanted),
                DailyStat.business_day <= max(wanted),
            )
        ).all()
    )
    return [
        start
        for start, needed in wanted.items()
        if marks.get(start) == days_mark({d: days.built[d] for d in needed})
    ]


def collect(
    session: Session, hall_id: int, query: ReportQuery, today: date
) -> tuple[dict[tuple[str, str], Figures], dict[str, Figures], Figures]:
    """Figures by (period, key), totals by period, and the grand total."""
    tz = hall_tz(session, hall_id)
    groups: dict[tuple[str, str], Figures] = {}
    totals: dict[str, Figures] = {}
    total = Figures()

    def add(day: date, dim: str, key: str, fig: Figures) -> None:
        label = period_label(day, query.period, query)
        if dim == "hall":
            totals.setdefault(label, Figures()).merge(fig)
            total.merge(fig)
        if dim == query.group:
            groups.setdefault((label, key), Figures()).merge(fig)

    days = _split_days(session, hall_id, query, today)
    dims = {"hall", query.group}
    remaining = set(days.trusted)
    for level in ROLLUPS_FOR[query.period]:
        starts = _rollups(session, hall_id, query, today, days, level, remaining)
        if not starts:
            continue
        codes = {rollup_dim(level, dim): dim for dim in dims}
        for row in session.scalars(
            select(DailyStat).where(
                DailyStat.hall_id == hall_id,
                DailyStat.dim.in_(list(codes)),
                DailyStat.business_day.in_(starts),
            )
        ):
            add(row.business_day, codes[row.dim], row.key, Figures.from_row(row))
        for start in starts:
            remaining -= set(_days(start, period_end(level, start)))
    for row in stored_rows(session, hall_id, dims, sorted(remaining), query.start, query.end):
        add(row.business_day, row.dim, row.key, Figures.from_row(row))
    for day in days.live:
        for (dim, key), fig in day_figures(session, hall_id, tz, day).items():
            if dim in dims:
                add(day, dim, key, fig)
    return groups, totals, total


def _names(session: Session, hall_id: int, group: str) -> dict[str, tuple[str, str]]:
    if group == "service":
        return {
            str(i): (name, en)
            for i, name, en in session.execute(
                select(Service.id, Service.name, Service.name_en).where(Service.hall_id == hall_id)
            )
        }
    if group == "staff":
        return {
            str(i): (name or login, login)
            for i, name, login in session.execute(
                select(Staff.id, Staff.name, Staff.login).where(Staff.hall_id == hall_id)
            )
        }
    return {}


def group_name(group: str, key: str, names: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """A group's name in Chinese and English."""
    if group == "window":
        return (f"{key}号窗口", f"window {key}") if key else ("未叫号", "never called")
    if group == "hour":
        hour = int(key)
        return f"{hour:02d}:00-{hour + 1:02d}:00", f"{hour:02d}h"
    if group == "staff" and not key:
        return "无人员", "nobody"
    return names.get(key, (key, key))


def build_report(
    ctx: HallContext, query: ReportQuery, now: datetime | None = None
) -> dict[str, Any]:
    """The report for ``query``: rows per period and group, totals per period, grand total."""
    query.check()
    now = now or ctx.clock()
    with ctx.db.snapshot() as session:
        hall = session.get(Hall, ctx.hall_id)
        assert hall is not None
        today = business_day(now, hall_tz(session, ctx.hall_id))
        groups, totals, total = collect(session, ctx.hall_id, query, today)
        names = _names(session, ctx.hall_id, query.group)
        hall_name = hall.name
    rows = []
    for (label, key), fig in groups.items():
        name, name_en = (
            (hall_name, "") if query.group == "hall" else group_name(query.group, key, names)
        )
        rows.append(
            {"period": label, "key": key, "name": name, "name_en": name_en, **fig.summary()}
        )
    rows.sort(key=lambda r: (r["period"], _order(query.group, r["key"])))
    return {
        "hall": hall_name,
        "start": query.start.isoformat(),
        "end": query.end.isoformat(),
        "period": query.period,
        "group": query.group,
        "generated_at": now.isoformat(),
        "rows": rows,
        "totals": [{"period": label, **fig.summary()} for label, fig in sorted(totals.items())],
        "total": total.summary(),
    }


def _order(group: str, key: str) -> tuple[int, int | str]:
    if key.isdigit():
        return (0, int(key))
    return (1 if key == "" else 0, key)


def today_figures(ctx: HallContext, now: datetime | None = None) -> dict[str, Any]:
    """Today's KPIs and the dashboard's chart data, live from today's tickets."""
    now = now or ctx.clock()
    with ctx.db.snapshot() as session:
        tz = hall_tz(session, ctx.hall_id)
        day = business_day(now, tz)
        groups = day_figures(session, ctx.hall_id, tz, day)
        finished = session.scalars(
            select(TicketRow.finished_at).where(
                TicketRow.hall_id == ctx.hall_id,
                TicketRow.business_day == day,
                TicketRow.state == "done",
            )
        ).all()
        services = _names(session, ctx.hall_id, "service")
    hall = groups.get(("hall", ""), Figures())
    arrivals = [0] * 24
    served = [0] * 24
    for (dim, key), fig in groups.items():
        if dim == "hour":
            arrivals[int(key)] = fig.tickets
    for at in finished:
        if at is not None:
            served[at.astimezone(tz).hour] += 1
    edges = (5, 10, 20, 30, 45, 60)
    waits = [0] * (len(edges) + 1)
    for key, n in hall.wait_hist.items():
        seconds = int(key)
        index = next((i for i, edge in enumerate(edges) if seconds < edge * 60), len(edges))
        waits[index] += n
    windows = sorted(
        ((int(key), fig) for (dim, key), fig in groups.items() if dim == "window" and key),
        key=lambda item: item[0],
    )
    return {
        "business_day": day.isoformat(),
        "at": now.isoformat(),
        "kpis": hall.summary(),
        "by_hour": {"hours": list(range(24)), "arrivals": arrivals, "served": served},
        "wait_distribution": {
            "labels": ["<5", "5-10", "10-20", "20-30", "30-45", "45-60", "≥60"],
            "tickets": waits,
        },
        "by_window": [
            {"window": n, "served": fig.served, "handle_mean_s": fig.summary()["handle_mean_s"]}
            for n, fig in windows
        ],
        "by_service": [
            {"service": services.get(key, (key, key))[0], **fig.summary()}
            for (dim, key), fig in groups.items()
            if dim == "service"
        ],
    }
