"""Who may rate a visit (好差评) and who may grant priority (绿色通道)."""

from __future__ import annotations

from typing import Any

from ..hall import HallRig


def served_at_window_3(hall: HallRig) -> dict[str, Any]:
    """A B ticket issued at the kiosk and served to the end by staff1 at window 3."""
    ticket = hall.issue("b")
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "call-next")
    hall.act("staff1", 3, "finish")
    return ticket


def test_staff_cannot_rate_a_visit_so_the_visitor_still_can(hall: HallRig) -> None:
    ticket = served_at_window_3(hall)
    path = f"/tickets/{ticket['id']}/evaluation"
    for who in ("staff2", "staff1"):  # another window's staff, and the serving window's own
        refused = hall.post(who, path, {"score": 5})
        assert refused.status_code == 403, (who, refused.get_json())
    public = hall.client.get(f"/api/v1/public/tickets/{ticket['token']}").get_json()
    assert public["status"] == "done"
    rated = hall.client.post(
        f"/api/v1/public/tickets/{ticket['token']}/evaluation",
        json={"score": 2, "reasons": ["等候时间长"]},
    )
    assert rated.status_code == 201, rated.get_json()
    assert (rated.get_json()["number"], rated.get_json()["score"]) == ("B001", 2)
    again = hall.client.post(
        f"/api/v1/public/tickets/{ticket['token']}/evaluation", json={"score": 5}
    )
    assert again.status_code == 409 and "已评价" in again.get_json()["error"]["message"]
    event = hall.get("boss", "/events?after=0").get_json()["events"][-1]
    assert (event["type"], event["actor"]) == ("evaluation.recorded", "visitor")


def test_only_the_evaluator_of_the_serving_window_rates(hall: HallRig) -> None:
    ticket = served_at_window_3(hall)
    other = hall.post("root", "/admin/devices", {"name": "eval-2", "kind": "evaluator",
                                                 "windows": [2]})  # fmt: skip
    assert other.status_code == 201, other.get_json()
    hall.tokens["eval-2"] = other.get_json()["token"]
    path = f"/tickets/{ticket['id']}/evaluation"
    refused = hall.post("eval-2", path, {"score": 1, "reasons": ["态度差"]})
    assert refused.status_code == 403 and "评价器" in refused.get_json()["error"]["message"]
    assert hall.post("eval-3", path, {"score": 4}).status_code == 201


def test_a_supervisor_rates_for_a_visitor_and_the_hall_log_names_them(hall: HallRig) -> None:
    ticket = served_at_window_3(hall)
    rated = hall.post("boss", f"/tickets/{ticket['id']}/evaluation", {"score": 5})
    assert rated.status_code == 201
    event = hall.get("boss", "/events?after=0").get_json()["events"][-1]
    assert event["type"] == "evaluation.recorded"
    assert event["actor"] == "boss"


def test_a_visitor_token_rates_only_its_own_finished_visit(hall: HallRig) -> None:
    waiting = hall.issue("b")
    early = hall.client.post(
        f"/api/v1/public/tickets/{waiting['token']}/evaluation", json={"score": 5}
    )
    assert early.status_code == 409 and "尚未办结" in early.get_json()["error"]["message"]
    made_up = hall.client.post("/api/v1/public/tickets/not-a-ticket/evaluation", json={"score": 5})
    assert made_up.status_code == 404


def test_a_kiosk_cannot_grant_its_own_ticket_priority(hall: HallRig) -> None:
    for body in ({"service": "a", "priority": True},
                 {"service": "a", "priority_kind": "老年人"}):  # fmt: skip
        refused = hall.post("kiosk-1", "/tickets", body)
        assert refused.status_code == 403, refused.get_json()
        assert "绿色通道" in refused.get_json()["error"]["message"]
    assert hall.get("boss", "/snapshot").get_json()["queues"][0]["waiting"] == 0
    by_staff = hall.post("staff1", "/tickets", {"service": "a", "priority": True,
                                                "priority_kind": "残疾人"})  # fmt: skip
    assert by_staff.status_code == 201 and by_staff.get_json()["priority"] is True
    # The hall's own rule still gives an elderly ID holder the green channel at a kiosk.
    elderly = hall.issue("a", id_number="11010519491231002X")
    assert (elderly["priority"], elderly["priority_kind"]) == (True, "老年人")


def test_a_keypad_brings_back_only_the_visitors_of_its_own_window(hall: HallRig) -> None:
    held = hall.issue("b")
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "call-next")
    hall.act("staff1", 3, "start")
    hall.act("staff1", 3, "hold")  # 补件 at window 3
    refused = hall.post("keypad-2", f"/tickets/{held['id']}/requeue")
    assert refused.status_code == 403, refused.get_json()
    assert "叫号器" in refused.get_json()["error"]["message"]
    missed = hall.issue("a")
    hall.act("keypad-2", 2, "open")
    hall.act("keypad-2", 2, "call-next")
    hall.act("keypad-2", 2, "no-show")
    back = hall.post("keypad-2", f"/tickets/{missed['id']}/requeue")
    assert back.status_code == 200 and back.get_json()["status"] == "waiting"
