"""Queue lengths are kept on the day counters and never drift from the tickets."""

from __future__ import annotations

from sqlalchemy import func, select

from hall_server.models import Counter, Ticket
from hall_server.services.actors import SYSTEM
from hall_server.services.tickets import expire_open_tickets

from ..hall import HallRig


def kept_and_counted(hall: HallRig) -> tuple[dict, dict]:
    with hall.ctx.db.read() as session:
        kept = {
            (c.service_id, c.business_day): c.waiting
            for c in session.scalars(select(Counter))
            if c.waiting
        }
        counted = dict(
            ((service, day), n)
            for service, day, n in session.execute(
                select(Ticket.service_id, Ticket.business_day, func.count())
                .where(Ticket.state == "waiting")
                .group_by(Ticket.service_id, Ticket.business_day)
            )
        )
    return kept, counted


def test_waiting_counts_follow_every_kind_of_change(hall: HallRig) -> None:
    for service in "aabbbbc":
        hall.issue(service)
    hall.act("staff1", 2, "open")
    hall.act("staff2", 3, "open")
    hall.act("staff1", 2, "call-next")  # A001 leaves the queue
    hall.post("staff1", "/windows/2/transfer", {"service": "b"})  # back in, under b
    hall.act("staff2", 3, "call-next")
    hall.act("staff2", 3, "no-show")
    no_show = hall.get("boss", "/events?after=0").get_json()["events"][-1]
    hall.post("staff2", f"/tickets/{no_show['ticket_id']}/requeue")
    hall.act("staff1", 2, "call-next")
    hall.act("staff1", 2, "start")
    hall.act("staff1", 2, "hold")
    hall.client.post(f"/api/v1/public/tickets/{hall.issue('c')['token']}/cancel")
    kept, counted = kept_and_counted(hall)
    assert kept == counted and sum(kept.values()) > 0
    held = hall.get("boss", "/snapshot").get_json()
    waiting = {q["service"]: q["waiting"] for q in held["queues"]}
    assert sum(waiting.values()) == sum(counted.values())

    hall.clock.advance(days=1)
    expire_open_tickets(hall.ctx, SYSTEM)
    assert kept_and_counted(hall) == ({}, {})


def test_people_ahead_of_a_new_ticket_is_the_services_queue(hall: HallRig) -> None:
    assert [hall.issue("b")["people_ahead"] for _ in range(3)] == [0, 1, 2]
    hall.act("staff2", 3, "open")
    hall.act("staff2", 3, "call-next")
    assert hall.issue("b")["people_ahead"] == 2
