"""The public contract's names: namespace, rooms, event types and who may see them.

Imports nothing from the app, so clients, agents and tests can read it freely.
"""

from __future__ import annotations

from typing import Any

API_PREFIX = "/api/v1"
NAMESPACE = "/hall"  # Socket.IO: the hall's events, for every audience
KIOSK_NAMESPACE = "/kiosk"  # Socket.IO: a kiosk's page and its agent (print jobs, ID cards)
# ``hall demo`` only: sets a kiosk agent's fake printer paper ({"paper": "ok"|"low"|"out"|…}).
DEMO_PAPER = "demo_paper"

# Window actions, ``POST /api/v1/windows/{n}/{action}``: the window's own state, then the
# actions on its ticket (call-next and call claim one). The domain decides which are legal
# at a moment (``domain/desk.py``, from the ticket and window transitions).
WINDOW_STATE_ACTIONS = ("open", "pause", "resume", "close")
TICKET_ACTIONS = ("call-next", "call", "recall", "start", "finish", "no-show", "transfer", "hold")
WINDOW_ACTIONS = WINDOW_STATE_ACTIONS + TICKET_ACTIONS
CALL_ACTIONS = ("call-next", "call")

TICKET_EVENTS = (
    "ticket.issued", "ticket.called", "ticket.recalled", "ticket.started", "ticket.finished",
    "ticket.no_show", "ticket.requeued", "ticket.transferred", "ticket.held",
    "ticket.cancelled", "ticket.expired",
)  # fmt: skip
WINDOW_EVENTS = ("window.opened", "window.paused", "window.resumed", "window.closed")
STAFF_ONLY_EVENTS = frozenset(
    {"alarm.raised", "alarm.cleared", "device.status", "evaluation.recorded",
     "login.locked", "login.unlocked"}
)  # fmt: skip
CALL_EVENTS = frozenset({"ticket.called", "ticket.recalled"})
# The public stream (displays, kiosks, phones) gets every event at once except these: events
# that only move queue counts (a hundred issues a second would drown a thousand screens) and
# staff-only ones. Instead a coalesced QUEUE_COUNTS message, a few a second per hall at most,
# carries the true waiting counts. Each public message carries ``prev``, the seq of the public
# event before it, so a client still tells a lost message (docs/API.md, "Realtime").
COUNT_ONLY_EVENTS = frozenset({"ticket.issued"})
PUBLIC_WITHHELD_EVENTS = COUNT_ONLY_EVENTS | STAFF_ONLY_EVENTS
QUEUE_COUNTS = "queue.counts"
# How many of the latest calls a snapshot carries (newest first); clients keep as many.
RECENT_CALLS = 12

# Audiences: staff (staff, supervisors, admins, agents) see everything; the public audience
# (displays, kiosks, visitors' phones) sees numbers, windows and queues, never people.
STAFF = "staff"
PUBLIC = "public"


def sees_staff_view(kind: str, role: str) -> bool:
    """Whether a caller (an actor's kind and role) gets the staff view: staff, and window
    agents (a window's own PC); every other device and a visitor's phone get the public one."""
    return kind == "staff" or (kind == "device" and role == "agent")


def audience_of(kind: str, role: str) -> str:
    """The Socket.IO audience (room) of a caller."""
    return STAFF if sees_staff_view(kind, role) else PUBLIC


def room(hall_id: int, audience: str) -> str:
    """Name the Socket.IO room of one hall and audience."""
    return f"hall:{hall_id}:{audience}"


def public_view(event: dict[str, Any]) -> dict[str, Any]:
    """Strip what the public audience may not see from a wire event.

    Staff-only events still reach the public as ``{seq, type, at}`` so that every client
    sees seq without gaps and can tell a missed event from one it may not read.
    """
    if event["type"] in STAFF_ONLY_EVENTS:
        return {"seq": event["seq"], "type": event["type"], "at": event["at"]}
    return {k: v for k, v in event.items() if k not in {"actor", "staff", "case_no"}}
