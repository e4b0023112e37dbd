"""Between ticket rows and the domain: load, store, and the views clients get."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, object_session

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


def store(row: TicketRow, ticket: Ticket, layout: Layout) -> None:
    """Write the domain's Ticket back onto its row, keeping the day's waiting counts.

    Every change of a ticket passes here, so this is the one place that moves the
    counters' ``waiting`` (what "people ahead" and the screens' queue lengths read).
    """
    was_waiting, old_service = row.state == TicketState.WAITING.value, row.service_id
    for name, column in _FIELDS.items():
        value = getattr(ticket, name)
        setattr(row, column, value.value if name == "state" else value)
    row.service_id = layout.service(ticket.service).id
    now_waiting = row.state == TicketState.WAITING.value
    if (was_waiting, old_service) != (now_waiting, row.service_id):
        session = object_session(row)
        assert session is not None, "store() needs a ticket row loaded in a session"
        if was_waiting:
            bump_waiting(session, row.hall_id, old_service, row.business_day, -1)
        if now_waiting:
            bump_waiting(session, row.hall_id, row.service_id, row.business_day, +1)


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


def bump_waiting(session: Session, hall_id: int, service_id: int, day: date, delta: int) -> None:
    """Move a service's waiting count for the day by ``delta`` (the counter row may be new)."""
    done = session.execute(
        update(CounterRow)
        .where(CounterRow.service_id == service_id, CounterRow.business_day == day)
        .values(waiting=CounterRow.waiting + delta)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(
            insert(CounterRow).values(
                service_id=service_id, business_day=day, hall_id=hall_id,
                last_number=None, issued=0, waiting=delta,
            )
        )  # fmt: skip


def people_ahead(session: Session, row: TicketRow) -> int:
    """Count the tickets of the same service queued before this one."""
    if row.state != TicketState.WAITING.value:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(TicketRow)
            .where(
                TicketRow.hall_id == row.hall_id,
                TicketRow.state == TicketState.WAITING.value,
                TicketRow.service_id == row.service_id,
                (TicketRow.queued_at < row.queued_at)
                | ((TicketRow.queued_at == row.queued_at) & (TicketRow.id < row.id)),
            )
        )
        or 0
    )


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
