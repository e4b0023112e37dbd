"""The hall TV page in Debian Chromium: calls appear, survive a restart, are announced in order."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.display.halls import DISPLAYS, QUIET_VOICE, display_hall
from tests.live import LiveHall, start_live_hall
from tests.needs import need_program

pytestmark = pytest.mark.browser


def open_tv(page: Any, hall: LiveHall, device: str = "tv-1") -> None:
    page.goto(hall.url(f"/display/{device}?token={hall.tokens[device]}"))
    expect(page.locator("#conn")).to_have_attribute("data-up", "true", timeout=10_000)


def issue(hall: LiveHall, service: str = "b") -> str:
    response = hall.api("kiosk-1", "POST", "/tickets", {"service": service})
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def act(hall: LiveHall, window: int, action: str) -> dict[str, Any]:
    response = hall.api("boss", "POST", f"/windows/{window}/{action}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def hold_off_the_socket(page: Any) -> threading.Event:
    """Refuse the page's Socket.IO connections (websocket, polling) until the event is cleared."""
    away = threading.Event()
    away.set()

    def websocket(ws: Any) -> None:
        if away.is_set():
            ws.close()
        else:
            ws.connect_to_server()

    def polling(route: Any) -> None:
        if away.is_set():
            route.abort()
        else:
            route.continue_()

    page.route_web_socket(re.compile(r".*/socket\.io/.*"), websocket)
    page.route(re.compile(r".*/socket\.io/.*"), polling)
    return away


def test_a_call_appears_on_the_tv_page_within_two_seconds(live_hall: LiveHall, page: Any) -> None:
    act(live_hall, 3, "open")
    first, second = issue(live_hall), issue(live_hall)
    open_tv(page, live_hall)
    waiting_b = page.locator('#waiting li[data-service="b"] .count')
    expect(waiting_b).to_contain_text("2")
    expect(page.locator("#current-number")).to_have_text("—")

    started = time.monotonic()
    act(live_hall, 3, "call-next")
    expect(page.locator("#current-number")).to_have_text(first, timeout=2_000)
    assert time.monotonic() - started < 2.0
    # the hall's call template (hall.voice.template), filled in; tv-1 hangs on no floor of a
    # two-floor hall, so it names the floor of window 3 (2楼)
    expect(page.locator("#current-window")).to_have_text(f"请{first}号到2楼3号窗口办理")
    expect(page.locator("#current")).to_have_class("tv-current flash")
    expect(waiting_b).to_contain_text("1")

    act(live_hall, 3, "finish")
    act(live_hall, 3, "call-next")
    expect(page.locator("#current-number")).to_have_text(second, timeout=2_000)
    expect(page.locator("#recent li").first).to_have_attribute("data-number", first)
    expect(page.locator(".notices-track")).to_have_text("请保管好随身物品")


def test_the_page_survives_a_server_restart_and_shows_calls_made_while_it_was_away(
    live_hall: LiveHall, page: Any
) -> None:
    act(live_hall, 3, "open")
    numbers = [issue(live_hall) for _ in range(3)]
    open_tv(page, live_hall)
    act(live_hall, 3, "call-next")
    expect(page.locator("#current-number")).to_have_text(numbers[0])

    live_hall.stop()
    expect(page.locator("#conn")).to_have_attribute("data-up", "false", timeout=10_000)
    expect(page.locator("#offline")).to_be_visible()
    expect(page.locator("#conn-text")).to_have_text("连接中断")

    # The page retries on its own; it is held off until the calls below are made, so that
    # they are made while it is away whatever its retry timing.
    away = hold_off_the_socket(page)
    live_hall.restart()
    for _ in numbers[1:]:
        act(live_hall, 3, "finish")
        act(live_hall, 3, "call-next")
    assert page.evaluate("!window.hallDisplay.connected")
    away.clear()

    expect(page.locator("#conn")).to_have_attribute("data-up", "true", timeout=15_000)
    expect(page.locator("#current-number")).to_have_text(numbers[2], timeout=5_000)
    expect(page.locator("#offline")).to_be_hidden()
    shown = page.evaluate("window.hallDisplay.recent.map((c) => c.number)")
    assert shown[:3] == [numbers[2], numbers[1], numbers[0]]


@pytest.mark.espeak
@pytest.mark.slow
def test_announcements_play_in_call_order_one_at_a_time_and_recalls_again(
    tmp_path: Path, page: Any
) -> None:
    need_program("espeak-ng")
    hall = start_live_hall(tmp_path, config=display_hall(tmp_path, QUIET_VOICE))
    try:
        for window in (1, 2, 3):
            act(hall, window, "open")
        numbers = [issue(hall) for _ in range(3)]
        open_tv(page, hall)
        expect(page.locator("#voice")).to_have_attribute("data-enabled", "true")

        called = [(act(hall, w, "call-next")["ticket"]["number"], w) for w in (3, 1, 2)]
        act(hall, 3, "recall")
        assert [n for n, _ in called] == numbers
        # Calls come faster than they can be read out: they wait their turn.
        page.wait_for_function("() => window.hallAudio.queue.length >= 3", timeout=10_000)

        page.wait_for_function(
            "() => { const a = window.hallAudio;"
            " return a.played.length + a.failed.length + a.skipped.length >= 4; }",
            timeout=90_000,
        )
        audio = page.evaluate("window.hallAudio")
        assert audio["failed"] == []
        # The recall is read next, ahead of the calls still waiting; a call of its ticket
        # not yet begun is dropped (the recall reads it).
        first = [(numbers[0], 3, "call")] if not audio["skipped"] else []
        assert [(p["number"], p["window"], p["kind"]) for p in audio["played"]] == [
            *first,
            (numbers[0], 3, "recall"),
            *[(n, w, "call") for n, w in called[1:]],
        ]
        assert [s["reason"] for s in audio["skipped"]] in ([], ["recalled"])
        assert audio["playingMax"] == 1  # never two announcements at once
        assert page.evaluate("typeof window.speechSynthesis === 'undefined' || "
                             "!window.speechSynthesis.speaking")  # fmt: skip
    finally:
        hall.stop()


def test_without_espeak_ng_the_page_says_voice_is_off_and_a_zone_display_shows_its_zone(
    tmp_path: Path, page: Any
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    hall = start_live_hall(tmp_path, config=display_hall(tmp_path, DISPLAYS), PATH=str(empty))
    try:
        for window in (1, 3):
            act(hall, window, "open")
        issue(hall), issue(hall)
        open_tv(page, hall, "tv-zone-b")
        expect(page.locator("#voice")).to_have_attribute("data-enabled", "false")
        expect(page.locator("#voice")).to_contain_text("语音播报已关闭")
        expect(page.locator("#scope-title")).to_have_text("B区 / Zone B区")
        expect(page.locator("#waiting li")).to_have_count(1)
        expect(page.locator("#waiting li").first).to_have_attribute("data-service", "b")

        other = act(hall, 1, "call-next")["ticket"]["number"]  # window 1 is in zone A
        mine = act(hall, 3, "call-next")["ticket"]["number"]
        expect(page.locator("#current-number")).to_have_text(mine)
        assert other not in page.evaluate("window.hallDisplay.recent.map((c) => c.number)")
        page.wait_for_function("() => window.hallAudio.skipped.length === 1")
        assert page.evaluate("window.hallAudio.skipped[0].reason") == "voice off"
    finally:
        hall.stop()
