"""A morning at the small hall that touches every kind of state change, and what it logs."""

from __future__ import annotations

from typing import Any

from hall_server.services.actors import SYSTEM
from hall_server.services.tickets import expire_open_tickets

from ..hall import HallRig


def morning(hall: HallRig) -> list[tuple[str, str]]:
    """Drive the hall through windows, calls, no-show, transfer, hold, cancels and ratings.

    Returns the (event type, actor) the hall log must hold for it, in order. The clock moves
    a minute per step so that every event has its own time.
    """
    expected: list[tuple[str, str]] = []

    def logged(kind: str, actor: str) -> None:
        expected.append((kind, actor))
        hall.clock.advance(minutes=1)

    def act(who: str, at: int, action: str, kind: str, /, **body: Any) -> str | None:
        response = hall.post(who, f"/windows/{at}/{action}", body)
        assert response.status_code == 200, response.get_json()
        ticket = response.get_json()["ticket"]
        logged(kind, who)
        return None if ticket is None else str(ticket["number"])

    def post(who: str, path: str, kind: str, body: Any = None) -> None:
        response = hall.post(who, path, body)
        assert response.status_code in (200, 201), response.get_json()
        logged(kind, who)

    act("staff1", 1, "open", "window.opened")
    act("staff2", 3, "open", "window.opened")
    act("keypad-2", 2, "open", "window.opened")
    tickets = {}
    for service in ("a", "a", "b", "b", "c"):
        ticket = hall.issue(service)
        tickets[ticket["number"]] = ticket
        logged("ticket.issued", "kiosk-1")
    assert act("staff1", 1, "call-next", "ticket.called") == "A001"
    act("staff1", 1, "recall", "ticket.recalled")
    act("staff1", 1, "start", "ticket.started")
    act("staff1", 1, "finish", "ticket.finished", case_no="BJ-2026-001")
    post("boss", f"/tickets/{tickets['A001']['id']}/evaluation", "evaluation.recorded",
         {"score": 5})  # fmt: skip
    assert act("keypad-2", 2, "call-next", "ticket.called") == "A002"
    act("keypad-2", 2, "no-show", "ticket.no_show")
    post("boss", f"/tickets/{tickets['A002']['id']}/requeue", "ticket.requeued")
    assert act("staff2", 3, "call-next", "ticket.called") == "B001"
    act("staff2", 3, "transfer", "ticket.transferred", window=1)
    assert act("staff1", 1, "call-next", "ticket.called") == "B001"  # targeted first
    act("staff1", 1, "start", "ticket.started")
    act("staff1", 1, "hold", "ticket.held")  # 补件: the visitor fetches a paper
    post("boss", f"/tickets/{tickets['B001']['id']}/requeue", "ticket.requeued")
    post("boss", f"/tickets/{tickets['B002']['id']}/cancel", "ticket.cancelled")
    response = hall.client.post(f"/api/v1/public/tickets/{tickets['C100']['token']}/cancel")
    assert response.status_code == 200, response.get_json()
    logged("ticket.cancelled", "visitor")
    act("staff2", 3, "pause", "window.paused", reason="午休")
    act("staff2", 3, "resume", "window.resumed")
    assert act("keypad-2", 2, "call", "ticket.called", number="A002") == "A002"
    act("staff2", 3, "close", "window.closed")
    return expected


def next_day_expiry(hall: HallRig) -> list[tuple[str, str]]:
    """Move to the next morning and end the open tickets of the day before."""
    hall.clock.advance(days=1)
    expired = expire_open_tickets(hall.ctx, SYSTEM)
    return [("ticket.expired", "system")] * expired
