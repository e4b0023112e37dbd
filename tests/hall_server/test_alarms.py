"""Alarms (预警) on a simulated clock: each raised at its threshold, cleared when its cause
ends, never raised twice for one cause; acknowledged with who did it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from hall_server.models import Hall, Service
from hall_server.services.alarms import check_alarms, watch_alarms

from .hall import HallRig


def alarm_events(hall: HallRig) -> list[dict[str, Any]]:
    events = hall.get("boss", "/events?after=0").get_json()["events"]
    return [e for e in events if e["type"].startswith("alarm.")]


def check_at(hall: HallRig, **delta: float) -> list[tuple[str, str, str]]:
    """Move the clock, check, and return (type, subject, level) of each event."""
    hall.clock.advance(**delta)
    return [(e["type"], e["subject"], e.get("level", "")) for e in check_alarms(hall.ctx)]


def test_long_wait_raised_yellow_then_red_once_each_and_cleared_when_the_queue_moves(
    hall: HallRig,
) -> None:
    hall.issue("b")
    assert check_at(hall, minutes=19, seconds=59) == []
    raised = check_alarms(hall.ctx, hall.clock.advance(seconds=1))
    assert [(e["type"], e["kind"], e["subject"], e["level"]) for e in raised] == [
        ("alarm.raised", "long_wait", "service:b", "yellow")
    ]
    assert "不动产登记最长等候20分钟" in raised[0]["message"]
    assert check_at(hall, minutes=5) == []  # still waiting: not raised again
    escalated = check_alarms(hall.ctx, hall.clock.advance(minutes=15))
    assert [(e["update"], e["level"], e["alarm_id"]) for e in escalated] == [
        ("escalated", "red", raised[0]["alarm_id"])
    ]
    assert check_at(hall, minutes=30) == []
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "call-next")
    cleared = check_alarms(hall.ctx)
    assert [(e["type"], e["alarm_id"]) for e in cleared] == [
        ("alarm.cleared", raised[0]["alarm_id"])
    ]
    assert check_at(hall, minutes=1) == []
    assert [e["type"] for e in alarm_events(hall)] == ["alarm.raised"] * 2 + ["alarm.cleared"]
    assert hall.get("boss", "/alarms").get_json()["alarms"] == []


def test_a_service_overrides_the_hall_wait_thresholds(hall: HallRig) -> None:
    with hall.ctx.db.write() as session:
        service = session.scalar(select(Service).where(Service.code == "b"))
        assert service is not None
        service.wait_yellow_min, service.wait_red_min = 5, 8
        hall_row = session.get(Hall, hall.ctx.hall_id)
        assert hall_row is not None
        hall_row.config_version += 1
    hall.issue("b")
    hall.issue("a")
    hall.clock.advance(minutes=5)
    assert [(e["subject"], e["level"]) for e in check_alarms(hall.ctx)] == [("service:b", "yellow")]
    hall.clock.advance(minutes=3)
    assert [(e["subject"], e["level"]) for e in check_alarms(hall.ctx)] == [("service:b", "red")]
    hall.clock.advance(minutes=12)  # service a (hall thresholds) reaches 20 minutes
    assert [(e["subject"], e["level"]) for e in check_alarms(hall.ctx)] == [("service:a", "yellow")]


def test_long_handling_at_a_window_raised_at_each_threshold_and_cleared_at_finish(
    hall: HallRig,
) -> None:
    hall.act("staff1", 3, "open")
    hall.issue("b")
    hall.act("staff1", 3, "call-next")
    hall.clock.advance(minutes=2)
    hall.act("staff1", 3, "start")
    hall.clock.advance(minutes=19, seconds=59)
    assert check_alarms(hall.ctx) == []
    hall.clock.advance(seconds=1)
    first = check_alarms(hall.ctx)
    assert [(e["kind"], e["subject"], e["level"]) for e in first] == [
        ("long_handle", "window:3", "yellow")
    ]
    hall.clock.advance(minutes=20)
    assert [(e["update"], e["level"]) for e in check_alarms(hall.ctx)] == [("escalated", "red")]
    hall.act("staff1", 3, "finish")
    cleared = check_alarms(hall.ctx)
    assert [(e["type"], e["alarm_id"]) for e in cleared] == [
        ("alarm.cleared", first[0]["alarm_id"])
    ]


def test_idle_window_while_its_service_has_a_queue(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    hall.act("staff2", 4, "open")  # window 4 serves c only: nobody waits for it
    hall.issue("b")
    hall.clock.advance(minutes=4, seconds=59)
    assert check_alarms(hall.ctx) == []
    hall.clock.advance(seconds=1)
    assert [(e["kind"], e["subject"], e["level"]) for e in check_alarms(hall.ctx)] == [
        ("idle_window", "window:3", "yellow")
    ]
    hall.clock.advance(minutes=5)
    assert [(e["subject"], e["level"]) for e in check_alarms(hall.ctx)] == [("window:3", "red")]
    hall.act("staff1", 3, "call-next")
    assert [(e["type"], e["subject"]) for e in check_alarms(hall.ctx)] == [
        ("alarm.cleared", "window:3")
    ]
    hall.act("staff1", 3, "finish")
    hall.issue("b")
    hall.clock.advance(minutes=4)  # idle counts from the last finish, not from opening
    assert check_alarms(hall.ctx) == []


def test_pause_over_its_limit_yellow_then_red_and_cleared_on_resume(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "pause", reason="午休")
    hall.clock.advance(minutes=15)
    raised = check_alarms(hall.ctx)
    assert [(e["kind"], e["level"]) for e in raised] == [("long_pause", "yellow")]
    assert "午休" in raised[0]["message"]
    hall.clock.advance(minutes=15)
    assert [e["level"] for e in check_alarms(hall.ctx)] == ["red"]
    hall.act("staff1", 3, "resume")
    assert [e["type"] for e in check_alarms(hall.ctx)] == ["alarm.cleared"]


def test_a_device_fault_is_red_a_warning_yellow_and_both_clear_when_healthy(hall: HallRig) -> None:
    def report(health: str, message: str = "") -> None:
        response = hall.post("kiosk-1", "/devices/status", {
            "part": "printer", "status": {"health": health, "online": True, "message": message},
        })  # fmt: skip
        assert response.status_code == 200, response.get_json()

    report("warning", "纸将尽")
    assert [(e["kind"], e["subject"], e["level"]) for e in check_alarms(hall.ctx)] == [
        ("device_fault", "device:kiosk-1/printer", "yellow")
    ]
    report("fault", "缺纸")
    assert [(e["update"], e["level"]) for e in check_alarms(hall.ctx)] == [("escalated", "red")]
    report("fault", "缺纸")
    assert check_alarms(hall.ctx) == []
    report("ok")
    assert [e["type"] for e in check_alarms(hall.ctx)] == ["alarm.cleared"]


def test_a_bad_rating_raises_one_alarm_that_acknowledging_follows_up(hall: HallRig) -> None:
    ticket = hall.issue("b")
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "call-next")
    hall.act("staff1", 3, "finish")
    rated = hall.post("eval-3", f"/tickets/{ticket['id']}/evaluation",
                      {"score": 1, "reasons": ["态度差"]})  # fmt: skip
    assert rated.status_code == 201
    raised = check_alarms(hall.ctx)
    assert [(e["kind"], e["subject"], e["level"]) for e in raised] == [
        ("bad_rating", f"ticket:{ticket['id']}", "red")
    ]
    assert check_alarms(hall.ctx) == []
    alarm_id = raised[0]["alarm_id"]
    assert hall.post("staff1", f"/alarms/{alarm_id}/ack").status_code == 403
    acked = hall.post("boss", f"/alarms/{alarm_id}/ack")
    assert acked.status_code == 200
    assert acked.get_json()["acked_by"] == "boss" and acked.get_json()["cleared_at"]
    assert check_alarms(hall.ctx) == []  # followed up: never raised again for this rating
    hall.clock.advance(hours=1)
    assert check_alarms(hall.ctx) == []
    kinds = [(e["type"], e.get("update", ""), e["actor"]) for e in alarm_events(hall)]
    assert kinds == [
        ("alarm.raised", "raised", "system"),
        ("alarm.raised", "acknowledged", "boss"),
        ("alarm.cleared", "", "boss"),
    ]


def test_acknowledging_keeps_the_alarm_open_and_says_who(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "pause", reason="会议")
    hall.clock.advance(minutes=16)
    alarm_id = check_alarms(hall.ctx)[0]["alarm_id"]
    assert hall.post("boss", "/alarms/999/ack").status_code == 404
    hall.post("boss", f"/alarms/{alarm_id}/ack")
    hall.post("root", f"/alarms/{alarm_id}/ack")  # already acknowledged: nothing changes
    listed = hall.get("boss", "/alarms").get_json()["alarms"]
    assert [(a["id"], a["acked_by"], a["cleared_at"]) for a in listed] == [(alarm_id, "boss", None)]
    snapshot = hall.get("boss", "/snapshot").get_json()
    assert [(a["id"], a["acked_by"]) for a in snapshot["alarms"]] == [(alarm_id, "boss")]
    acks = [e for e in alarm_events(hall) if e.get("update") == "acknowledged"]
    assert [(e["alarm_id"], e["acked_by"]) for e in acks] == [(alarm_id, "boss")]
    public = hall.get("tv-1", "/events?after=0").get_json()["events"]
    assert all(set(e) == {"seq", "type", "at"} for e in public if e["type"].startswith("alarm."))


def test_the_watch_checks_after_events_in_a_background_task_not_in_the_publisher(
    hall: HallRig,
) -> None:
    spawned: list[Callable[[], None]] = []
    watch_alarms(hall.ctx, spawned.append, lambda _: None)
    hall.post("kiosk-1", "/devices/status",
              {"part": "printer", "status": {"health": "fault", "message": "缺纸"}})  # fmt: skip
    hall.issue("b")  # a second event while the first check is pending: folded into it
    assert len(spawned) == 1 and alarm_events(hall) == []
    spawned.pop()()
    assert [(e["kind"], e["level"]) for e in alarm_events(hall)] == [("device_fault", "red")]
    hall.issue("b")  # alarm events themselves do not trigger; a ticket event does
    assert len(spawned) == 1
