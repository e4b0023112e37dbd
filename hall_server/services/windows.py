"""Use cases of a window: open, pause, resume, close, and every call action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

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
from .context import HallContext
from .hall_log import HallWrite, hall_write
from .ticket_rows import store, ticket_event, ticket_view, to_domain, waiting_count

WINDOW_ACTIONS = frozenset({"open", "pause", "resume", "close"})
TICKET_ACTIONS = frozenset(
    {"call-next", "call", "recall", "start", "finish", "no-show", "transfer", "hold"}
)
CALL_ACTIONS = frozenset({"call-next", "call"})
ACTIONS = WINDOW_ACTIONS | TICKET_ACTIONS
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


def window_view(row: WindowRow, write_or_layout: Any, staff_name: str = "") -> dict[str, Any]:
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


def _load_window(write: HallWrite, number: int) -> WindowRow:
    write.layout.window(number)  # NotFound with the window's number
    row = write.session.scalar(
        select(WindowRow).where(WindowRow.hall_id == write.hall.id, WindowRow.number == number)
    )
    if row is None:
        raise NotFound(f"没有{number}号窗口 (no window {number}).")
    return row


def _authorise(write: HallWrite, window: WindowRow, action: str) -> None:
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
        holder = write.session.get(Staff, window.staff_id)
        name = holder.name or holder.login if holder else "其他人员"
        raise Forbidden(
            f"{window.number}号窗口由{name}使用中，不能操作 "
            f"(window {window.number} is in use by {name})."
        )
    raise Forbidden(
        f"无权操作{window.number}号窗口 (not allowed to act on window {window.number})."
    )


def _one_window_each(write: HallWrite, window: WindowRow) -> None:
    """A member of staff serves at one window at a time."""
    other = write.session.scalar(
        select(WindowRow.number).where(
            WindowRow.hall_id == write.hall.id,
            WindowRow.staff_id == write.actor.id,
            WindowRow.number != window.number,
        )
    )
    if other is not None:
        raise Forbidden(
            f"您正在{other}号窗口服务，请先关闭该窗口 "
            f"(you already serve at window {other}: close it first)."
        )


def _current(write: HallWrite, number: int) -> TicketRow | None:
    return write.session.scalar(
        select(TicketRow).where(
            TicketRow.hall_id == write.hall.id,
            TicketRow.window_no == number,
            TicketRow.state.in_([s.value for s in rules.AT_WINDOW]),
        )
    )


def _require_current(write: HallWrite, number: int) -> TicketRow:
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
        if command.action in WINDOW_ACTIONS:
            ticket = _window_state(write, window, command)
        else:
            if command.action in CALL_ACTIONS:  # a paused window still finishes its ticket
                wrules.require_open(_as_domain_window(window))
            ticket = _TICKET_HANDLERS[command.action](write, window, command)
        staff = write.session.get(Staff, window.staff_id) if window.staff_id else None
        body = {
            "window": window_view(window, write, staff.name if staff else ""),
            "ticket": ticket_view(ticket, write.layout) if ticket is not None else None,
        }
        write.remember(scope, idempotency_key, 200, body)
        return body


def _as_domain_window(row: WindowRow) -> wrules.Window:
    return wrules.Window(
        number=row.number,
        state=wrules.WindowState(row.state),
        pause_reason=row.pause_reason,
        state_since=row.state_since,
        priority_streak=row.priority_streak,
    )


def _window_state(write: HallWrite, row: WindowRow, command: WindowCommand) -> TicketRow | None:
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
    write.log(
        _WINDOW_EVENTS[command.action](window=row.number, state=row.state, reason=row.pause_reason),
        window=row.number,
    )
    return _current(write, row.number)


def _candidates(write: HallWrite, number: int) -> list[Candidate]:
    layout = write.layout
    served = [layout.services[c].id for c in layout.windows[number].weights]
    query = (
        select(
            TicketRow.id,
            TicketRow.service_id,
            TicketRow.queued_at,
            TicketRow.priority,
            TicketRow.target_window,
            Appointment.slot_start,
            Appointment.slot_end,
        )
        .outerjoin(Appointment, Appointment.id == TicketRow.appointment_id)
        .where(
            TicketRow.hall_id == write.hall.id,
            TicketRow.state == TicketState.WAITING.value,
            TicketRow.service_id.in_(served) | (TicketRow.target_window == number),
        )
    )
    return [
        Candidate(
            id=r.id,
            service=layout.services_by_id[r.service_id].code,
            queued_at=r.queued_at,
            priority=r.priority,
            target_window=r.target_window,
            slot_start=r.slot_start,
            slot_end=r.slot_end,
        )
        for r in write.session.execute(query)
    ]


def _claim(write: HallWrite, window: WindowRow, row: TicketRow, reason: str) -> TicketRow:
    """Call ``row`` to ``window``.

    Writers of a hall are serialised (see hall_log), and the ticket row's version column
    makes every ticket UPDATE a compare-and-set besides: a claim that lost a race fails
    with StaleDataError instead of calling one ticket to two windows.
    """
    called = rules.call(to_domain(row, write.layout), window.number, write.now)
    store(row, called, write.layout)
    row.staff_id = window.staff_id or (write.actor.id if write.actor.is_staff else None)
    write.session.flush()
    write.log(
        ticket_event(
            ev.TicketCalled,
            row,
            write.layout,
            reason=reason,
            window_name=window.name,
            waiting=waiting_count(write.session, row.service_id, row.business_day),
        ),
        ticket_id=row.id,
        window=window.number,
    )
    return row


def _call_next(write: HallWrite, window: WindowRow, _: WindowCommand) -> TicketRow | None:
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
    row = write.session.get(TicketRow, decision.ticket.id)
    assert row is not None and row.state == TicketState.WAITING.value
    window.priority_streak = decision.priority_streak
    return _claim(write, window, row, decision.reason.value if decision.reason else "")


def _call_number(write: HallWrite, window: WindowRow, command: WindowCommand) -> TicketRow:
    if not command.number:
        raise InvalidInput("特呼需要号码 (give the ticket number to call).")
    _require_free(write, window.number)
    number = command.number.strip().upper()
    day = business_day(write.now, write.layout.tz)
    row = write.session.scalar(
        select(TicketRow).where(
            TicketRow.hall_id == write.hall.id,
            TicketRow.business_day == day,
            TicketRow.number == number,
        )
    )
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


def _recall(write: HallWrite, window: WindowRow, _: WindowCommand) -> TicketRow:
    row = _require_current(write, window.number)
    max_recalls = int(write.layout.policy.get("max_recalls", 3))
    store(
        row,
        rules.recall(to_domain(row, write.layout), write.now, max_recalls=max_recalls),
        write.layout,
    )
    write.log(
        ticket_event(ev.TicketRecalled, row, write.layout, window_name=window.name),
        ticket_id=row.id,
        window=window.number,
    )
    return row


def _simple(
    change: Callable[..., rules.Ticket], event: type[ev.TicketEvent], **options: Any
) -> Callable[[HallWrite, WindowRow, WindowCommand], TicketRow]:
    """A handler that applies one rule to the window's current ticket and logs one event."""

    def handle(write: HallWrite, window: WindowRow, command: WindowCommand) -> TicketRow:
        row = _require_current(write, window.number)
        store(row, change(to_domain(row, write.layout), write.now, **options), write.layout)
        write.log(ticket_event(event, row, write.layout), ticket_id=row.id, window=window.number)
        return row

    return handle


def _finish(write: HallWrite, window: WindowRow, command: WindowCommand) -> TicketRow:
    row = _require_current(write, window.number)
    finish_from_called = bool(write.layout.policy.get("finish_from_called", True))
    store(
        row,
        rules.finish(
            to_domain(row, write.layout), write.now, finish_from_called=finish_from_called
        ),
        write.layout,
    )
    if command.case_no:
        row.case_no = command.case_no.strip()[:64]
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


def _transfer(write: HallWrite, window: WindowRow, command: WindowCommand) -> TicketRow:
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
    store(row, changed, layout)
    write.log(
        ticket_event(
            ev.TicketTransferred,
            row,
            layout,
            from_window=window.number,
            from_service=before,
            to_window=command.window,
            note=command.note[:200],
            waiting=waiting_count(write.session, row.service_id, row.business_day),
        ),
        ticket_id=row.id,
        window=window.number,
    )
    return row


_TICKET_HANDLERS: dict[str, Callable[[HallWrite, WindowRow, WindowCommand], TicketRow | None]] = {
    "call-next": _call_next,
    "call": _call_number,
    "recall": _recall,
    "start": _simple(rules.start, ev.TicketStarted),
    "finish": _finish,
    "no-show": _simple(rules.no_show, ev.TicketNoShow),
    "transfer": _transfer,
    "hold": _simple(rules.hold, ev.TicketHeld),
}
