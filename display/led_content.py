"""What each LED sign shows, from the hall's state: pure, no I/O.

A window strip (窗口屏) shows the call ("A012 请到3号窗口") while the ticket is called,
"A012 正在办理" while it is served, and otherwise the window's state: "暂停服务" when
paused or closed, a welcome line when open and idle. The hall board (综合屏/条屏) shows the
recent calls of its windows, newest first, one per line ("A012→3号"); a window on another
floor than the board's is named with its floor ("D001→2楼16号", the floors to name come from
the display settings' ``window_floors``). A strip hangs above its own window, so it never
names a floor. A board line is at most 16 GB2312 bytes ("A1234→12楼123号"): one line of a
128-pixel sign in a 16-pixel font.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from devices.led.sign import board_line

DEFAULT_TEXTS = {
    "open": "{window}号窗口 欢迎您",
    "paused": "暂停服务",
    "closed": "暂停服务",
    "serving": "{number} 正在办理",
}


@dataclass(frozen=True, slots=True)
class StripContent:
    """A strip shows either a call (``number`` to ``window``) or a line of text."""

    number: str = ""
    window: int = 0
    text: str = ""

    @property
    def is_call(self) -> bool:
        """Whether this is a call (drawn with ``LedSign.show_call``)."""
        return bool(self.number)


def strip_texts(options: Mapping[str, Any]) -> dict[str, str]:
    """Return the state texts, the defaults overridden by the agent's ``texts`` option."""
    texts = dict(DEFAULT_TEXTS)
    texts.update({str(k): str(v) for k, v in dict(options.get("texts") or {}).items()})
    return texts


def strip_content(window: Mapping[str, Any], texts: Mapping[str, str]) -> StripContent:
    """Return what the strip above ``window`` (a snapshot window) shows."""
    number = int(window["number"])
    ticket = window.get("ticket")
    if ticket and ticket.get("status") == "called":
        return StripContent(number=str(ticket["number"]), window=number)
    if ticket and ticket.get("status") == "serving":
        return StripContent(text=texts["serving"].format(number=ticket["number"], window=number))
    state = str(window.get("state", "closed"))
    template = texts.get(state, texts["closed"])
    return StripContent(text=template.format(window=number, number=""))


def board_line_for(number: str, window: int, floor: int | None = None) -> str:
    """Return one hall-board line, with the floor when it is named: ``D001→2楼16号``."""
    if not floor:
        return board_line(number, window)
    return f"{number}→{floor}楼{window}号"


def board_lines(
    calls: Iterable[Mapping[str, Any]],
    windows: Iterable[int],
    lines: int,
    floors: Mapping[str, int | None] | None = None,
) -> list[str]:
    """Return the hall board's lines: the latest call of each number, newest first.

    ``floors`` maps a window number (as text) to the floor named with calls to it.
    """
    wanted = set(windows)
    seen: set[str] = set()
    result: list[str] = []
    for call in calls:
        number = str(call.get("number", ""))
        if call.get("window") not in wanted or not number or number in seen:
            continue  # a recalled number is shown once, where it was called last
        seen.add(number)
        window = int(call["window"])
        result.append(board_line_for(number, window, (floors or {}).get(str(window))))
        if len(result) >= lines:
            break
    return result
