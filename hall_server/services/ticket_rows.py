"""Between ticket rows and the domain: load, store, and the views clients get."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import StaleDataError

from ..db import Prepared
from ..domain import events as ev
from ..domain.tickets import Ticket, TicketState
from ..models import Counter as CounterRow
from ..models import Ticket as TicketRow
from .context import Layout

# Domain field -> row column, for every fact the rules may change.
_FIELDS = {
    "state": "state",
    "window": "window_no",
    "target_window": "target_window",
    "queued_at": "queued_at",
    "first_called_at": "first_called_at",
    "called_at": "called_at",
    "started_at": "started_at",
    "finished_at": "finished_at",
    "ended_at": "ended_at",
    "call_count": "call_count",
    "recalls": "recalls",
    "hold_count": "hold_count",
    "transfer_count": "transfer_count",
    "no_show_count": "no_show_count",
    "wait_s": "wait_s",
    "handle_s": "handle_s",
    "priority": "priority",
}


def to_domain(row: TicketRow, layout: Layout) -> Ticket:
    """Read a ticket row as the domain's Ticket."""
    return Ticket(
        number=row.number,
        service=layout.services_by_id[row.service_id].code,
        issued_at=row.issued_at,
        **{name: getattr(row, column) for name, column in _FIELDS.items()}
        | {"state": TicketState(row.state)},
    )


def _copy_onto(row: Any, ticket: Ticket, layout: Layout) -> tuple[bool, int, bool]:
    """Copy the domain's Ticket onto a row; return (was waiting, old service id, was done)."""
    was_waiting, old_service = row.state == TicketState.WAITING.value, row.service_id
    was_done = row.state == TicketState.DONE.value
    for name, column in _FIELDS.items():
        value = getattr(ticket, name)
        setattr(row, column, value.value if name == "state" else value)
    row.service_id = layout.service(ticket.service).id
    return was_waiting, old_service, was_done


def store(row: TicketRow, ticket: Ticket, layout: Layout) -> None:
    """Write the domain's Ticket back onto its row, keeping the day's waiting counts.

    Every change of a ticket passes here, so this is the one place that moves the
    counters' ``waiting`` (what "people ahead" and the screens' queue lengths read).
    """
    was_waiting, old_service, was_done = _copy_onto(row, ticket, layout)
    now_waiting = row.state == TicketState.WAITING.value
    session = object_session(row)
    assert session is not None, "store() needs a ticket row loaded in a session"
    if (was_waiting, old_service) != (now_waiting, row.service_id):
        if was_waiting:
            bump_waiting(session, row.hall_id, old_service, row.business_day, -1)
        if now_waiting:
            bump_waiting(session, row.hall_id, row.service_id, row.business_day, +1)
    if ticket.state is TicketState.DONE and not was_done:
        bump_waiting(session, row.hall_id, row.service_id, row.business_day, 0, served=1)


def ticket_event(
    cls: type[ev.TicketEvent], row: TicketRow, layout: Layout, **extra: Any
) -> ev.TicketEvent:
    """Build a ticket event carrying the ticket's state after the change."""
    return cls(
        ticket_id=row.id,
        number=row.number,
        service=layout.services_by_id[row.service_id].code,
        state=row.state,
        window=row.window_no,
        priority=row.priority,
        call_count=row.call_count,
        extra=extra,
    )


def waiting_count(session: Session, service_id: int, day: date) -> int:
    """Count the tickets waiting for a service on a business day (targeted ones included)."""
    return (
        session.scalar(
            select(CounterRow.waiting).where(
                CounterRow.service_id == service_id, CounterRow.business_day == day
            )
        )
        or 0
    )


def bump_waiting(
    session: Session, hall_id: int, service_id: int, day: date, delta: int, *, served: int = 0
) -> None:
    """Move a service's waiting (and finished) count for the day (the counter row may be new)."""
    bump_counter(session.connection(), hall_id, service_id, day, delta, served)


_COUNTERS = cast(Table, CounterRow.__table__)
_TICKETS = cast(Table, TicketRow.__table__)
_counter = _COUNTERS.c
_BUMP = Prepared(
    update(_COUNTERS)
    .where(
        _counter.service_id == bindparam("b_service"),
        _counter.business_day == bindparam("b_day"),
    )
    .values(waiting=_counter.waiting + bindparam("b_waiting"),
            served=_counter.served + bindparam("b_served"))
    .returning(_counter.waiting)
)  # fmt: skip
_NEW_COUNTER = Prepared(insert(_COUNTERS).values(
    service_id=bindparam("b_service"), business_day=bindparam("b_day"), hall_id=bindparam("b_hall"),
    last_number=None, issued=0, waiting=bindparam("b_waiting"), served=bindparam("b_served"),
))  # fmt: skip
_WAITING = Prepared(
    select(_counter.waiting).where(
        _counter.service_id == bindparam("b_service"), _counter.business_day == bindparam("b_day")
    )
)


def bump_counter(
    connection: Connection, hall_id: int, service_id: int, day: date, waiting: int, served: int
) -> int:
    """Move a service's day counts by ``waiting`` and ``served``; return its waiting count."""
    key = {"b_service": service_id, "b_day": day}
    moved = {"b_waiting": waiting, "b_served": served}
    found = _BUMP.run(connection, key | moved).fetchall()
    if found:
        return int(found[0][0])
    _NEW_COUNTER.run(connection, key | moved | {"b_hall": hall_id})
    return waiting


def counted_waiting(connection: Connection, service_id: int, day: date) -> int:
    """The waiting count of a service's day counter, on the write's connection."""
    found = _WAITING.run(connection, {"b_service": service_id, "b_day": day}).fetchall()
    return int(found[0][0]) if found else 0


# ---------------------------------------------------------------- lean rows
# The window actions read and write a ticket as a plain row (``SimpleNamespace`` with the
# table's columns) through statements built once: an ORM instance, its identity map and
# flush cost several times the statements themselves (docs/BENCHMARKS.md).

COLUMNS: tuple[str, ...] = tuple(c.name for c in _TICKETS.c)
# What a change of the domain's Ticket may write, besides the service, staff and case number.
_SAVED = (*_FIELDS.values(), "service_id", "staff_id", "case_no")
_SAVE = Prepared(
    update(_TICKETS)
    .where(_TICKETS.c.id == bindparam("b_id"), _TICKETS.c.version == bindparam("b_version"))
    .values(version=bindparam("b_next"))
)


class RowReader:
    """Turn the driver's rows of ``columns`` into plain rows (attributes named as the columns).

    Values pass through the columns' types as the ORM would (UTC datetimes, dates, booleans).
    """

    def __init__(self, columns: Sequence[Any]) -> None:
        self.columns = list(columns)
        self._converters: dict[str, list[tuple[str, Callable[[Any], Any] | None]]] = {}

    def __call__(self, connection: Connection, cursor: Any) -> list[Any]:
        """Read every row of ``cursor``."""
        converters = self._converters.get(connection.dialect.name)
        if converters is None:
            dialect = connection.dialect
            # The driver's type codes (PostgreSQL's OIDs; None on SQLite) pick a conversion.
            codes = [d[1] for d in cursor.description or ()] or [None] * len(self.columns)
            converters = self._converters[dialect.name] = [
                (c.name, c.type._cached_result_processor(dialect, code))
                for c, code in zip(self.columns, codes, strict=True)
            ]
        return [
            SimpleNamespace(**{
                name: value if convert is None or value is None else convert(value)
                for (name, convert), value in zip(converters, row, strict=True)
            })
            for row in cursor.fetchall()
        ]  # fmt: skip


def save(connection: Connection, row: Any, ticket: Ticket, layout: Layout) -> int | None:
    """Write the domain's Ticket onto a lean row and its table row, keeping the day's counts.

    The UPDATE is a compare-and-set on the row's version: a row changed meanwhile raises
    StaleDataError (HTTP 409, "retry") and nothing is written. Returns the service's waiting
    count when it moved, else None.
    """
    was_waiting, old_service, was_done = _copy_onto(row, ticket, layout)
    values = {column: getattr(row, column) for column in _SAVED}
    cas = {"b_id": row.id, "b_version": row.version, "b_next": row.version + 1}
    if _SAVE.run(connection, values | cas).rowcount != 1:
        raise StaleDataError(f"ticket {row.number} changed meanwhile")
    row.version += 1
    now_waiting = row.state == TicketState.WAITING.value
    now_done = row.state == TicketState.DONE.value and not was_done
    waiting = None
    if (was_waiting, old_service) != (now_waiting, row.service_id):
        if was_waiting:
            waiting = bump_counter(connection, row.hall_id, old_service, row.business_day, -1, 0)
        if now_waiting:
            waiting = bump_counter(connection, row.hall_id, row.service_id, row.business_day, 1, 0)
    if now_done:
        bump_counter(connection, row.hall_id, row.service_id, row.business_day, 0, 1)
    return waiting


def people_ahead(session: Session, row: TicketRow, *, up_to: int | None = None) -> int:
    """Count the tickets of the same service queued before this one (at most ``up_to``)."""
    if row.state != TicketState.WAITING.value:
        return 0
    ahead = (
        select(TicketRow.id)
        .where(
            TicketRow.hall_id == row.hall_id,
            TicketRow.state == TicketState.WAITING.value,
            TicketRow.service_id == row.service_id,
            (TicketRow.queued_at < row.queued_at)
            | ((TicketRow.queued_at == row.queued_at) & (TicketRow.id < row.id)),
        )
        .limit(up_to)
    )
    return session.scalar(select(func.count()).select_from(ahead.subquery())) or 0


def iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def ticket_view(row: TicketRow, layout: Layout, *, staff: bool = True) -> dict[str, Any]:
    """The ticket as the API shows it; the public view leaves out people's data."""
    service = layout.services_by_id[row.service_id]
    view: dict[str, Any] = {
        "id": row.id,
        "number": row.number,
        "service": service.code,
        "service_name": service.name,
        "status": row.state,
        "priority": row.priority,
        "priority_kind": row.priority_kind,
        "window": row.window_no,
        "target_window": row.target_window,
        "zone": service.zone,
        "floor": service.floor,
        "business_day": row.business_day.isoformat(),
        "issued_at": iso(row.issued_at),
        "first_called_at": iso(row.first_called_at),
        "called_at": iso(row.called_at),
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
        "call_count": row.call_count,
        "wait_s": row.wait_s,
        "handle_s": row.handle_s,
    }
    if staff:
        view.update(
            token=row.token,
            hold_count=row.hold_count,
            transfer_count=row.transfer_count,
            no_show_count=row.no_show_count,
            phone=row.phone_masked,
            id_number=row.id_masked,
            case_no=row.case_no,
            staff_id=row.staff_id,
        )
    return view
