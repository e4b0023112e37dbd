"""What a display shows: its windows and services by layout, and each LED sign's text."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from display.led_content import DEFAULT_TEXTS, board_lines, strip_content, strip_texts
from display.scope import display_scope


@dataclass
class Place:
    zone: str
    floor: int


WINDOWS = [(3, Place("B区", 2)), (1, Place("A区", 1)), (2, Place("A区", 1)), (4, Place("C区", 2))]
SERVICES = [("a", Place("A区", 1)), ("b", Place("B区", 2)), ("c", Place("C区", 2))]


@pytest.mark.parametrize(
    ("layout", "zone", "floor", "windows", "services", "title"),
    [
        ("all", "", None, (1, 2, 3, 4), ("a", "b", "c"), "全部窗口 / All windows"),
        ("zone", "B区", None, (3,), ("b",), "B区 / Zone B区"),
        ("floor", "", 2, (3, 4), ("b", "c"), "二楼 / Floor 2"),
        ("floor", "", 1, (1, 2), ("a",), "一楼 / Floor 1"),
    ],
)
def test_a_display_shows_the_windows_and_services_of_its_layout(
    layout: str, zone: str, floor: int | None, windows: tuple[int, ...],
    services: tuple[str, ...], title: str,
) -> None:  # fmt: skip
    scope = display_scope(layout, zone, floor, WINDOWS, SERVICES)
    assert scope.windows == windows
    assert scope.services == services
    assert scope.title == title


def test_a_device_bound_to_windows_shows_exactly_those() -> None:
    scope = display_scope("all", "", None, WINDOWS, SERVICES, bound_windows=[3, 1, 9])
    assert scope.windows == (1, 3)


def test_an_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="layout"):
        display_scope("wall", "", None, WINDOWS, SERVICES)


def window(state: str, ticket: dict | None = None) -> dict:
    return {"number": 3, "state": state, "ticket": ticket}


@pytest.mark.parametrize(
    ("view", "shown"),
    [
        (window("open", {"number": "A012", "status": "called"}), ("A012", 3, "")),
        (window("open", {"number": "A012", "status": "serving"}), ("", 0, "A012 正在办理")),
        (window("open"), ("", 0, "3号窗口 欢迎您")),
        (window("paused"), ("", 0, "暂停服务")),
        (window("closed"), ("", 0, "暂停服务")),
    ],
)
def test_a_window_strip_shows_the_call_or_the_window_state(
    view: dict, shown: tuple[str, int, str]
) -> None:
    content = strip_content(view, DEFAULT_TEXTS)
    assert (content.number, content.window, content.text) == shown
    assert content.is_call == bool(shown[0])


def test_a_hall_may_word_the_states_its_own_way() -> None:
    texts = strip_texts({"texts": {"closed": "下班了", "open": "{window}号 请取号"}})
    assert strip_content(window("closed"), texts).text == "下班了"
    assert strip_content(window("open"), texts).text == "3号 请取号"
    assert strip_content(window("paused"), texts).text == "暂停服务"


def test_the_board_lists_the_latest_call_of_each_number_newest_first() -> None:
    calls = [
        {"number": "B002", "window": 3},
        {"number": "A001", "window": 9},  # another agent's window
        {"number": "B001", "window": 2},  # recalled at window 2 after its call at 3
        {"number": "B001", "window": 3},
        {"number": "A005", "window": 2},
        {"number": "A004", "window": 2},
    ]
    assert board_lines(calls, [2, 3], 3) == ["B002→3号", "B001→2号", "A005→2号"]
    assert board_lines([], [2, 3], 3) == []


def test_a_board_names_the_floor_of_a_window_upstairs_byte_exact_in_gb2312() -> None:
    from devices.led.charset import to_gb2312

    calls = [{"number": "D001", "window": 16}, {"number": "A002", "window": 2}]
    floors = {"16": 2, "2": None}  # the board hangs on floor 1: window 16 is upstairs
    lines = board_lines(calls, [2, 16], 3, floors)
    assert lines == ["D001→2楼16号", "A002→2号"]
    assert to_gb2312(lines[0]) == b"D001\xa1\xfa2\xc2\xa516\xba\xc5"
    # The longest line a hall can make still fits one 128-pixel line (16 half-width columns).
    longest = board_lines([{"number": "A1234", "window": 123}], [123], 1, {"123": 12})
    assert longest == ["A1234→12楼123号"] and len(to_gb2312(longest[0])) == 16


def test_floor_is_named_only_off_the_display_floor_in_a_hall_of_several_floors() -> None:
    from display.scope import floor_to_say

    assert floor_to_say(2, 1, hall_floors=2) == 2  # upstairs from this screen
    assert floor_to_say(1, 1, hall_floors=2) is None  # the screen's own floor
    assert floor_to_say(2, None, hall_floors=2) == 2  # a screen on no floor names every floor
    assert floor_to_say(1, None, hall_floors=1) is None  # a one-floor hall never names it
