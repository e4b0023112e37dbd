"""Who may press which button: staff on their own window, supervisors anywhere, a keypad on
its window, kiosks and displays never; every refusal a clear 401/403 that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hall_server.models import Staff

from ..hall import HallRig
from .test_windows_api import rows


def error_of(response: Any, status: int) -> dict[str, str]:
    assert response.status_code == status, response.get_json()
    error: dict[str, str] = response.get_json()["error"]
    assert set(error) >= {"code", "message"} and error["message"]
    return error


def staff_id(hall: HallRig, login: str) -> int:
    with hall.ctx.db.read() as session:
        found = session.scalar(select(Staff.id).where(Staff.login == login))
    assert found is not None
    return found


@pytest.fixture
def window_2_of_staff1(hall: HallRig) -> HallRig:
    """Window 2 opened by staff1 with A001 called; B001 waits."""
    hall.issue("a")
    hall.issue("b")
    hall.act("staff1", 2, "open")
    hall.act("staff1", 2, "call-next")
    return hall


@pytest.mark.parametrize("action", ["finish", "recall", "call-next", "pause", "close", "open"])
def test_staff_cannot_act_on_a_window_another_staff_member_opened(
    window_2_of_staff1: HallRig, action: str
) -> None:
    hall = window_2_of_staff1
    before = rows(hall)
    response = hall.post("staff2", f"/windows/2/{action}", {"reason": "会议"})
    error = error_of(response, 403)
    assert error["code"] == "forbidden"
    assert error["message"] == "2号窗口由staff1使用中，不能操作 (window 2 is in use by staff1)."
    assert rows(hall) == before


@pytest.mark.parametrize("boss", ["boss", "root"])
def test_supervisor_and_admin_act_on_any_window(window_2_of_staff1: HallRig, boss: str) -> None:
    hall = window_2_of_staff1
    done = hall.act(boss, 2, "finish")["ticket"]
    assert done["status"] == "done"
    called = hall.act(boss, 2, "call-next")["ticket"]
    assert called["number"] == "B001"
    assert called["staff_id"] == staff_id(hall, "staff1")  # served at staff1's window
    hall.act(boss, 2, "finish")
    closed = hall.act(boss, 2, "close")["window"]
    assert (closed["state"], closed["staff"]) == ("closed", "")
    assert hall.act("staff2", 2, "open")["window"]["staff"] == "staff2"
    assert hall.get("boss", "/events?after=0").status_code == 200


def test_keypad_acts_on_its_own_window_for_the_staff_there(window_2_of_staff1: HallRig) -> None:
    hall = window_2_of_staff1
    recalled = hall.act("keypad-2", 2, "recall")["ticket"]
    assert recalled["call_count"] == 2
    hall.act("keypad-2", 2, "finish")
    called = hall.act("keypad-2", 2, "call-next")["ticket"]
    assert called["number"] == "B001" and called["staff_id"] == staff_id(hall, "staff1")
    events = hall.get("boss", "/events?after=0").get_json()["events"]
    assert [e["actor"] for e in events if e["type"] == "ticket.recalled"] == ["keypad-2"]


@pytest.mark.parametrize("window", [1, 3, 4])
def test_keypad_may_not_act_on_other_windows(hall: HallRig, window: int) -> None:
    hall.issue("b")
    before = rows(hall)
    error = error_of(hall.post("keypad-2", f"/windows/{window}/open"), 403)
    assert error["code"] == "forbidden" and f"window {window}" in error["message"]
    assert rows(hall) == before


@pytest.mark.parametrize("device", ["kiosk-1", "tv-1"])
@pytest.mark.parametrize(
    "path", ["/windows/2/open", "/windows/2/call-next", "/windows/2/finish", "/tickets/1/requeue",
             "/tickets/1/cancel"],
)  # fmt: skip
def test_kiosks_and_displays_cannot_touch_windows_or_tickets(
    window_2_of_staff1: HallRig, device: str, path: str
) -> None:
    hall = window_2_of_staff1
    before = rows(hall)
    error = error_of(hall.post(device, path), 403)
    assert error["code"] == "forbidden" and "无权" in error["message"]
    assert rows(hall) == before


@pytest.mark.parametrize(
    ("token", "says"),
    [(None, "Bearer"), ("s.forged", "invalid"), ("d.forged", "invalid"), ("Basic abc", "Bearer")],
    ids=["none", "forged-staff", "forged-device", "wrong-scheme"],
)
def test_window_actions_need_a_valid_token(
    window_2_of_staff1: HallRig, token: str | None, says: str
) -> None:
    hall = window_2_of_staff1
    before = rows(hall)
    headers = {}
    if token:
        headers["Authorization"] = token if " " in token else f"Bearer {token}"
    response = hall.client.post("/api/v1/windows/2/finish", json={}, headers=headers)
    error = error_of(response, 401)
    assert error["code"] == "unauthorized" and says in error["message"]
    assert rows(hall) == before


def test_a_logged_out_or_expired_staff_token_is_refused(window_2_of_staff1: HallRig) -> None:
    hall = window_2_of_staff1
    assert hall.post("staff1", "/auth/logout").status_code == 200
    error = error_of(hall.post("staff1", "/windows/2/finish"), 401)
    assert "expired" in error["message"]
    hall.clock.advance(hours=73)  # token_ttl_h = 72
    error_of(hall.post("staff2", "/windows/3/open"), 401)
    assert hall.get("boss", "/services").status_code == 401


def test_visitor_token_cannot_cancel_a_called_ticket_even_with_staff_login(
    window_2_of_staff1: HallRig,
) -> None:
    hall = window_2_of_staff1
    called = hall.get("boss", "/tickets/1").get_json()
    assert called["status"] == "called"
    before = rows(hall)
    response = hall.client.post(
        f"/api/v1/public/tickets/{called['token']}/cancel", headers=hall.headers("staff1")
    )
    error = error_of(response, 403)
    assert "已叫号" in error["message"] and "go to the window" in error["message"]
    assert rows(hall) == before


def test_staff_cancel_a_called_ticket_by_id_and_the_window_is_free(
    window_2_of_staff1: HallRig,
) -> None:
    hall = window_2_of_staff1
    response = hall.post("staff1", "/tickets/1/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert hall.act("staff1", 2, "call-next")["ticket"]["number"] == "B001"
    hall.act("staff1", 2, "start")
    error = error_of(hall.post("staff1", "/tickets/2/cancel"), 409)  # serving: finish it
    assert error["code"] == "illegal_transition"


def test_staff_cannot_cancel_a_ticket_called_to_another_staff_members_window(
    window_2_of_staff1: HallRig,
) -> None:
    hall = window_2_of_staff1
    before = rows(hall)
    error = error_of(hall.post("staff2", "/tickets/1/cancel"), 403)
    assert error["code"] == "forbidden" and "window 2" in error["message"]
    assert rows(hall) == before
    assert hall.post("staff1", "/tickets/1/cancel").status_code == 200  # the holder may


def test_a_display_reading_a_ticket_does_not_get_the_visitors_token(hall: HallRig) -> None:
    ticket = hall.issue("a", phone="13812345678")
    seen = hall.get("tv-1", f"/tickets/{ticket['id']}").get_json()
    assert seen["number"] == "A001"
    assert "token" not in seen and "phone" not in seen
