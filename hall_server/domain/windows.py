"""Window states: open, paused with a reason, closed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from .errors import IllegalTransition, InvalidInput


class WindowState(StrEnum):
    """Whether a window is calling."""

    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


class WindowAction(StrEnum):
    """What staff do to their window."""

    OPEN = "open"
    PAUSE = "pause"
    RESUME = "resume"
    CLOSE = "close"


W = WindowState
WINDOW_TRANSITIONS: dict[tuple[WindowState, WindowAction], WindowState] = {
    (W.CLOSED, WindowAction.OPEN): W.OPEN,
    (W.OPEN, WindowAction.PAUSE): W.PAUSED,
    (W.PAUSED, WindowAction.RESUME): W.OPEN,
    (W.OPEN, WindowAction.CLOSE): W.CLOSED,
    (W.PAUSED, WindowAction.CLOSE): W.CLOSED,
}
WINDOW_STATE_ZH = {W.CLOSED: "已关闭", W.OPEN: "服务中", W.PAUSED: "暂停服务"}
WINDOW_STATE_EN = {W.CLOSED: "closed", W.OPEN: "open", W.PAUSED: "paused"}
WINDOW_ACTION_EN = {
    WindowAction.OPEN: "open it",
    WindowAction.PAUSE: "pause it",
    WindowAction.RESUME: "resume it",
    WindowAction.CLOSE: "close it",
}
PAUSE_REASONS = ("临时离开", "会议", "午休", "系统故障", "业务咨询", "其他")


@dataclass(frozen=True, slots=True)
class Window:
    """The facts of a window that the rules read and write."""

    number: int
    state: WindowState = W.CLOSED
    pause_reason: str = ""
    state_since: datetime | None = None
    priority_streak: int = 0  # green-channel calls in a row, for the swap ratio


def act(w: Window, action: WindowAction, now: datetime, *, reason: str = "") -> Window:
    """Open, pause (with a reason), resume or close a window."""
    try:
        state = WINDOW_TRANSITIONS[(w.state, action)]
    except KeyError:
        raise IllegalTransition(
            f"{w.number}号窗口{WINDOW_STATE_ZH[w.state]}，不能执行此操作 "
            f"(window {w.number} is {WINDOW_STATE_EN[w.state]}: you cannot "
            f"{WINDOW_ACTION_EN[action]} now)."
        ) from None
    if action is WindowAction.PAUSE and not reason.strip():
        raise InvalidInput("暂停需要填写原因 (a pause needs a reason).")
    return replace(
        w,
        state=state,
        pause_reason=reason.strip() if state is W.PAUSED else "",
        state_since=now,
        priority_streak=0 if state is W.CLOSED else w.priority_streak,
    )


def require_open(w: Window) -> None:
    """Raise unless the window may call tickets."""
    if w.state is not W.OPEN:
        raise IllegalTransition(
            f"{w.number}号窗口{WINDOW_STATE_ZH[w.state]}，请先开启或恢复 "
            f"(window {w.number} is {WINDOW_STATE_EN[w.state]}: open or resume it first)."
        )
