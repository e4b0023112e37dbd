"""What screens start from: the hall's state at one seq, and the log after a seq."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from ..contract import CALL_EVENTS, RECENT_CALLS, public_view
from ..domain.numbering import business_day, is_open
from ..domain.tickets import AT_WINDOW, TicketState
from ..models import Alarm, Hall, LogEvent, Notice, Staff
from ..models import Counter as CounterRow
from ..models import Ticket as TicketRow
from ..models import Window as WindowRow
from .context import HallContext
from .devices import device_views
from .forecast import eta_fields, new_ticket_etas
from .hall_log import wire
from .public_stream import public_events_after
from .ticket_rows import iso
from .windows import window_view


def snapshot(ctx: HallContext, *, staff: bool, now: datetime | None = None) -> dict[str, Any]:
    """Read the whole hall at one consistent moment; ``seq`` is the last event it includes."""
    now = now or ctx.clock()
    with ctx.db.snapshot() as session:
        hall = session.get(Hall, ctx.hall_id)
        assert hall is not None
        layout = ctx.refresh(session, hall.config_version)
        day = business_day(now, layout.tz)
        names = {i: n for i, n in session.execute(select(Staff.id, Staff.name))}
        at_window = {t.window_no: t for t in _at_windows(session, ctx.hall_id, layout.windows)}
        windows = []
        open_windows = []
        for row in session.scalars(
            select(WindowRow)
            .where(WindowRow.hall_id == ctx.hall_id, WindowRow.active)
            .order_by(WindowRow.number)
        ):
            holder = names.get(row.staff_id, "") if staff and row.staff_id else ""
            view = window_view(row, layout, holder)
            current = at_window.get(row.number)
            view["ticket"] = (
                {
                    "id": current.id,
                    "number": current.number,
                    "service": layout.services_by_id[current.service_id].code,
                    "status": current.state,
                    "called_at": iso(current.called_at),
                    "started_at": iso(current.started_at),
                    "call_count": current.call_count,
                }
                if current is not None
                else None
            )
            windows.append(view)
            if row.state == "open":
                open_windows.append(row.number)
        queues = _queues(ctx, session, day, now, open_windows)
        recent = [
            public_view(wire(e)) if not staff else wire(e)
            for e in session.scalars(
                select(LogEvent)
                .where(LogEvent.hall_id == ctx.hall_id, LogEvent.type.in_(CALL_EVENTS))
                .order_by(LogEvent.seq.desc())
                .limit(RECENT_CALLS)
            )
        ]
        alarms = (
            [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "level": a.level,
                    "subject": a.subject,
                    "message": a.message,
                    "raised_at": iso(a.raised_at),
                    "acked_by": a.acked_by,
                }
                for a in session.scalars(
                    select(Alarm).where(Alarm.hall_id == ctx.hall_id, Alarm.cleared_at.is_(None))
                )
            ]
            if staff
            else []
        )
        notices = list(
            session.scalars(
                select(Notice.text)
                .where(Notice.hall_id == ctx.hall_id, Notice.active)
                .order_by(Notice.sort_order)
            )
        )
        devices = device_views(ctx, session) if staff else []
        return {
            "seq": hall.last_seq,
            "hall": {"code": layout.code, "name": layout.name, "name_en": layout.name_en},
            "business_day": day.isoformat(),
            "at": now.isoformat(),
            "windows": windows,
            "queues": queues,
            "recent_calls": recent,
            "alarms": alarms,
            "notices": notices,
            "devices": devices,
        }


def _at_windows(session: Any, hall_id: int, numbers: Any) -> Any:
    """The tickets called to or served at the hall's windows: one index entry per window.

    On SQLite the index is named: with statistics of a day of 200,000 waiting tickets the
    planner scanned the whole table for ``state IN ('called', 'serving')``.
    """
    windows = sorted(int(n) for n in numbers)
    if not windows:
        return []
    states = sorted(s.value for s in AT_WINDOW)
    if session.get_bind().dialect.name != "sqlite":
        return session.scalars(
            select(TicketRow).where(
                TicketRow.hall_id == hall_id,
                TicketRow.window_no.in_(windows),
                TicketRow.state.in_(states),
            )
        )
    listed = ", ".join(str(n) for n in windows)
    quoted = ", ".join(f"'{state}'" for state in states)
    statement = text(
        "SELECT * FROM tickets INDEXED BY ix_tickets_window WHERE hall_id = :hall"
        f" AND window_no IN ({listed}) AND state IN ({quoted})"
    )
    return session.scalars(select(TicketRow).from_statement(statement), {"hall": hall_id})


def queue_table(ctx: HallContext, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every service's queue (waiting, served, longest wait, ETA, open windows), read alone."""
    now = now or ctx.clock()
    with ctx.db.snapshot() as session:
        version = session.scalar(select(Hall.config_version).where(Hall.id == ctx.hall_id))
        layout = ctx.refresh(session, version or 0)
        open_windows = list(
            session.scalars(
                select(WindowRow.number).where(
                    WindowRow.hall_id == ctx.hall_id, WindowRow.active, WindowRow.state == "open"
                )
            )
        )
        return _queues(ctx, session, business_day(now, layout.tz), now, open_windows)


def _queues(
    ctx: HallContext, session: Any, day: Any, now: datetime, open_windows: list[int]
) -> list[dict[str, Any]]:
    # Reads that each stay on an index, so the cost follows the services, not the tickets:
    # the day counters keep the waiting and finished counts, and each service's oldest
    # waiting ticket is the first entry of the queue index (a GROUP BY over the waiting
    # tickets read all of them: 295 ms with 237,797 waiting, docs/BENCHMARKS.md).
    layout = ctx.layout
    counts = {
        service_id: (waiting, served)
        for service_id, waiting, served in session.execute(
            select(CounterRow.service_id, CounterRow.waiting, CounterRow.served).where(
                CounterRow.hall_id == ctx.hall_id, CounterRow.business_day == day
            )
        )
    }
    oldest: dict[int, datetime] = {}
    for service in layout.services.values():
        first = session.scalar(
            select(TicketRow.queued_at)
            .where(
                TicketRow.hall_id == ctx.hall_id,
                TicketRow.state == TicketState.WAITING.value,
                TicketRow.service_id == service.id,
            )
            .order_by(TicketRow.queued_at)
            .limit(1)
        )
        if first is not None:
            oldest[service.id] = first
    # a newcomer's place and wait per service, from the live hall (services/forecast.py)
    etas = new_ticket_etas(ctx, session.connection(), now)
    queues = []
    for service in layout.services.values():
        waiting, served = counts.get(service.id, (0, 0))
        serving = sum(1 for n in open_windows if service.code in layout.windows[n].weights)
        first = oldest.get(service.id)
        queues.append(
            {
                "service": service.code,
                **service.label(),
                "waiting": waiting,
                "served": served,
                "longest_wait_s": round((now - first).total_seconds()) if first else 0,
                **eta_fields(etas.get(service.code), waiting, service, now, layout),
                "windows_open": serving,
                "open": is_open(service.hours, now, layout.tz),
            }
        )
    return queues


def last_seq(ctx: HallContext) -> int:
    """The hall log's newest seq (a read that proves the database answers)."""
    with ctx.db.read() as session:
        return session.scalar(select(Hall.last_seq).where(Hall.id == ctx.hall_id)) or 0


def events_after(
    ctx: HallContext, after: int, *, staff: bool, limit: int | None = None
) -> dict[str, Any]:
    """Return the events after ``after``, or say a snapshot is needed when too far behind.

    The public audience gets its own stream (public_stream.py): the public events, each with
    ``prev``, and one ``counts`` message, never every issue.
    """
    if not staff:
        return public_events_after(ctx, after, limit=limit)
    limit = limit or ctx.resync_max_events
    with ctx.db.read() as session:
        last = session.scalar(select(Hall.last_seq).where(Hall.id == ctx.hall_id)) or 0
        # Too far behind, or ahead of the log (a restored database): start from a snapshot.
        if last - after > limit or after > last:
            return {"events": [], "last_seq": last, "snapshot_required": True}
        rows = session.scalars(
            select(LogEvent)
            .where(LogEvent.hall_id == ctx.hall_id, LogEvent.seq > after, LogEvent.seq <= last)
            .order_by(LogEvent.seq)
        )
        events = [wire(e) if staff else public_view(wire(e)) for e in rows]
        return {"events": events, "last_seq": last, "snapshot_required": False}
