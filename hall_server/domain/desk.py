"""Which window actions may be pressed at a window now, and why the others may not.

Derived from the rules themselves: a window action is legal when ``WINDOW_TRANSITIONS`` has
it from the window's state, a ticket action when ``TRANSITIONS`` has it from the ticket's
state; on top come the rules around them (call only when open and free, close only when
free, the recall limit, finish straight from a call). The window page enables its buttons
from this answer (``services/staff_sessions.legal_buttons``), so it never keeps a table of
its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from .tickets import TRANSITIONS, TicketAction, TicketState
from .windows import WINDOW_TRANSITIONS, WindowAction, WindowState

# The window page's ticket buttons and the ticket action each one is.
TICKET_BUTTONS: dict[str, TicketAction] = {
    "recall": TicketAction.RECALL,
    "start": TicketAction.START,
    "finish": TicketAction.FINISH,
    "no-show": TicketAction.NO_SHOW,
    "transfer": TicketAction.TRANSFER,
    "hold": TicketAction.HOLD,
}
CALLS = ("call-next", "call")


@dataclass(frozen=True, slots=True)
class DeskFacts:
    """What decides which actions of a window are legal."""

    window_state: str  # open | paused | closed
    ticket_number: str | None = None
    ticket_state: str | None = None  # called | serving
    recalls: int = 0
    max_recalls: int = 3
    finish_from_called: bool = True


def _why(zh: str, en: str) -> str:
    return f"{zh} ({en})"


CLOSED = _why("窗口未开启，请先开窗", "the window is closed: open it first")
PAUSED = _why("窗口暂停中，请先恢复", "the window is paused: resume first")
NO_TICKET = _why("当前没有号票", "no ticket at the window")
# Why a window action is not legal from a state (WINDOW_TRANSITIONS has no such entry).
_WINDOW_WHY: dict[tuple[WindowAction, WindowState], str] = {
    (WindowAction.OPEN, WindowState.OPEN): _why("窗口已开启", "the window is already open"),
    (WindowAction.OPEN, WindowState.PAUSED): _why("窗口已开启", "the window is already open"),
    (WindowAction.PAUSE, WindowState.CLOSED): _why("窗口未在服务", "only an open window pauses"),
    (WindowAction.PAUSE, WindowState.PAUSED): _why("窗口已暂停", "already paused"),
    (WindowAction.RESUME, WindowState.OPEN): _why("窗口未暂停", "the window is not paused"),
    (WindowAction.RESUME, WindowState.CLOSED): _why("窗口未暂停", "the window is not paused"),
    (WindowAction.CLOSE, WindowState.CLOSED): CLOSED,
}
# Why a ticket action is not legal from the ticket's state at the window.
_TICKET_WHY: dict[TicketState, str] = {
    TicketState.CALLED: _why("请先开始办理", "start serving first"),
    TicketState.SERVING: _why("已开始办理", "serving already started"),
}


def desk_actions(facts: DeskFacts) -> dict[str, str]:
    """Map every window action to "" when it may be pressed now, else the reason why not."""
    state = WindowState(facts.window_state)
    number = facts.ticket_number
    busy = _why(f"请先办结、过号或转移 {number}", f"finish, no-show or transfer {number} first")
    why = {move.value: _window_move(state, move) for move in WindowAction}
    if number and state is not WindowState.CLOSED:
        why[WindowAction.CLOSE.value] = busy
    if state is WindowState.CLOSED:
        return why | {name: CLOSED for name in (*CALLS, *TICKET_BUTTONS)}
    # A paused window calls nobody new, but still finishes the ticket it has.
    not_open = "" if state is WindowState.OPEN else PAUSED
    why |= {name: busy if number else not_open for name in CALLS}
    if facts.ticket_state is None:
        return why | {name: NO_TICKET for name in TICKET_BUTTONS}
    return why | _ticket_moves(facts, TicketState(facts.ticket_state))


def _window_move(state: WindowState, move: WindowAction) -> str:
    return "" if (state, move) in WINDOW_TRANSITIONS else _WINDOW_WHY[(move, state)]


def _ticket_moves(facts: DeskFacts, ticket: TicketState) -> dict[str, str]:
    """The ticket buttons for the ticket at the window: its transitions, then the hall's
    recall limit and whether it finishes straight from a call."""
    why = {
        name: "" if (ticket, action) in TRANSITIONS else _TICKET_WHY[ticket]
        for name, action in TICKET_BUTTONS.items()
    }
    if ticket is TicketState.CALLED:
        if facts.max_recalls and facts.recalls >= facts.max_recalls:
            why["recall"] = _why(
                f"已重呼{facts.recalls}次，请按过号处理",
                f"recalled {facts.recalls} times: mark it no-show",
            )
        if not facts.finish_from_called:
            why["finish"] = _TICKET_WHY[TicketState.CALLED]
    return why
