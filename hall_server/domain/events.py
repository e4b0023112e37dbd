"""The hall log's events: past-tense facts, one per state change.

Each event type's ``type`` is its name on the wire (``ticket.called``); ``payload()`` is
what is stored in the log and sent to screens, beside ``seq``, ``type`` and ``at``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class HallEvent:
    """A fact of the hall, appended to the log in the same transaction as the change."""

    type: ClassVar[str] = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Return the event's fields as a JSON-ready dict (``extra`` merged in)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        data.update(self.extra)
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketEvent(HallEvent):
    """Something happened to a ticket; carries the ticket's state after it."""

    ticket_id: int
    number: str
    service: str
    state: str
    window: int | None = None
    priority: bool = False
    call_count: int = 0


class TicketIssued(TicketEvent):
    type = "ticket.issued"


class TicketCalled(TicketEvent):
    type = "ticket.called"


class TicketRecalled(TicketEvent):
    type = "ticket.recalled"


class TicketStarted(TicketEvent):
    type = "ticket.started"


class TicketFinished(TicketEvent):
    type = "ticket.finished"


class TicketNoShow(TicketEvent):
    type = "ticket.no_show"


class TicketRequeued(TicketEvent):
    type = "ticket.requeued"


class TicketTransferred(TicketEvent):
    type = "ticket.transferred"


class TicketHeld(TicketEvent):
    type = "ticket.held"


class TicketCancelled(TicketEvent):
    type = "ticket.cancelled"


class TicketExpired(TicketEvent):
    type = "ticket.expired"


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowEvent(HallEvent):
    """A window changed state."""

    window: int
    state: str
    reason: str = ""


class WindowOpened(WindowEvent):
    type = "window.opened"


class WindowPaused(WindowEvent):
    type = "window.paused"


class WindowResumed(WindowEvent):
    type = "window.resumed"


class WindowClosed(WindowEvent):
    type = "window.closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmRaised(HallEvent):
    type = "alarm.raised"
    alarm_id: int
    kind: str
    level: str
    subject: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmCleared(HallEvent):
    type = "alarm.cleared"
    alarm_id: int
    kind: str
    subject: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeChanged(HallEvent):
    type = "notice.changed"
    notices: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStatusChanged(HallEvent):
    type = "device.status"
    device: str
    kind: str
    status: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationRecorded(HallEvent):
    type = "evaluation.recorded"
    ticket_id: int
    number: str
    window: int | None
    score: int


EVENT_TYPES: tuple[str, ...] = (
    "ticket.issued", "ticket.called", "ticket.recalled", "ticket.started", "ticket.finished",
    "ticket.no_show", "ticket.requeued", "ticket.transferred", "ticket.held",
    "ticket.cancelled", "ticket.expired", "window.opened", "window.paused", "window.resumed",
    "window.closed", "alarm.raised", "alarm.cleared", "notice.changed", "device.status",
    "evaluation.recorded",
)  # fmt: skip
