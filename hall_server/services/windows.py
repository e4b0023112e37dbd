"""Use cases of a window: open, pause, resume, close, and every call action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    TextualSelect,
    bindparam,
    false,
    literal_column,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.orm.exc import StaleDataError

from ..contract import CALL_ACTIONS, WINDOW_ACTIONS, WINDOW_STATE_ACTIONS
from ..db import Prepared
from ..domain import events as ev
from ..domain import tickets as rules
from ..domain import windows as wrules
from ..domain.errors import Forbidden, IllegalTransition, InvalidInput, NotFound
from ..domain.numbering import business_day
from ..domain.queueing import Candidate, call_next
from ..domain.tickets import TicketState
from ..models import Appointment, Staff
from ..models import Ticket as TicketRow
from ..models import Window as WindowRow
from .actors import Actor
from .context import HallContext, Layout
from .hall_log import HallWrite, hall_write
from .ticket_rows import RowReader, counted_waiting, save, ticket_event, ticket_view, to_domain

ACTIONS = frozenset(WINDOW_ACTIONS)  # the contract's names (hall_server/contract.py)
_WINDOW_EVENTS: dict[str, type[ev.WindowEvent]] = {
    "open": ev.WindowOpened,
    "pause": ev.WindowPaused,
    "resume": ev.WindowResumed,
    "close": ev.WindowClosed,
}


@dataclass(frozen=True, slots=True)
class WindowCommand:
    """One press of a window's button, with its arguments."""

    action: str
    number: str | None = None  # call: the ticket number to call (特呼)
    service: str | None = None  # transfer
    window: int | None = None  # transfer
    reason: str = ""  # pause
    note: str = ""  # transfer
    case_no: str = ""  # finish: the case system's 办件编号


def window_view(row: Any, write_or_layout: Any, staff_name: str = "") -> dict[str, Any]:
    """A window as clients see it."""
    layout = getattr(write_or_layout, "layout", write_or_layout)
    info = layout.windows.get(row.number)
    return {
        "number": row.number,
        "name": row.name,
        "zone": row.zone,
        "floor": row.floor,
        "general": row.general,
        "state": row.state,
        "pause_reason": row.pause_reason,
        "state_since": row.state_since.isoformat() if row.state_since else None,
        "staff": staff_name,
        "services": sorted(info.weights) if info else [],
    }


# ---------------------------------------------------------------- statements
# Every window action runs on the write's connection with statements built once and rows
# read as plain values (ticket_rows.RowReader): the ORM's per-call work cost call-next and
# finish four to seven times an issue (docs/BENCHMARKS.md).

_TICKETS = cast(Table, TicketRow.__table__)
_WINDOWS = cast(Table, WindowRow.__table__)
_APPOINTMENTS = cast(Table, Appointment.__table__)
_STAFF = cast(Table, Staff.__table__)
_t, _w, _a = _TICKETS.c, _WINDOWS.c, _APPOINTMENTS.c
# Literal in the SQL, not a parameter: the partial indexes match only a literal condition.
_WAITING_SQL = _t.state == literal_column("'waiting'")

_WINDOW_COLUMNS = [_w[name] for name in (
    "id", "number", "name", "zone", "floor", "general", "state", "pause_reason",
    "state_since", "priority_streak", "staff_id",
)]  # fmt: skip
_WINDOW_ROWS = RowReader(_WINDOW_COLUMNS)
_WINDOW = Prepared(
    select(*_WINDOW_COLUMNS).where(
        _w.hall_id == bindparam("b_hall"), _w.number == bindparam("b_number")
    )
)
_SAVE_WINDOW = Prepared(
    update(_WINDOWS)
    .where(_w.id == bindparam("b_id"))
    .values(state=bindparam("b_state"), pause_reason=bindparam("b_reason"),
            state_since=bindparam("b_since"), priority_streak=bindparam("b_streak"),
            staff_id=bindparam("b_staff"))
)  # fmt: skip
_STAFF_NAME = Prepared(
    select(_STAFF.c.name, _STAFF.c.login).where(_STAFF.c.id == bindparam("b_staff"))
)
_OTHER_WINDOW = Prepared(
    select(_w.number)
    .where(
        _w.hall_id == bindparam("b_hall"),
        _w.staff_id == bindparam("b_staff"),
        _w.number != bindparam("b_number"),
    )
    .limit(1)
)
_TICKET_ROWS = RowReader(list(_TICKETS.c))
_AT_WINDOW = Prepared(
    select(_TICKETS).where(
        _t.hall_id == bindparam("b_hall"),
        _t.window_no == bindparam("b_window"),
        _t.state.in_([literal_column(f"'{s.value}'") for s in sorted(rules.AT_WINDOW)]),
    )
)
# SQLite is told which index to use: with the statistics ANALYZE gathers on a day of
# synthetic or unusual data its planner was seen scanning the whole table for this.
_AT_WINDOW_SQLITE = Prepared(
    text(
        f"SELECT {', '.join(f'tickets.{c.name}' for c in _TICKETS.c)}"
        " FROM tickets INDEXED BY ix_tickets_window"
        " WHERE tickets.hall_id = :b_hall AND tickets.window_no = :b_window"
        " AND tickets.state IN ('called', 'serving')"
    )
    .bindparams(
        bindparam("b_hall", type_=_t.hall_id.type), bindparam("b_window", type_=_t.window_no.type)
    )
    .columns(*_TICKETS.c)
)
_BY_ID = Prepared(select(_TICKETS).where(_t.id == bindparam("b_id")))
_BY_NUMBER = Prepared(
    select(_TICKETS).where(
        _t.hall_id == bindparam("b_hall"),
        _t.service_id == bindparam("b_service"),
        _t.business_day == bindparam("b_day"),
        _t.number == bindparam("b_number"),
    )
)


def _one(write: HallWrite, statement: Prepared, reader: RowReader, **params: Any) -> Any | None:
    rows = reader(write.connection, statement.run(write.connection, params))
    return rows[0] if rows else None


def _load_window(write: HallWrite, number: int) -> Any:
    write.layout.window(number)  # NotFound with the window's number
    row = _one(write, _WINDOW, _WINDOW_ROWS, b_hall=write.hall.id, b_number=number)
    if row is None:
        raise NotFound(f"没有{number}号窗口 (no window {number}).")
    return row


def _store_window(write: HallWrite, row: Any) -> None:
    _SAVE_WINDOW.run(write.connection, {
        "b_id": row.id, "b_state": row.state, "b_reason": row.pause_reason,
        "b_since": row.state_since, "b_streak": row.priority_streak, "b_staff": row.staff_id,
    })  # fmt: skip


def _staff_name(write: HallWrite, staff_id: int | None, default: str = "") -> str:
    if staff_id is None:
        return default
    found = _STAFF_NAME.run(write.connection, {"b_staff": staff_id}).fetchall()
    return (found[0][0] or found[0][1]) if found else default


def _authorise(write: HallWrite, window: Any, action: str) -> None:
    """Staff act on their own window; supervisors on any; agents on their bound windows."""
    actor = write.actor
    if actor.is_supervisor:
        return
    if actor.kind == "device" and actor.role == "agent" and window.number in actor.windows:
        return
    if actor.is_staff:
        if window.staff_id == actor.id:
            return
        if window.staff_id is None:
            _one_window_each(write, window)
            return
        name = _staff_name(write, window.staff_id, "其他人员")
        raise Forbidden(
            f"{window.number}号窗口由{name}使用中，不能操作 "
            f"(window {window.number} is in use by {name})."
        )
    raise Forbidden(
        f"无权操作{window.number}号窗口 (not allowed to act on window {window.number})."
    )


def _one_window_each(write: HallWrite, window: Any) -> None:
    """A member of staff serves at one window at a time."""
    params = {"b_hall": write.hall.id, "b_staff": write.actor.id, "b_number": window.number}
    other = _OTHER_WINDOW.run(write.connection, params).fetchall()
    if other:
        raise Forbidden(
            f"您正在{other[0][0]}号窗口服务，请先关闭该窗口 "
            f"(you already serve at window {other[0][0]}: close it first)."
        )


def _current(write: HallWrite, number: int) -> Any | None:
    statement = _AT_WINDOW_SQLITE if write.connection.dialect.name == "sqlite" else _AT_WINDOW
    return _one(write, statement, _TICKET_ROWS, b_hall=write.hall.id, b_window=number)


def _require_current(write: HallWrite, number: int) -> Any:
    row = _current(write, number)
    if row is None:
        raise IllegalTransition(
            f"{number}号窗口当前没有号票 (window {number} has no called ticket)."
        )
    return row


def _require_free(write: HallWrite, number: int) -> None:
    row = _current(write, number)
    if row is not None:
        raise IllegalTransition(
            f"请先办结、过号或转移当前的 {row.number} "
            f"(finish, no-show or transfer {row.number} first)."
        )


def window_action(
    ctx: HallContext,
    actor: Actor,
    number: int,
    command: WindowCommand,
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Carry out one window action in one transaction; return the window and its ticket."""
    if command.action not in ACTIONS:
        raise NotFound(f"没有此操作：{command.action} (unknown window action).")
    scope = f"{actor.kind}:{actor.id}:POST /windows/{number}/{command.action}"
    with hall_write(ctx, actor, now) as write:
        if (earlier := write.replay(scope, idempotency_key)) is not None:
            return earlier
        window = _load_window(write, number)
        _authorise(write, window, command.action)
        if command.action in WINDOW_STATE_ACTIONS:
            ticket = _window_state(write, window, command)
        else:
            if command.action in CALL_ACTIONS:  # a paused window still finishes its ticket
                wrules.require_open(_as_domain_window(window))
            ticket = _TICKET_HANDLERS[command.action](write, window, command)
        body = {
            "window": window_view(window, write, _staff_name(write, window.staff_id)),
            "ticket": ticket_view(ticket, write.layout) if ticket is not None else None,
        }
        write.remember(scope, idempotency_key, 200, body)
        return body


def _as_domain_window(row: Any) -> wrules.Window:
    return wrules.Window(
        number=row.number,
        state=wrules.WindowState(row.state),
        pause_reason=row.pause_reason,
        state_since=row.state_since,
        priority_streak=row.priority_streak,
    )


def _window_state(write: HallWrite, row: Any, command: WindowCommand) -> Any | None:
    action = wrules.WindowAction(command.action)
    if action is wrules.WindowAction.CLOSE:
        _require_free(write, row.number)
    changed = wrules.act(_as_domain_window(row), action, write.now, reason=command.reason)
    row.state, row.pause_reason = changed.state.value, changed.pause_reason
    row.state_since, row.priority_streak = changed.state_since, changed.priority_streak
    if write.actor.is_staff:
        if action is wrules.WindowAction.OPEN:
            row.staff_id = write.actor.id
        elif action is wrules.WindowAction.CLOSE:
            row.staff_id = None
    _store_window(write, row)
    write.log(
        _WINDOW_EVENTS[command.action](window=row.number, state=row.state, reason=row.pause_reason),
        window=row.number,
    )
    return _current(write, row.number)


def _candidates(write: HallWrite, number: int) -> list[Candidate]:
    """The few waiting tickets among which call-next's choice always lies, from indexes.

    Each is the first entry of an index scan (models.Ticket's partial indexes), so the cost
    depends on the services the window serves, not on how many tickets wait:

    - the first ticket reserved for this window (``ix_tickets_targeted``);
    - the checked-in appointment in its slot that comes first by (slot start, queue time)
      (``ix_tickets_booked`` holds only waiting tickets with an appointment);
    - per service the window serves, the first green-channel and the first normal ticket
      not reserved for any window (``ix_tickets_heads``).

    Why ``queueing.call_next`` over these picks what it picks over every waiting ticket:
    step 1 takes the earliest reserved ticket, and step 2 the in-slot appointment first by
    (slot start, queue time, id): each is exactly one of the rows above, and either step
    happens over the candidates iff it happens over all tickets. Otherwise the policy takes
    from the green-channel or the normal pool (which one depends only on whether the pools
    are empty, the same here) the ticket of highest aged weight, the earliest among equals.
    A ticket's aged weight is its service's weight plus floor(minutes waited / aging_min):
    within one service the weight is the same, and a ticket queued earlier has waited at
    least as long, so the head of a service's pool has an aged weight at least that of every
    other ticket of that service and pool, and comes before them in the queue. So the
    winner over all tickets is a head (were it not, its head would beat or tie-and-precede
    it), and the heads contain it: the choice is the same. The property test
    (tests/hall_server/test_call_next_indexed.py) checks this against the policy run over
    every waiting ticket.
    """
    statement = _candidate_statement(write.layout, number, write.connection.dialect.name)
    policy = write.layout.call_policy
    now = write.now
    params = {
        "b_hall": write.hall.id,
        "b_window": number,
        "b_now": now,
        "b_latest_start": now + timedelta(minutes=policy.appointment_early_min),
    }
    rows = _CANDIDATE_ROWS(write.connection, statement.run(write.connection, params))
    services = write.layout.services_by_id
    found: dict[int, Candidate] = {}
    for r in rows:
        found[r.id] = Candidate(
            id=r.id,
            service=services[r.service_id].code,
            queued_at=r.queued_at,
            priority=bool(r.priority),
            target_window=r.target_window,
            slot_start=r.slot_start,
            slot_end=r.slot_end,
        )
    return list(found.values())


_CANDIDATE_COLUMNS = [_t.id, _t.service_id, _t.queued_at, _t.priority, _t.target_window,
                      _a.slot_start, _a.slot_end]  # fmt: skip
_CANDIDATE_ROWS = RowReader(_CANDIDATE_COLUMNS)
_candidate_statements: dict[tuple[tuple[int, ...], str], Prepared] = {}


_SQLITE_HEAD = (
    "SELECT tickets.id, tickets.service_id, tickets.queued_at, tickets.priority,"
    " tickets.target_window, appointments.slot_start, appointments.slot_end"
    " FROM tickets INDEXED BY {index}"
    " {join} appointments ON appointments.id = tickets.appointment_id"
    " WHERE tickets.hall_id = :b_hall AND tickets.state = 'waiting' AND {where}"
    " ORDER BY {order}tickets.queued_at, tickets.id LIMIT 1"
)


def _sqlite_heads(served: list[int]) -> list[TextualSelect]:
    """The index heads on SQLite, each told which partial index to walk.

    With the statistics ANALYZE gathers, SQLite's planner took the queue index (hall, state,
    service) for a head and then walked it until the first green-channel ticket: every
    waiting ticket of the service when none had priority. Without statistics it did the
    same for the appointments.
    """
    ids = ", ".join(str(int(service_id)) for service_id in served)
    parts = [
        _SQLITE_HEAD.format(
            index="ix_tickets_targeted", join="LEFT OUTER JOIN", order="",
            where="tickets.target_window = :b_window",
        )
    ]  # fmt: skip
    if served:
        parts.append(
            _SQLITE_HEAD.format(
                index="ix_tickets_booked", join="JOIN", order="appointments.slot_start, ",
                where="tickets.appointment_id IS NOT NULL AND tickets.target_window IS NULL"
                f" AND tickets.service_id IN ({ids})"
                " AND appointments.slot_start <= :b_latest_start"
                " AND appointments.slot_end >= :b_now",
            )
        )  # fmt: skip
    for service_id in served:
        for priority in (1, 0):
            parts.append(
                _SQLITE_HEAD.format(
                    index="ix_tickets_heads", join="LEFT OUTER JOIN", order="",
                    where="tickets.target_window IS NULL"
                    f" AND tickets.service_id = {int(service_id)}"
                    f" AND tickets.priority = {priority}",
                )
            )  # fmt: skip
    return [
        text(sql)
        .bindparams(
            *(
                bindparam(name, type_=column.type)
                for name, column in (
                    ("b_hall", _t.hall_id), ("b_window", _t.target_window),
                    ("b_latest_start", _a.slot_start), ("b_now", _a.slot_end),
                )
                if f":{name}" in sql
            )
        )
        .columns(*_CANDIDATE_COLUMNS)
        for sql in parts
    ]  # fmt: skip


def _candidate_statement(layout: Layout, number: int, dialect: str) -> Prepared:
    """One UNION ALL of the window's index heads, built once per set of services served.

    Keyed by what the statement is made of (the services' ids and the dialect), not by the
    window or layout: two databases in one process (the simulator, tests) may both have a
    hall 1 whose window 4 serves different services.
    """
    served = sorted(layout.services[code].id for code in layout.windows[number].weights)
    key = (tuple(served), dialect)
    statement = _candidate_statements.get(key)
    if statement is not None:
        return statement
    base = (
        select(*_CANDIDATE_COLUMNS)
        .select_from(_TICKETS.outerjoin(_APPOINTMENTS, _a.id == _t.appointment_id))
        .where(_t.hall_id == bindparam("b_hall"), _WAITING_SQL)
    )
    fifo = (_t.queued_at, _t.id)
    parts: list[Select[Any] | TextualSelect] = [
        base.where(_t.target_window == bindparam("b_window")).order_by(*fifo)
    ]
    if dialect == "sqlite":
        parts = list(_sqlite_heads(served))
    elif served:
        ids: list[Any] = [literal_column(str(int(service_id))) for service_id in served]
        parts.append(
            base.where(
                _t.appointment_id.is_not(None),
                _t.target_window.is_(None),
                _t.service_id.in_(ids),
                _a.slot_start <= bindparam("b_latest_start"),
                _a.slot_end >= bindparam("b_now"),
            ).order_by(_a.slot_start, *fifo)
        )
        for service_id in ids:
            for priority in (true(), false()):
                parts.append(
                    base.where(
                        _t.target_window.is_(None),
                        _t.service_id == service_id,
                        _t.priority == priority,
                    ).order_by(*fifo)
                )
    # PostgreSQL: a head another transaction holds is passed over, never waited for (the
    # hall lock already orders writers; this keeps a claim from ever blocking on a row).
    heads = [
        select(
            (
                part.limit(1).with_for_update(of=_TICKETS, skip_locked=True)
                if isinstance(part, Select)
                else part
            ).subquery()
        )
        for part in parts
    ]
    statement = Prepared(union_all(*heads))
    if len(_candidate_statements) > 1000:  # layouts changed many times: start afresh
        _candidate_statements.clear()
    _candidate_statements[key] = statement
    return statement


def _claim(write: HallWrite, window: Any, row: Any, reason: str) -> Any:
    """Call ``row`` to ``window``.

    Writers of a hall are serialised (see hall_log), and the ticket's UPDATE is besides a
    compare-and-set on its version column (ticket_rows.save): a claim that lost a race fails
    with StaleDataError (409, "retry") instead of calling one ticket to two windows.
    """
    called = rules.call(to_domain(row, write.layout), window.number, write.now)
    row.staff_id = window.staff_id or (write.actor.id if write.actor.is_staff else None)
    waiting = save(write.connection, row, called, write.layout)
    write.log(
        ticket_event(
            ev.TicketCalled,
            row,
            write.layout,
            reason=reason,
            window_name=window.name,
            waiting=waiting
            if waiting is not None
            else counted_waiting(write.connection, row.service_id, row.business_day),
        ),
        ticket_id=row.id,
        window=window.number,
    )
    return row


def _call_next(write: HallWrite, window: Any, _: WindowCommand) -> Any | None:
    _require_free(write, window.number)
    decision = call_next(
        window.number,
        write.layout.windows[window.number].weights,
        _candidates(write, window.number),
        write.layout.call_policy,
        write.now,
        window.priority_streak,
    )
    if decision.ticket is None:
        return None
    row = _one(write, _BY_ID, _TICKET_ROWS, b_id=decision.ticket.id)
    if row is None or row.state != TicketState.WAITING.value:
        raise StaleDataError(f"ticket {decision.ticket.id} changed meanwhile")
    if window.priority_streak != decision.priority_streak:
        window.priority_streak = decision.priority_streak
        _store_window(write, window)
    return _claim(write, window, row, decision.reason.value if decision.reason else "")


def _call_number(write: HallWrite, window: Any, command: WindowCommand) -> Any:
    if not command.number:
        raise InvalidInput("特呼需要号码 (give the ticket number to call).")
    _require_free(write, window.number)
    number = command.number.strip().upper()
    day = business_day(write.now, write.layout.tz)
    row = None
    # A number is its service's prefix and digits (prefixes are unique in a hall): the
    # lookup is one entry of the (hall, service, day, number) unique index.
    for service in write.layout.services.values():
        prefix = service.prefix.upper()
        if number.startswith(prefix) and number[len(prefix) :].isdigit():
            params = {"b_hall": write.hall.id, "b_service": service.id, "b_day": day}
            row = _one(write, _BY_NUMBER, _TICKET_ROWS, **params, b_number=number)
            if row is not None:
                break
    if row is None:
        raise NotFound(f"今天没有号票 {number} (no ticket {number} today).")
    service = write.layout.services_by_id[row.service_id]
    weights = write.layout.windows[window.number].weights
    if service.code not in weights and row.target_window != window.number:
        raise Forbidden(
            f"{window.number}号窗口不办理{service.name} "
            f"(window {window.number} does not serve {service.name_en or service.code})."
        )
    return _claim(write, window, row, "by_number")


def _recall(write: HallWrite, window: Any, _: WindowCommand) -> Any:
    row = _require_current(write, window.number)
    max_recalls = int(write.layout.policy.get("max_recalls", 3))
    recalled = rules.recall(to_domain(row, write.layout), write.now, max_recalls=max_recalls)
    save(write.connection, row, recalled, write.layout)
    write.log(
        ticket_event(ev.TicketRecalled, row, write.layout, window_name=window.name),
        ticket_id=row.id,
        window=window.number,
    )
    return row


def _simple(
    change: Callable[..., rules.Ticket], event: type[ev.TicketEvent], **options: Any
) -> Callable[[HallWrite, Any, WindowCommand], Any]:
    """A handler that applies one rule to the window's current ticket and logs one event."""

    def handle(write: HallWrite, window: Any, command: WindowCommand) -> Any:
        row = _require_current(write, window.number)
        changed = change(to_domain(row, write.layout), write.now, **options)
        save(write.connection, row, changed, write.layout)
        write.log(ticket_event(event, row, write.layout), ticket_id=row.id, window=window.number)
        return row

    return handle


def _finish(write: HallWrite, window: Any, command: WindowCommand) -> Any:
    row = _require_current(write, window.number)
    finish_from_called = bool(write.layout.policy.get("finish_from_called", True))
    finished = rules.finish(
        to_domain(row, write.layout), write.now, finish_from_called=finish_from_called
    )
    if command.case_no:
        row.case_no = command.case_no.strip()[:64]
    save(write.connection, row, finished, write.layout)
    write.log(
        ticket_event(
            ev.TicketFinished,
            row,
            write.layout,
            handle_s=row.handle_s,
            wait_s=row.wait_s,
            case_no=row.case_no,
        ),
        ticket_id=row.id,
        window=window.number,
    )
    return row


def _transfer(write: HallWrite, window: Any, command: WindowCommand) -> Any:
    row = _require_current(write, window.number)
    layout = write.layout
    target_service = layout.service(command.service).code if command.service else None
    if command.window is not None:
        layout.window(command.window)
        if command.window == window.number:
            raise InvalidInput("不能转移到本窗口 (cannot transfer to the same window).")
    before = layout.services_by_id[row.service_id].code
    changed = rules.transfer(
        to_domain(row, layout), write.now, service=target_service, window=command.window
    )
    waiting = save(write.connection, row, changed, layout)
    write.log(
        ticket_event(
            ev.TicketTransferred,
            row,
            layout,
            from_window=window.number,
            from_service=before,
            to_window=command.window,
            note=command.note[:200],
            waiting=waiting,
        ),
        ticket_id=row.id,
        window=window.number,
    )
    return row


_TICKET_HANDLERS: dict[str, Callable[[HallWrite, Any, WindowCommand], Any | None]] = {
    "call-next": _call_next,
    "call": _call_number,
    "recall": _recall,
    "start": _simple(rules.start, ev.TicketStarted),
    "finish": _finish,
    "no-show": _simple(rules.no_show, ev.TicketNoShow),
    "transfer": _transfer,
    "hold": _simple(rules.hold, ev.TicketHeld),
}
