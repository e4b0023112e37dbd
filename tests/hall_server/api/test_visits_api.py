"""Ratings (好差评), appointments (预约) and the end of the business day."""

from __future__ import annotations

from datetime import timedelta

from hall_server.services.actors import SYSTEM
from hall_server.services.tickets import expire_open_tickets

from ..hall import HallRig


def served(hall: HallRig, service: str = "b", window: int = 3) -> dict:
    ticket = hall.issue(service)
    hall.act("staff1", window, "open")
    hall.act("staff1", window, "call-next")
    hall.act("staff1", window, "finish")
    return ticket


def test_a_finished_visit_is_rated_once_and_a_bad_rating_needs_a_reason(hall: HallRig) -> None:
    ticket = served(hall)
    path = f"/tickets/{ticket['id']}/evaluation"
    no_reason = hall.post("eval-3", path, {"score": 1})
    assert no_reason.status_code == 422 and "原因" in no_reason.get_json()["error"]["message"]
    rated = hall.post("eval-3", path, {"score": 2, "reasons": ["等候时间长"]})
    assert rated.status_code == 201
    assert rated.get_json() | {"id": 0} == {
        "id": 0, "ticket_id": ticket["id"], "number": "B001", "window": 3, "score": 2,
        "score_name": "不满意", "reasons": ["等候时间长"],
    }  # fmt: skip
    again = hall.post("eval-3", path, {"score": 5})
    assert again.status_code == 409 and "已评价" in again.get_json()["error"]["message"]
    events = hall.get("boss", "/events?after=0").get_json()["events"]
    assert events[-1]["type"] == "evaluation.recorded" and events[-1]["bad"] is True


def test_a_visit_still_going_cannot_be_rated(hall: HallRig) -> None:
    ticket = hall.issue("b")
    response = hall.post("boss", f"/tickets/{ticket['id']}/evaluation", {"score": 5})
    assert response.status_code == 409
    out_of_range = hall.post("boss", f"/tickets/{ticket['id']}/evaluation", {"score": 6})
    assert (
        out_of_range.status_code == 422 and "score" in out_of_range.get_json()["error"]["message"]
    )


def test_appointment_check_in_inside_the_slot_gives_a_priority_ticket_called_first(
    hall: HallRig,
) -> None:
    start = hall.clock.now + timedelta(minutes=10)
    booked = hall.post("boss", "/appointments", {
        "service": "b", "code": "yy0001", "slot_start": start.isoformat(),
        "slot_end": (start + timedelta(minutes=30)).isoformat(), "name": "张三",
    })  # fmt: skip
    assert booked.status_code == 201 and booked.get_json()["name"] == "张*"
    walk_in = hall.issue("b")
    checked_in = hall.issue(appointment_code="YY0001", service="")
    assert checked_in["priority"] is True and checked_in["priority_kind"] == "预约"
    hall.act("staff1", 3, "open")
    called = hall.act("staff1", 3, "call-next")["ticket"]
    assert called["number"] == checked_in["number"] != walk_in["number"]
    reuse = hall.post("kiosk-1", "/tickets", {"appointment_code": "YY0001"})
    assert reuse.status_code == 422 and "已使用" in reuse.get_json()["error"]["message"]


def test_too_early_for_an_appointment_says_when_to_come(hall: HallRig) -> None:
    start = hall.clock.now + timedelta(hours=2)
    hall.post("boss", "/appointments", {
        "service": "b", "code": "YY0002", "slot_start": start.isoformat(),
        "slot_end": (start + timedelta(minutes=30)).isoformat(),
    })  # fmt: skip
    early = hall.post("kiosk-1", "/tickets", {"appointment_code": "YY0002"})
    assert early.status_code == 422
    assert "12:00-12:30" in early.get_json()["error"]["message"]


def test_open_tickets_of_yesterday_expire_and_are_logged(hall: HallRig) -> None:
    served(hall, "b")
    waiting = hall.issue("b")
    hall.clock.advance(days=1)
    assert expire_open_tickets(hall.ctx, SYSTEM) == 1
    assert hall.get("boss", f"/tickets/{waiting['id']}").get_json()["status"] == "expired"
    assert expire_open_tickets(hall.ctx, SYSTEM) == 0
    last = hall.get("boss", "/events?after=0").get_json()["events"][-1]
    assert (last["type"], last["number"], last["actor"]) == ("ticket.expired", "B002", "system")


def test_a_printer_running_out_of_paper_is_logged_once_and_shown_to_staff(hall: HallRig) -> None:
    status = {
        "health": "fault",
        "online": True,
        "detail": {"paper": "out"},
        "message": "打印机缺纸",
    }
    report = {"part": "printer", "status": status}
    assert hall.post("kiosk-1", "/devices/status", report).get_json()["changed"] is True
    assert hall.post("kiosk-1", "/devices/status", report).get_json()["changed"] is False
    events = hall.get("boss", "/events?after=0").get_json()["events"]
    assert [e["type"] for e in events] == ["device.status"]
    kiosk = next(
        d for d in hall.get("boss", "/snapshot").get_json()["devices"] if d["name"] == "kiosk-1"
    )
    assert kiosk["status"]["printer"]["detail"] == {"paper": "out"}
    public = hall.get("tv-1", "/events?after=0").get_json()
    assert public["events"] == [] and public["last_seq"] == 1  # staff only: not on screens
    bad = hall.post("kiosk-1", "/devices/status", {"part": "printer", "status": {"health": "fine"}})
    assert bad.status_code == 422 and "health" in bad.get_json()["error"]["message"]
