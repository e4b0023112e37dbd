"""The hall as a client sees it: the last snapshot with every later event applied.

Pure data and one function, so a test (or a simulator) can replay a log without a socket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..contract import CALL_EVENTS, QUEUE_COUNTS, RECENT_CALLS

Event = dict[str, Any]
AT_WINDOW = frozenset({"called", "serving"})


@dataclass
class HallState:
    """What the client knows of the hall: the last snapshot with every later event applied."""

    seq: int = -1  # the last applied seq; -1 until the first snapshot
    ready: bool = False  # a snapshot has been applied
    connected: bool = False
    windows: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> window
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)  # service -> queue
    recent_calls: list[Event] = field(default_factory=list)  # newest first
    alarms: list[dict[str, Any]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    hall: dict[str, Any] = field(default_factory=dict)
    business_day: str = ""
    stale: bool = False  # an event was seen that the client cannot apply: a snapshot is due
    error: str = ""  # why the last connection attempt failed, for the agent's status page

    @classmethod
    def from_snapshot(cls, snap: dict[str, Any], *, connected: bool) -> HallState:
        """Build the state from a ``snapshot`` message (or ``GET /snapshot``)."""
        return cls(
            seq=int(snap["seq"]),
            ready=True,
            connected=connected,
            windows={int(w["number"]): dict(w) for w in snap.get("windows", [])},
            queues={q["service"]: dict(q) for q in snap.get("queues", [])},
            recent_calls=list(snap.get("recent_calls", [])),
            alarms=list(snap.get("alarms", [])),
            notices=list(snap.get("notices", [])),
            hall=dict(snap.get("hall", {})),
            business_day=str(snap.get("business_day", "")),
        )


def prev_of(event: Event) -> int:
    """The seq a client must have applied before this message (docs/API.md, "Realtime").

    Public messages say it (``prev``: the public event before them); staff events follow
    each other without gaps.
    """
    return int(event.get("prev", int(event["seq"]) - 1))


def order_key(event: Event) -> tuple[int, int]:
    """Where a message goes in the order of applying: by seq, counts after their event."""
    return int(event["seq"]), int(event["type"] == QUEUE_COUNTS)


def is_behind(state: HallState, event: Event) -> bool:
    """Whether ``state`` already has what this message tells (a duplicate, or old counts).

    Counts at the state's own seq are applied again: they are true at that seq.
    """
    seq = int(event["seq"])
    return seq < state.seq or (seq == state.seq and event["type"] != QUEUE_COUNTS)


def apply_event(state: HallState, event: Event) -> None:
    """Apply one message, whose ``prev_of`` the state has, to ``state`` in place."""
    kind = str(event["type"])
    if kind.startswith("ticket."):
        _apply_ticket(state, event)
    elif kind == QUEUE_COUNTS:
        for service, waiting in dict(event.get("waiting") or {}).items():
            if service in state.queues:
                state.queues[service]["waiting"] = waiting
    elif kind.startswith("window.") and event.get("window") in state.windows:
        window = state.windows[event["window"]]
        window["state"], window["pause_reason"] = event["state"], event.get("reason", "")
        window["state_since"] = event["at"]
    elif kind == "alarm.raised" and "alarm_id" in event:
        state.alarms.append(
            {k: event.get(k) for k in ("kind", "level", "subject", "message")}
            | {"id": event["alarm_id"], "raised_at": event["at"], "acked_by": None}
        )
    elif kind == "alarm.cleared" and "alarm_id" in event:
        state.alarms = [a for a in state.alarms if a["id"] != event["alarm_id"]]
    elif kind == "notice.changed" and "notices" in event:
        state.notices = list(event["notices"])
    state.seq = int(event["seq"])


def _apply_ticket(state: HallState, event: Event) -> None:
    if event["type"] == "ticket.expired":
        state.stale = True  # expiry carries no queue length: only a snapshot tells it
    ticket_id, status, at_window = event["ticket_id"], event["state"], event.get("window")
    if "waiting" in event and event["service"] in state.queues:
        state.queues[event["service"]]["waiting"] = event["waiting"]
    previous = None
    for number, window in state.windows.items():
        current = window.get("ticket")
        if current is not None and current["id"] == ticket_id:
            previous = current
            if not (status in AT_WINDOW and number == at_window):
                window["ticket"] = None
    if status in AT_WINDOW and at_window in state.windows:
        called = event["type"] in CALL_EVENTS
        state.windows[at_window]["ticket"] = {
            "id": ticket_id,
            "number": event["number"],
            "service": event["service"],
            "status": status,
            "called_at": event["at"] if called or previous is None else previous["called_at"],
            "started_at": event["at"]
            if event["type"] == "ticket.started"
            else (previous or {}).get("started_at"),
            "call_count": event.get("call_count", 0),
        }
    if event["type"] in CALL_EVENTS:
        state.recent_calls = [event, *state.recent_calls][:RECENT_CALLS]
