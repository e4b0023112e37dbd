"""A kiosk takes a number only when it can print; the print job goes to its agent and back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from hall_server.extensions import socketio
from hall_server.models import Alarm, LogEvent, PrintJob, Ticket
from tests.hall_server.hall import HallRig

from .conftest import KIOSK_NAMESPACE, connect, printer_reports, received


def tickets(hall: HallRig) -> int:
    with hall.ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(Ticket)) or 0


def take(hall: HallRig, kiosk: str = "kiosk-1", **body: Any) -> Any:
    key = body.pop("key", None)
    headers = {"Idempotency-Key": key} if key else {}
    return hall.post(kiosk, "/kiosk/tickets", {"service": "b", **body}, **headers)


def test_kiosk_home_lists_services_by_category_with_waiting_eta_and_guide(hall: HallRig) -> None:
    hall.issue("b")
    state = hall.get("kiosk-1", "/kiosk/state").get_json()
    by_code = {s["code"]: s for s in state["services"]}
    assert [s["category"] for s in state["services"]] == ["社保", "不动产", "出入境"]
    assert by_code["b"]["waiting"] == 1 and by_code["b"]["available"] is True
    assert by_code["b"]["guide"] == {"materials": [], "fee": "", "time_limit": "", "notes": ""}
    assert by_code["c"]["daily_cap"] == 5 and by_code["c"]["left"] == 5
    assert state["hall"]["name"] == "测试大厅" and state["notices"] == ["请保管好随身物品"]


def test_a_closed_or_capped_service_is_offered_disabled_with_its_reason(hall: HallRig) -> None:
    for _ in range(5):
        hall.issue("c")  # the daily cap of 出入境
    by_code = {s["code"]: s for s in hall.get("kiosk-1", "/kiosk/state").get_json()["services"]}
    assert by_code["c"]["available"] is False and "号源已发完" in by_code["c"]["reason"]
    assert by_code["c"]["left"] == 0
    hall.clock.advance(hours=8)  # 18:00: 社会保障 stopped issuing for today
    by_code = {s["code"]: s for s in hall.get("kiosk-1", "/kiosk/state").get_json()["services"]}
    assert by_code["a"]["available"] is False and "今日已停止取号" in by_code["a"]["reason"]
    assert by_code["b"]["available"] is True  # open round the clock


def test_without_a_connected_printer_agent_nothing_is_issued(hall: HallRig) -> None:
    response = take(hall)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "printer_unavailable" and "打印服务未连接" in error["message"]
    assert tickets(hall) == 0


def test_printer_out_of_paper_says_so_points_to_another_kiosk_and_issues_nothing(
    hall: HallRig, agent: Any
) -> None:
    connect(hall, "kiosk-2", "agent")
    printer_reports(hall, "kiosk-2", "ok")
    printer_reports(hall, "kiosk-1", "out")
    page = hall.get("kiosk-1", "/kiosk/state").get_json()["printer"]
    assert page["ready"] is False and "缺纸" in page["sentence"]
    assert "请到其他取号机取号：2楼 B区" in page["sentence"]  # by its place, not its id
    assert "kiosk-2" not in page["sentence"]
    response = take(hall)
    assert response.status_code == 409
    assert "缺纸" in response.get_json()["error"]["message"]
    assert "2楼 B区" in response.get_json()["error"]["message"]
    assert tickets(hall) == 0
    assert received(agent, "print") == []


def test_paper_low_still_issues_and_prints(hall: HallRig, agent: Any) -> None:
    printer_reports(hall, "kiosk-1", "low")
    assert take(hall).status_code == 201


def test_issued_ticket_is_sent_to_the_agent_and_the_page_hears_it_printed(
    hall: HallRig, agent: Any
) -> None:
    page = connect(hall, "kiosk-1", "page")
    page.get_received(KIOSK_NAMESPACE)
    response = take(hall, phone="13812345678")
    assert response.status_code == 201
    ticket = response.get_json()
    assert ticket["number"] == "B001" and ticket["people_ahead"] == 0
    assert ticket["qr_url"].endswith(f"/t/{ticket['token']}")
    assert "phone" not in ticket and ticket["print"]["state"] == "pending"
    [job] = received(agent, "print")
    assert job["job_id"] == ticket["print"]["job_id"]
    assert job["ticket"]["number"] == "B001" and job["ticket"]["hall_name"] == "测试大厅"
    assert job["ticket"]["qr_url"] == ticket["qr_url"] and job["ticket"]["zone"] == "B区"
    answer = agent.emit("print_result", {"job_id": job["job_id"], "ok": True},
                        namespace=KIOSK_NAMESPACE, callback=True)  # fmt: skip
    assert answer == {"ok": True, "state": "printed"}
    [result] = received(page, "print_result")
    assert result["state"] == "printed" and result["number"] == "B001"


def test_a_failed_print_keeps_the_ticket_logs_the_failure_and_raises_an_alarm(
    hall: HallRig, agent: Any
) -> None:
    page = connect(hall, "kiosk-1", "page")
    ticket = take(hall).get_json()
    [job] = received(agent, "print")
    agent.emit("print_result", {"job_id": job["job_id"], "ok": False,
               "error": "打印 B001 失败：打印机缺纸 / printer out of paper"},
               namespace=KIOSK_NAMESPACE)  # fmt: skip
    [result] = received(page, "print_result")
    assert result["state"] == "failed" and "缺纸" in result["error"]
    assert hall.get("kiosk-1", f"/tickets/{ticket['id']}").get_json()["status"] == "waiting"
    with hall.ctx.db.read() as session:
        logged = [
            e.payload["status"]
            for e in session.scalars(select(LogEvent).where(LogEvent.type == "device.status"))
            if e.payload["status"]["part"] == "print"
        ]
        alarms = session.execute(
            select(Alarm.level, Alarm.subject).where(Alarm.cleared_at.is_(None))
        ).all()
    assert logged and logged[-1]["health"] == "fault" and "B001" in logged[-1]["message"]
    assert [tuple(a) for a in alarms if "print" in a.subject] == [("red", "device:kiosk-1/print")]
    # The next good print clears the alarm.
    take(hall)
    [job2] = received(agent, "print")
    agent.emit("print_result", {"job_id": job2["job_id"], "ok": True}, namespace=KIOSK_NAMESPACE)
    with hall.ctx.db.read() as session:
        open_print = session.scalars(
            select(Alarm.id).where(Alarm.cleared_at.is_(None), Alarm.subject.like("%/print"))
        ).all()
    assert open_print == []


def test_a_retry_with_the_same_key_returns_the_same_ticket_and_prints_once(
    hall: HallRig, agent: Any
) -> None:
    first = take(hall, key="tap-1")
    printer_reports(hall, "kiosk-1", "out")  # the answer was lost, then paper ran out
    again = take(hall, key="tap-1")
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert tickets(hall) == 1
    assert len(received(agent, "print")) == 1
    with hall.ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(PrintJob)) == 1


def test_a_reconnecting_agent_gets_pending_jobs_and_old_ones_fail(
    hall: HallRig, agent: Any
) -> None:
    take(hall)
    agent.disconnect(KIOSK_NAMESPACE)
    assert hall.get("kiosk-1", "/kiosk/state").get_json()["printer"]["ready"] is False
    again = connect(hall, "kiosk-1", "agent")
    assert [j["number"] for j in received(again, "print")] == ["B001"]
    again.disconnect(KIOSK_NAMESPACE)
    hall.clock.advance(minutes=5)  # the visitor has long walked away
    late = connect(hall, "kiosk-1", "agent")
    assert received(late, "print") == []
    with hall.ctx.db.read() as session:
        assert session.scalars(select(PrintJob.state)).all() == ["failed"]


def test_only_a_kiosk_may_connect_to_the_kiosk_namespace(hall: HallRig) -> None:
    from hall_server.extensions import socketio

    client = socketio.test_client(hall.app, namespace=KIOSK_NAMESPACE,
                                  auth={"token": hall.tokens["tv-1"], "role": "agent"})  # fmt: skip
    assert not client.is_connected(KIOSK_NAMESPACE)
    assert hall.post("tv-1", "/kiosk/tickets", {"service": "b"}).status_code == 403


def test_a_revoked_kiosks_agent_is_closed_and_gets_no_more_print_jobs(
    hall: HallRig, agent: Any
) -> None:
    page = connect(hall, "kiosk-1", "page")
    assert hall.post("root", "/admin/devices/kiosk-1/revoke").status_code == 200
    watch = socketio.server.namespace_handlers[KIOSK_NAMESPACE].token_watch
    assert watch.close_ended_tokens() == 2  # the round the namespace runs every 5 s
    assert not agent.is_connected(KIOSK_NAMESPACE)
    assert not page.is_connected(KIOSK_NAMESPACE)
    again = socketio.test_client(
        hall.app, namespace=KIOSK_NAMESPACE, auth={"token": hall.tokens["kiosk-1"], "role": "agent"}
    )
    assert not again.is_connected(KIOSK_NAMESPACE)  # and it cannot come back
