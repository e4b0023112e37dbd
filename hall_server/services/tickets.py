"""Use cases of tickets: issue, read, requeue, cancel."""

from __future__ import annotations

import re
import secrets
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update

from ..db import Prepared
from ..domain import events as ev
from ..domain import tickets as rules
from ..domain.errors import Forbidden, InvalidInput, NotFound
from ..domain.numbering import Counter, business_day, check_open, next_number
from ..domain.queueing import requeue_position
from ..domain.tickets import TicketState
from ..models import Appointment, Window
from ..models import Counter as CounterRow
from ..models import Ticket as TicketRow
from .actors import Actor
from .context import HallContext, Layout
from .forecast import as_candidate, issued_ticket_eta, note_issue, ticket_eta
from .hall_log import HallWrite, hall_write
from .issuing import IssueRequest as IssueRequest  # issue_ticket's input, used from here
from .issuing import apply_issuing_rules
from .personal import PHONE, keyed_hash, mask_id, mask_phone
from .ticket_rows import people_ahead, store, ticket_event, ticket_view, to_domain, waiting_count

_COUNTERS = cast(Table, CounterRow.__table__)
_TICKETS = cast(Table, TicketRow.__table__)
_counters = _COUNTERS.c
# The hot path of the hall: statements built and compiled once, run on the cursor.
_COUNTER = Prepared(
    select(_counters.last_number, _counters.issued, _counters.waiting).where(
        _counters.service_id == bindparam("b_service"), _counters.business_day == bindparam("b_day")
    )
)
_COUNTS = (
    update(_COUNTERS)
    .where(
        _counters.service_id == bindparam("b_service"),
        _counters.business_day == bindparam("b_day"),
    )
    .values(last_number=bindparam("b_last"), issued=bindparam("b_issued"),
            waiting=bindparam("b_waiting"))
)  # fmt: skip
_SET_COUNTER = Prepared(_COUNTS)
_NEW_COUNTER = Prepared(insert(_COUNTERS).values(
    service_id=bindparam("b_service"), business_day=bindparam("b_day"),
    hall_id=bindparam("b_hall"), last_number=bindparam("b_last"),
    issued=bindparam("b_issued"), waiting=bindparam("b_waiting"), served=0,
))  # fmt: skip
_INSERT_TICKET = Prepared(insert(_TICKETS).returning(_TICKETS.c.id))
_counts_and_inserts: dict[tuple[str, ...], Prepared] = {}


def _count_and_insert(columns: tuple[str, ...]) -> Prepared:
    """PostgreSQL: the counter's update travels with the ticket's insert (an ``UPDATE`` in a
    ``WITH``), one round trip fewer while the hall row is held. The ticket's values are
    named ``t_<column>``: plain column names would be set on the counter too."""
    found = _counts_and_inserts.get(columns)
    if found is None:
        values = {name: bindparam(f"t_{name}", type_=_TICKETS.c[name].type) for name in columns}
        statement = (insert(_TICKETS).values(values).returning(_TICKETS.c.id)
                     .add_cte(_COUNTS.cte("set_counter")))  # fmt: skip
        found = _counts_and_inserts[columns] = Prepared(statement)
    return found


def issue_ticket(
    ctx: HallContext,
    actor: Actor,
    request: IssueRequest,
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
    recorded: bool = False,
) -> dict[str, Any]:
    """Issue a ticket: next number of the service's day counter, in one transaction.

    ``recorded``: the request is one the hall log recorded (exact replay, 重放), with what
    the issuing rules decided then (a green channel from an ID number the log does not
    keep); the rules are not run again. Never set from a request.
    """
    scope = f"{actor.kind}:{actor.id}:POST /tickets"
    with hall_write(ctx, actor, now) as write:
        earlier = write.replay(scope, idempotency_key)
        issued = None if earlier is not None else _issue(write, actor, request, recorded)
        if issued is not None:
            write.remember(scope, idempotency_key, 201, issued.body)
    # The ETA after the commit: its reads, when it needs any, do not hold the hall's row.
    if issued is None:
        assert earlier is not None
        return earlier | _eta_now(ctx, earlier["id"], write.now)
    eta = issued_ticket_eta(ctx, issued.row, write.now, seq=issued.seq,
                            fallback_ahead=issued.ahead, slot=issued.slot)  # fmt: skip
    return issued.body | eta


@dataclass(frozen=True, slots=True)
class _Issued:
    body: dict[str, Any]  # the answer without its ETA, as an idempotent retry finds it
    row: Any
    seq: int
    ahead: int
    slot: tuple[datetime, datetime] | None


def _eta_now(ctx: HallContext, ticket_id: int, now: datetime) -> dict[str, Any]:
    """A retried issue's ETA: the ticket's as the hall stands now."""
    with ctx.db.read() as session:
        row = session.get(TicketRow, ticket_id)
        assert row is not None
        return ticket_eta(ctx, session.connection(), row, now, lambda: people_ahead(session, row))


def _issue(write: HallWrite, actor: Actor, request: IssueRequest, recorded: bool) -> _Issued:
    """The issue inside its write: rules, number, counter, ticket, log."""
    ctx = write.ctx
    if not recorded:
        request = apply_issuing_rules(write, actor, request)
    layout = write.layout
    appointment = _check_in(write, request) if request.appointment_code else None
    service = layout.service(appointment_service(layout, appointment) or request.service)
    check_open(service.name, service.hours, write.now, layout.tz)
    day = business_day(write.now, layout.tz)
    connection = write.connection
    key = {"b_service": service.id, "b_day": day}
    counter = _known_counter(ctx, write.hall.last_seq, service.id, day)
    if counter is None:
        counter = next(iter(_COUNTER.run(connection, key).fetchall()), None)
    last, issued, ahead = counter if counter is not None else (None, 0, 0)
    number, after = next_number(service.rule, Counter(last, issued))
    values: dict[str, Any] = {
        "hall_id": write.hall.id,
        "service_id": service.id,
        "business_day": day,
        "number": number,
        "token": secrets.token_urlsafe(24),
        "state": TicketState.WAITING.value,
        "priority": request.priority or appointment is not None,
        "priority_kind": "预约" if appointment is not None else request.priority_kind,
        "issued_at": write.now,
        "queued_at": write.now,
        "kiosk_id": actor.id if actor.kind == "device" else None,
        "appointment_id": appointment.id if appointment is not None else None,
        **_person(request, ctx.secret),
    }
    counts = {"b_last": after.last, "b_issued": after.issued, "b_waiting": ahead + 1}
    if counter is None:
        _NEW_COUNTER.run(connection, {**key, **counts, "b_hall": write.hall.id})
        inserted = _INSERT_TICKET.run(connection, values | _FRESH)
    elif connection.dialect.name == "postgresql":
        row_values = values | _FRESH
        named = {f"t_{name}": value for name, value in row_values.items()}
        inserted = _count_and_insert(tuple(row_values)).run(connection, named | key | counts)
    else:
        _SET_COUNTER.run(connection, {**key, **counts})
        inserted = _INSERT_TICKET.run(connection, values | _FRESH)
    [(ticket_id,)] = inserted.fetchall()
    row = _new_row(ticket_id, values)
    slot = (appointment.slot_start, appointment.slot_end) if appointment is not None else None
    if appointment is not None:
        appointment.state, appointment.ticket_id = "checked_in", row.id
    seq = write.log(
        ticket_event(ev.TicketIssued, row, layout, waiting=ahead + 1),
        ticket_id=row.id,
    )
    candidate, counts_now = as_candidate(row, layout, slot), (after.last, after.issued, ahead + 1)

    def committed() -> None:  # the hall's lock of this process still held
        note_issue(ctx, seq, candidate)
        _keep_counter(ctx, write.seq, write.hall.last_seq, service.id, day, counts_now)

    write.committed.append(committed)
    return _Issued(ticket_view(row, layout), row, seq, ahead, slot)


@dataclass
class _KnownCounters:
    """A hall's day counters as this process last wrote them, true while the hall's seq is
    still the one its last issue made: any other write (a call, a transfer, an issue by
    another process) moves the seq on, and the counters are read again."""

    seq: int
    day: date
    counters: dict[int, tuple[Any, ...]]


_known: weakref.WeakKeyDictionary[HallContext, _KnownCounters] = weakref.WeakKeyDictionary()


def _known_counter(ctx: HallContext, seq: int, service_id: int, day: date) -> Any:
    """The counter row (last, issued, waiting) known at ``seq``, or None (read it)."""
    known = _known.get(ctx)
    if known is None or known.seq != seq or known.day != day:
        return None
    return known.counters.get(service_id)


def _keep_counter(ctx: HallContext, seq: int, seq_before: int, service_id: int, day: date,
                  counts: tuple[Any, ...]) -> None:  # fmt: skip
    """After an issue committed (the hall's lock of this process still held): its counter,
    and the others known at the seq before it, are the hall's at ``seq``."""
    known = _known.get(ctx)
    if known is None or known.seq != seq_before or known.day != day:
        known = _KnownCounters(seq, day, {})
    known.seq = seq
    known.counters[service_id] = counts
    _known[ctx] = known


def _new_row(ticket_id: int, values: dict[str, Any]) -> TicketRow:
    """The new ticket as the views read it: its columns, without an ORM instance.

    Nothing is loaded or changed through it; building a mapped ``Ticket`` cost a tenth of
    an issue.
    """
    return cast(TicketRow, SimpleNamespace(id=ticket_id, **values, **_FRESH))


def appointment_service(layout: Layout, appointment: Appointment | None) -> str | None:
    if appointment is None:
        return None
    return layout.services_by_id[appointment.service_id].code


# A new ticket's counts and times, as the row's column defaults would set them.
_FRESH: dict[str, Any] = {
    "call_count": 0, "recalls": 0, "hold_count": 0, "transfer_count": 0, "no_show_count": 0,
    "handle_s": 0.0, "wait_s": None, "window_no": None, "target_window": None,
    "staff_id": None, "first_called_at": None, "called_at": None, "started_at": None,
    "finished_at": None, "ended_at": None, "case_no": "", "version": 1,
}  # fmt: skip


def _person(request: IssueRequest, secret: str) -> dict[str, Any]:
    """The visitor's phone and ID as stored: a keyed hash and a masked form, never in full."""
    person: dict[str, Any] = {
        "phone_hash": None,
        "phone_masked": "",
        "id_hash": None,
        "id_masked": "",
    }
    if request.phone:
        phone = request.phone.strip()
        if not PHONE.match(phone):
            raise InvalidInput("手机号格式不正确 (the phone number must be 11 digits, 1[3-9]…).")
        person |= {"phone_hash": keyed_hash(secret, phone), "phone_masked": mask_phone(phone)}
    if request.id_number:
        id_number = request.id_number.strip().upper()
        if not re.fullmatch(r"\d{17}[\dX]", id_number):
            raise InvalidInput("身份证号格式不正确 (the ID number must be 18 characters).")
        person |= {"id_hash": keyed_hash(secret, id_number), "id_masked": mask_id(id_number)}
    return person


def _check_in(write: HallWrite, request: IssueRequest) -> Appointment:
    code = (request.appointment_code or "").strip().upper()
    appointment = write.session.scalar(
        select(Appointment).where(Appointment.hall_id == write.hall.id, Appointment.code == code)
    )
    if appointment is None:
        raise NotFound(f"没有预约号 {code} (no appointment with code {code}).")
    if appointment.state != "booked":
        raise InvalidInput(
            f"预约 {code} 已使用或已失效 (appointment {code} was already used, cancelled "
            "or has expired)."
        )
    policy = write.layout.policy
    early = int(policy.get("appointment_early_min", 30)) * 60
    late = int(policy.get("appointment_late_min", 15)) * 60
    opens = appointment.slot_start.timestamp() - early
    closes = appointment.slot_end.timestamp() + late
    now = write.now.timestamp()
    slot = (
        f"{write.layout.local(appointment.slot_start):%H:%M}-"
        f"{write.layout.local(appointment.slot_end):%H:%M}"
    )
    if now < opens:
        raise InvalidInput(
            f"预约时段为{slot}，请于开始前{early // 60}分钟内签到 "
            f"(your slot is {slot}: check in at most {early // 60} minutes early)."
        )
    if now > closes:
        raise InvalidInput(
            f"预约时段{slot}已过，请重新取号 (your slot {slot} has passed: take a normal ticket)."
        )
    return appointment


def load_ticket(write: HallWrite, ticket_id: int) -> TicketRow:
    """Find a ticket of this hall by id, or raise NotFound."""
    row = write.session.get(TicketRow, ticket_id)
    if row is None or row.hall_id != write.hall.id:
        raise NotFound(f"没有此号票 (no ticket with id {ticket_id}).")
    return row


def get_ticket(ctx: HallContext, ticket_id: int, *, staff: bool = True) -> dict[str, Any]:
    """Read one ticket with its place in the queue; devices get the public view."""
    with ctx.db.read() as session:
        row = session.get(TicketRow, ticket_id)
        if row is None or row.hall_id != ctx.hall_id:
            raise NotFound(f"没有此号票 (no ticket with id {ticket_id}).")
        view = ticket_view(row, ctx.layout, staff=staff)
        return view | ticket_eta(ctx, session.connection(), row, ctx.clock(),
                                 lambda: people_ahead(session, row))  # fmt: skip


def public_ticket(ctx: HallContext, token: str) -> dict[str, Any]:
    """What a visitor's phone shows: status, place in the queue, ETA, window when called."""
    with ctx.db.read() as session:
        row = session.scalar(
            select(TicketRow).where(TicketRow.token == token, TicketRow.hall_id == ctx.hall_id)
        )
        if row is None:
            raise NotFound("号票不存在或已失效 (no such ticket).")
        layout = ctx.layout
        eta = ticket_eta(ctx, session.connection(), row, ctx.clock(),
                         lambda: people_ahead(session, row))  # fmt: skip
        place = {
            "hall_name": layout.name,
            "state_name": rules.STATE_NAMES_ZH[TicketState(row.state)],
            "token": row.token,
            # The called window's floor, named on the phone when the hall has several floors.
            "window_floor": _window_floor(layout, row.window_no),
        }
        return ticket_view(row, layout, staff=False) | eta | place


def _window_floor(layout: Layout, window: int | None) -> int | None:
    found = layout.windows.get(window) if window is not None else None
    if found is None or len({w.floor for w in layout.windows.values()}) < 2:
        return None
    return int(found.floor)


def requeue_ticket(
    ctx: HallContext, actor: Actor, ticket_id: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """Put a returning no-show back in the queue, or a held ticket back for its window."""
    with hall_write(ctx, actor, now) as write:
        row = load_ticket(write, ticket_id)
        ticket = to_domain(row, write.layout)
        policy = write.layout.policy
        if ticket.state is TicketState.HELD:
            changed = rules.return_from_hold(ticket, write.now)
            source = "hold"
        else:
            after_n = int(policy.get("requeue_after_n", 3))
            # requeue_position reads only the first after_n + 1 queue times: the head of the
            # queue index, not the whole queue.
            waiting = write.session.scalars(
                select(TicketRow.queued_at)
                .where(
                    TicketRow.hall_id == write.hall.id,
                    TicketRow.state == TicketState.WAITING.value,
                    TicketRow.service_id == row.service_id,
                )
                .order_by(TicketRow.queued_at)
                .limit(max(after_n, 0) + 1)
            ).all()
            position = requeue_position(
                str(policy.get("no_show_requeue", "after_n")),
                row.issued_at,
                write.now,
                waiting,
                after_n,
            )
            changed = rules.requeue(
                ticket,
                write.now,
                queued_at=position,
                return_limit_min=int(policy.get("no_show_return_limit_min", 60)),
            )
            source = "no_show"
        window = row.window_no
        store(row, changed, write.layout)
        write.log(
            ticket_event(
                ev.TicketRequeued,
                row,
                write.layout,
                source=source,
                waiting=waiting_count(write.session, row.service_id, row.business_day),
            ),
            ticket_id=row.id,
            window=window,
        )
        return ticket_view(row, write.layout) | {"people_ahead": people_ahead(write.session, row)}


def cancel_ticket(
    ctx: HallContext,
    actor: Actor,
    *,
    ticket_id: int | None = None,
    token: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Cancel a visit: staff by id, the visitor by the ticket's token (waiting only)."""
    with hall_write(ctx, actor, now) as write:
        if token is not None:
            row = write.session.scalar(
                select(TicketRow).where(
                    TicketRow.token == token, TicketRow.hall_id == write.hall.id
                )
            )
            if row is None:
                raise NotFound("号票不存在或已失效 (no such ticket).")
            if row.state != TicketState.WAITING.value:
                raise Forbidden(
                    "号票已叫号，请到窗口办理 (the ticket was called: go to the window)."
                )
        else:
            assert ticket_id is not None
            row = load_ticket(write, ticket_id)
            _check_window_holder(write, actor, row)
        window = row.window_no
        store(row, rules.cancel(to_domain(row, write.layout), write.now), write.layout)
        write.log(
            ticket_event(
                ev.TicketCancelled,
                row,
                write.layout,
                waiting=waiting_count(write.session, row.service_id, row.business_day),
            ),
            ticket_id=row.id,
            window=window,
        )
        return ticket_view(row, write.layout, staff=actor.kind == "staff")


def _check_window_holder(write: HallWrite, actor: Actor, row: TicketRow) -> None:
    """Staff touch a ticket at a window only when the window is theirs (or nobody's)."""
    if not actor.is_staff or actor.is_supervisor or row.window_no is None:
        return
    holder = write.session.scalar(
        select(Window.staff_id).where(
            Window.hall_id == write.hall.id, Window.number == row.window_no
        )
    )
    if holder not in (None, actor.id):
        raise Forbidden(
            f"{row.number} 在{row.window_no}号窗口，由其他工作人员处理 "
            f"({row.number} is at window {row.window_no}, held by another member of staff)."
        )


def expire_open_tickets(ctx: HallContext, actor: Actor, *, now: datetime | None = None) -> int:
    """End every open ticket of a business day before today (run at start and each minute)."""
    with hall_write(ctx, actor, now) as write:
        today = business_day(write.now, write.layout.tz)
        rows = write.session.scalars(
            select(TicketRow)
            .where(
                TicketRow.hall_id == write.hall.id,
                TicketRow.business_day < today,
                TicketRow.state.in_([s.value for s in rules.OPEN]),
            )
            .order_by(TicketRow.id)
            .limit(5000)
        ).all()
        for row in rows:
            store(row, rules.expire(to_domain(row, write.layout), write.now), write.layout)
            write.log(ticket_event(ev.TicketExpired, row, write.layout), ticket_id=row.id)
        return len(rows)
