"""The hall log's events: one class per wire type, payloads that travel as JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from hall_server.domain import events as ev
from hall_server.domain.events import EVENT_TYPES, HallEvent

# The Socket.IO event types of DESIGN.md's public contract, in its order.
CONTRACT_TYPES = [
    "ticket.issued",
    "ticket.called",
    "ticket.recalled",
    "ticket.started",
    "ticket.finished",
    "ticket.no_show",
    "ticket.requeued",
    "ticket.transferred",
    "ticket.held",
    "ticket.cancelled",
    "ticket.expired",
    "window.opened",
    "window.paused",
    "window.resumed",
    "window.closed",
    "alarm.raised",
    "alarm.cleared",
    "notice.changed",
    "device.status",
    "evaluation.recorded",
]


def concrete_events() -> list[type[HallEvent]]:
    # vars(), not __subclasses__(): slots=True dataclasses leave their pre-slots copies behind
    return [
        obj
        for obj in vars(ev).values()
        if isinstance(obj, type) and issubclass(obj, HallEvent) and obj.type
    ]


TICKET = {"ticket_id": 7, "number": "A012", "service": "社保业务", "state": "called", "window": 3}
WINDOW = {"window": 3, "state": "paused", "reason": "午休"}
FIELDS: dict[str, dict[str, Any]] = {
    **{t: TICKET for t in CONTRACT_TYPES if t.startswith("ticket.")},
    **{t: WINDOW for t in CONTRACT_TYPES if t.startswith("window.")},
    "alarm.raised": {
        "alarm_id": 1,
        "kind": "long_wait",
        "level": "red",
        "subject": "A",
        "message": "社保业务等候超过30分钟",
    },
    "alarm.cleared": {"alarm_id": 1, "kind": "long_wait", "subject": "A"},
    "notice.changed": {"notices": ["今日下午三点系统维护", "请携带身份证原件"]},
    "device.status": {
        "device": "kiosk-1",
        "kind": "printer",
        "status": {"online": True, "paper": "low"},
    },
    "evaluation.recorded": {"ticket_id": 7, "number": "A012", "window": 3, "score": 5},
}
CLASSES = {cls.type: cls for cls in concrete_events()}


def test_every_contract_type_has_exactly_one_event_class() -> None:
    assert tuple(CONTRACT_TYPES) == EVENT_TYPES
    types = [cls.type for cls in concrete_events()]
    assert sorted(types) == sorted(EVENT_TYPES)
    assert len(set(types)) == len(types)


@pytest.mark.parametrize("event_type", CONTRACT_TYPES)
def test_payload_is_json_and_carries_the_extra_fields(event_type: str) -> None:
    event = CLASSES[event_type](**FIELDS[event_type], extra={"by": "staff:wang", "seat": [1, 2]})
    assert event.type == event_type
    payload = event.payload()
    assert json.loads(json.dumps(payload, ensure_ascii=False)) == payload
    assert payload == {**FIELDS[event_type], **_defaults(event), "by": "staff:wang", "seat": [1, 2]}
    assert "extra" not in payload


def _defaults(event: HallEvent) -> dict[str, Any]:
    """The fields the sample left at their defaults, as the event reports them."""
    return {
        f.name: getattr(event, f.name)
        for f in dataclasses.fields(event)
        if f.name != "extra" and f.name not in FIELDS[event.type]
    }


@pytest.mark.parametrize("event_type", ["ticket.called", "window.paused", "alarm.raised"])
def test_events_are_facts_that_cannot_be_changed(event_type: str) -> None:
    event = CLASSES[event_type](**FIELDS[event_type])
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.extra = {"x": 1}  # type: ignore[misc]
    assert event.payload() == {**FIELDS[event_type], **_defaults(event)}


def test_ticket_events_default_to_a_plain_first_call() -> None:
    event = ev.TicketIssued(ticket_id=1, number="A001", service="A", state="waiting")
    assert event.payload() == {
        "ticket_id": 1,
        "number": "A001",
        "service": "A",
        "state": "waiting",
        "window": None,
        "priority": False,
        "call_count": 0,
    }
