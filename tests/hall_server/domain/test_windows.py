"""Window states: what staff can do to their window, and when it may call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hall_server.domain.errors import IllegalTransition, InvalidInput
from hall_server.domain.windows import (
    Window,
    WindowAction,
    WindowState,
    act,
    require_open,
)

W = WindowState
WA = WindowAction
NOW = datetime(2024, 6, 14, 2, 0, tzinfo=UTC)
STATE_ZH = {W.CLOSED: "已关闭", W.OPEN: "服务中", W.PAUSED: "暂停服务"}

LEGAL = {
    (W.CLOSED, WA.OPEN): W.OPEN,
    (W.OPEN, WA.PAUSE): W.PAUSED,
    (W.OPEN, WA.CLOSE): W.CLOSED,
    (W.PAUSED, WA.RESUME): W.OPEN,
    (W.PAUSED, WA.CLOSE): W.CLOSED,
}
ALL_PAIRS = [(s, a) for s in W for a in WA]


def pair_id(pair: tuple[WindowState, WindowAction]) -> str:
    return f"{pair[0].value}-{pair[1].value}"


def window(state: WindowState) -> Window:
    return Window(
        number=3,
        state=state,
        pause_reason="会议" if state is W.PAUSED else "",
        priority_streak=2,
    )


@pytest.mark.parametrize("pair", [p for p in ALL_PAIRS if p in LEGAL], ids=pair_id)
def test_legal_window_action(pair: tuple[WindowState, WindowAction]) -> None:
    state, action = pair
    after = act(window(state), action, NOW, reason="午休")
    assert after.state is LEGAL[pair]
    assert after.state_since == NOW
    assert after.pause_reason == ("午休" if after.state is W.PAUSED else "")


@pytest.mark.parametrize("pair", [p for p in ALL_PAIRS if p not in LEGAL], ids=pair_id)
def test_illegal_window_action_is_refused(pair: tuple[WindowState, WindowAction]) -> None:
    state, action = pair
    with pytest.raises(IllegalTransition, match=f"^3号窗口{STATE_ZH[state]}，不能执行此操作"):
        act(window(state), action, NOW, reason="午休")


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"], ids=["empty", "spaces", "blank"])
def test_pause_needs_a_reason(reason: str) -> None:
    with pytest.raises(InvalidInput, match="暂停需要填写原因"):
        act(window(W.OPEN), WA.PAUSE, NOW, reason=reason)


def test_pause_reason_is_kept_trimmed_and_cleared_on_resume() -> None:
    paused = act(window(W.OPEN), WA.PAUSE, NOW, reason="  临时离开 ")
    assert paused.pause_reason == "临时离开"
    assert act(paused, WA.RESUME, NOW).pause_reason == ""


@pytest.mark.parametrize(
    ("state", "action", "streak"),
    [
        (W.OPEN, WA.PAUSE, 2),
        (W.PAUSED, WA.RESUME, 2),
        (W.OPEN, WA.CLOSE, 0),
        (W.PAUSED, WA.CLOSE, 0),
    ],
    ids=["pause-keeps", "resume-keeps", "close-resets", "close-from-pause-resets"],
)
def test_green_channel_streak_survives_a_pause_not_a_close(
    state: WindowState, action: WindowAction, streak: int
) -> None:
    assert act(window(state), action, NOW, reason="会议").priority_streak == streak


def test_open_window_may_call() -> None:
    require_open(window(W.OPEN))


@pytest.mark.parametrize("state", [W.CLOSED, W.PAUSED], ids=str)
def test_closed_or_paused_window_may_not_call(state: WindowState) -> None:
    with pytest.raises(IllegalTransition, match=f"3号窗口{STATE_ZH[state]}，请先开启或恢复"):
        require_open(window(state))
