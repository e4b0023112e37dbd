"""The window page's reads and staff sessions: what a desk shows, which buttons are legal and
why not, who may read which window, and what logging out does to the window."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from hall_server.services.staff_sessions import DeskFacts, legal_buttons
from tests.hall_server.hall import SMALL_HALL, HallRig, build_hall


def allowed(facts: DeskFacts) -> set[str]:
    return {name for name, state in legal_buttons(facts).items() if state["allowed"]}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (DeskFacts("closed"), {"open"}),
        (DeskFacts("paused"), {"resume", "close"}),
        (DeskFacts("paused", "B001", "serving"), {"resume", "finish", "transfer", "hold"}),
        (DeskFacts("open"), {"pause", "close", "call-next", "call"}),
        (DeskFacts("open", "B001", "called"),
         {"pause", "recall", "start", "finish", "no-show", "transfer"}),
        (DeskFacts("open", "B001", "serving"), {"pause", "finish", "transfer", "hold"}),
        (DeskFacts("open", "B001", "called", recalls=3, max_recalls=3),
         {"pause", "start", "finish", "no-show", "transfer"}),
        (DeskFacts("open", "B001", "called", finish_from_called=False),
         {"pause", "recall", "start", "no-show", "transfer"}),
    ],
)  # fmt: skip
def test_the_buttons_legal_in_each_state(facts: DeskFacts, expected: set[str]) -> None:
    assert allowed(facts) == expected


def test_every_button_off_says_why_in_chinese_then_english() -> None:
    buttons = legal_buttons(DeskFacts("open", "B001", "called", recalls=3, max_recalls=3))
    assert buttons["recall"]["reason"] == (
        "已重呼3次，请按过号处理 (recalled 3 times: mark it no-show)"
    )
    assert buttons["call-next"]["reason"] == (
        "请先办结、过号或转移 B001 (finish, no-show or transfer B001 first)"
    )
    assert buttons["hold"]["reason"] == "请先开始办理 (start serving first)"
    for state in ("closed", "paused", "open"):
        for button in legal_buttons(DeskFacts(state)).values():
            assert button["allowed"] or " (" in button["reason"]


def test_the_desk_shows_the_ticket_queues_figures_and_what_may_come_back(hall: HallRig) -> None:
    for _ in range(4):
        hall.issue("b")
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "call-next")
    hall.clock.advance(minutes=4)
    hall.act("staff1", 3, "finish")  # B001: waited 0 s, handled 240 s
    hall.act("staff1", 3, "call-next")
    hall.clock.advance(minutes=1)
    hall.act("staff1", 3, "no-show")  # B002 missed
    hall.act("staff1", 3, "call-next")
    hall.act("staff1", 3, "start")
    hall.act("staff1", 3, "hold")  # B003 held
    hall.clock.advance(minutes=2)
    called = hall.act("staff1", 3, "call-next")["ticket"]
    desk = hall.get("staff1", "/windows/3/desk").get_json()
    assert desk["mine"] is True
    assert desk["window"]["staff"] == "staff1"
    assert (desk["ticket"]["number"], desk["ticket"]["waited_s"]) == (called["number"], 420.0)
    assert [(q["service"], q["waiting"]) for q in desk["queues"]] == [("", 0), ("b", 0)]
    assert desk["today"] == {"served": 1, "avg_handle_s": 240.0, "avg_wait_s": 0.0,
                             "no_shows": 1, "held": 1}  # fmt: skip
    assert [(r["number"], r["status"], r["returnable"]) for r in desk["returns"]] == [
        ("B003", "held", True),
        ("B002", "no_show", True),
    ]
    assert "午休" in desk["pause_reasons"]
    assert [w["number"] for w in desk["windows"]] == [1, 2, 4]


def test_a_missed_visitor_back_too_late_cannot_be_requeued_and_the_desk_says_so(
    hall: HallRig,
) -> None:
    hall.issue("b")
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "call-next")
    hall.act("staff1", 3, "no-show")
    hall.clock.advance(minutes=61)
    (missed,) = hall.get("staff1", "/windows/3/desk").get_json()["returns"]
    assert missed["returnable"] is False
    assert missed["reason"].startswith("过号已超过60分钟，请重新取号")


@pytest.mark.parametrize("who", ["staff2", "kiosk-1", "tv-1", "eval-3", "keypad-2"])
def test_only_the_window_holder_reads_its_desk(hall: HallRig, who: str) -> None:
    hall.act("staff1", 3, "open")
    response = hall.get(who, "/windows/3/desk")
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "forbidden" and "(" in error["message"]
    if who == "staff2":
        assert error["message"] == "3号窗口由staff1使用中 (window 3 is in use by staff1)."


@pytest.mark.parametrize("who", ["boss", "root", "staff2"])
def test_supervisors_read_any_desk_and_staff_a_free_one(hall: HallRig, who: str) -> None:
    hall.act("staff1", 3, "open")
    window = 3 if who != "staff2" else 4
    assert hall.get(who, f"/windows/{window}/desk").status_code == 200


def test_the_keypad_reads_its_own_window_and_its_prefixes(hall: HallRig) -> None:
    assert hall.get("keypad-2", "/windows/2/desk").status_code == 200
    me = hall.get("keypad-2", "/keypads/me").get_json()
    window_2 = {"number": 2, "name": "2号窗口", "prefixes": ["A", "B"]}
    assert me == {"name": "keypad-2", "options": {}, "windows": [window_2]}
    assert hall.get("staff1", "/keypads/me").status_code == 403


@pytest.mark.parametrize(
    ("who", "method", "path"),
    [
        ("staff1", "POST", "/windows/3/call-next"),  # another staff member's window
        ("staff1", "GET", "/alarms"),  # the dashboard's supervisor part
        ("staff1", "POST", "/alarms/1/ack"),
        ("staff1", "GET", "/reports/today"),
        ("staff1", "POST", "/appointments"),  # bookings are the supervisor's
        ("staff1", "GET", "/admin/config"),  # configuration is the admin's
        ("staff1", "PUT", "/admin/settings"),
        ("staff1", "PUT", "/admin/windows/3"),
        ("boss", "PUT", "/admin/settings"),  # even a supervisor's
        ("keypad-2", "POST", "/windows/3/open"),  # a keypad on another window
        ("eval-3", "POST", "/windows/3/call-next"),  # an evaluator never calls
        ("kiosk-1", "POST", "/windows/1/open"),
        ("tv-1", "GET", "/windows/1/desk"),
    ],
)
def test_every_refusal_is_a_clear_403_that_changes_nothing(
    hall: HallRig, who: str, method: str, path: str
) -> None:
    hall.issue("b")
    hall.act("staff2", 3, "open")
    before = hall.get("boss", "/snapshot").get_json()
    client = hall.client
    response = client.open(f"/api/v1{path}", method=method, json={}, headers=hall.headers(who))
    assert response.status_code == 403, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "forbidden" and error["message"]
    after = hall.get("boss", "/snapshot").get_json()
    assert after["seq"] == before["seq"]


def test_logout_pauses_the_window_and_ends_the_token(hall: HallRig) -> None:
    hall.issue("b")
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "call-next")
    answer = hall.post("staff1", "/staff/logout").get_json()
    assert answer == {"ok": True, "policy": "pause",
                      "windows": [{"number": 3, "action": "pause", "state": "paused"}]}  # fmt: skip
    assert hall.get("staff1", "/staff/me").status_code == 401
    desk = hall.get("boss", "/windows/3/desk").get_json()
    assert (desk["window"]["pause_reason"], desk["window"]["staff"]) == ("已退出登录", "staff1")
    assert desk["ticket"]["number"] == "B001"  # the visitor's ticket is not lost
    assert hall.post("staff2", "/windows/3/resume").status_code == 403


def test_logout_of_staff_without_a_window_only_ends_the_token(hall: HallRig) -> None:
    assert hall.get("staff2", "/staff/me").get_json() == {
        "login": "staff2", "name": "staff2", "role": "staff", "window": None}  # fmt: skip
    assert hall.post("staff2", "/staff/logout").get_json()["windows"] == []
    assert hall.get("staff2", "/staff/me").status_code == 401


@pytest.fixture
def closing_hall(tmp_path: Path) -> Any:
    """The small hall whose policy closes a window when its staff logs out."""
    config = tmp_path / "closing.toml"
    shutil.copy(SMALL_HALL, config)
    text = config.read_text().replace(
        "requeue_after_n = 1", 'requeue_after_n = 1\nlogout_window = "close"'
    )
    config.write_text(text)
    rig = build_hall(f"sqlite:///{tmp_path / 'hall.db'}", tmp_path / "var", config_path=config)
    yield rig
    rig.ctx.db.dispose()


def test_logout_closes_a_free_window_where_the_policy_says_close(closing_hall: HallRig) -> None:
    hall = closing_hall
    hall.issue("b")
    hall.act("staff1", 3, "open")
    hall.act("staff2", 4, "open")
    hall.act("staff1", 3, "call-next")
    done = hall.post("staff2", "/staff/logout").get_json()
    assert done["windows"] == [{"number": 4, "action": "close", "state": "closed"}]
    busy = hall.post("staff1", "/staff/logout").get_json()
    assert busy["windows"] == [{"number": 3, "action": "pause", "state": "paused"}]
    snapshot = hall.get("boss", "/snapshot").get_json()
    staff = {w["number"]: w["staff"] for w in snapshot["windows"]}
    assert (staff[3], staff[4]) == ("staff1", "")


def test_a_staff_member_at_one_window_cannot_open_another(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    response = hall.post("staff1", "/windows/1/open")
    assert response.status_code == 403, response.get_json()
