"""The keypad agent: keys become window actions, the display line tells how it went."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from devices.keypad import FakeKeypad, Intent
from hall_server.client.api import ApiError, HallApi, Unreachable
from tests.hall_server.hall import HallRig
from window_client.agent import AgentConfig, KeypadAgent


class RigApi(HallApi):
    """The agent's API client, answered by the test hall's Flask app in process."""

    def __init__(self, hall: HallRig, who: str, *, drop_first: int = 0) -> None:
        super().__init__("http://test", hall.tokens[who])
        self.hall = hall
        self.drop_first = drop_first  # requests "lost" on the way back, after the server acted
        self.keys: list[str] = []

    def call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *, key: str = ""
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
            self.keys.append(key)
        response = self.hall.client.open(
            "/api/v1" + path, method=method, json=dict(body or {}), headers=headers
        )
        if self.drop_first and method == "POST":
            self.drop_first -= 1
            raise Unreachable("the answer was lost")
        data: dict[str, Any] = response.get_json()
        if response.status_code >= 400:
            raise ApiError(response.status_code, data["error"]["code"], data["error"]["message"])
        return data


def agent_for(hall: HallRig, keypad: FakeKeypad, **api: Any) -> KeypadAgent:
    config = AgentConfig(window=2, prefixes=("A", "B"))
    evaluator = RigApi(hall, "eval-3") if "eval" in api else None
    api.pop("eval", None)
    return KeypadAgent(keypad, RigApi(hall, "keypad-2", **api), config, evaluator=evaluator)


@pytest.fixture
def keypad() -> FakeKeypad:
    return FakeKeypad(address=2)


def window(hall: HallRig, number: int) -> dict[str, Any]:
    found: dict[str, Any] = hall.get("boss", f"/windows/{number}/desk").get_json()
    return found


def test_keys_drive_the_window_and_the_display_says_what_happened(
    hall: HallRig, keypad: FakeKeypad
) -> None:
    hall.act("staff1", 2, "open")
    hall.issue("b")
    hall.issue("b")
    agent = agent_for(hall, keypad)
    assert agent.idle_line() == "2号窗 等候2人"
    assert agent.press("call-next") == "B001 已呼叫"
    assert agent.press("recall") == "B001 第2次呼叫"
    assert agent.press("start") == "B001 办理中"
    assert agent.idle_line() == "B001 办理中"
    assert agent.press("finish") == "B001 已办结"
    assert window(hall, 2)["today"]["served"] == 1
    # 特呼 B002: the prefix key steps A -> B, digits, enter.
    for key in ("prefix", "prefix", "2"):
        agent.press(key)
    assert keypad.text == "特呼 B2_"
    assert agent.press("enter") == "特呼 B002"
    assert agent.press("no-show") == "B002 已过号"
    assert agent.press("call-next") == "无人等候"
    assert agent.press("pause") == "暂停服务"
    assert window(hall, 2)["window"]["pause_reason"] == "临时离开"
    assert agent.idle_line() == "暂停 临时离开"
    assert agent.press("resume") == "恢复服务"


def test_a_refused_press_shows_the_reason_and_changes_nothing(
    hall: HallRig, keypad: FakeKeypad
) -> None:
    agent = agent_for(hall, keypad)
    assert agent.idle_line() == "2号窗口 未开启"
    assert agent.press("call-next") == "2号窗口已关闭，请先开启或恢复"
    hall.act("staff1", 2, "open")
    assert agent.press("finish") == "2号窗口当前没有号票"
    hall.issue("b")
    agent.press("call-next")
    assert agent.press("5") == "特呼 A5_"  # half-typed: nothing is sent yet
    assert agent.press("clear") == "B001 已叫号"


def test_a_press_whose_answer_was_lost_is_retried_without_acting_twice(
    hall: HallRig, keypad: FakeKeypad
) -> None:
    hall.act("staff1", 2, "open")
    hall.issue("b")
    hall.issue("b")
    agent = agent_for(hall, keypad, drop_first=2)
    assert agent.press("call-next") == "B001 已呼叫"
    api = agent.api
    assert isinstance(api, RigApi) and len(api.keys) == 3 and len(set(api.keys)) == 1
    snapshot = hall.get("boss", "/snapshot").get_json()
    assert next(q for q in snapshot["queues"] if q["service"] == "b")["waiting"] == 1


def test_transfer_by_window_number_and_score_keys_rate_the_last_visit(
    hall: HallRig, keypad: FakeKeypad
) -> None:
    hall.act("staff1", 2, "open")
    hall.act("staff2", 3, "open")
    hall.issue("b")
    hall.issue("b")
    agent = agent_for(hall, keypad, eval=True)
    agent.press("call-next")
    agent.press("3")
    assert agent.press("transfer") == "B001 转3号窗"
    assert hall.act("staff2", 3, "call-next")["ticket"]["number"] == "B001"
    agent.press("call-next")
    agent.press("finish")
    assert agent.press("score-5") == "此评价器不属于办理此号的窗口"  # eval-3 sits at window 3
    hall.act("staff2", 3, "finish")
    agent.last_finished = (1, "B001")
    assert agent.press("score-1") == "B001 非常不满意"
    assert agent.press("score-1") == "无可评价业务"


def test_an_agent_only_acts_on_its_own_window(hall: HallRig, keypad: FakeKeypad) -> None:
    agent = KeypadAgent(keypad, RigApi(hall, "keypad-2"), AgentConfig(window=3, prefixes=("B",)))
    assert agent.press("call-next") == "无权操作3号窗口"
    assert agent.act(Intent("open")) == "无权操作3号窗口"
    assert agent.idle_line() == "无权查看3号窗口"
    assert window(hall, 3)["window"]["state"] == "closed"
