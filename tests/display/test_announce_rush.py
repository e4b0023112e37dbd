"""A rush of calls on one floor, read out by the TVs in Debian Chromium (window.hallAudio).

The hall's voice here is a synthetic clip bank of very short clips (each call reads in about
a second): the behaviour is the same as with the espeak-ng bank, the test just takes less
time. benchmarks/announce_rush.py measures with the real bank.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from display.voice.bank import MANIFEST, clip_file
from display.voice.clips import ALL_CLIPS
from display.voice.wavfile import Pcm, PcmFormat, wav_bytes
from tests.live import LiveHall, start_live_hall
from tests.support.polling import until

pytestmark = pytest.mark.browser

RUSH_WINDOWS = range(1, 13)  # twelve windows on floor 1
UPSTAIRS = 13


def rush_hall(folder: Path) -> Path:
    """A hall with twelve windows on floor 1 and one on floor 2, TVs on both floors."""
    windows = "".join(
        f'\n[[hall.windows]]\nnumber = {n}\nzone = "A区"\nfloor = 1\nservices = {{ a = 1 }}\n'
        for n in RUSH_WINDOWS
    )
    text = f"""
[hall]
code = "rush"
name = "早高峰大厅"
name_en = "Rush Hall"

[hall.voice]
repeat = 2
chime = true

[[hall.services]]
code = "a"
name = "社会保障"
name_en = "Social Security"
category = "社保"
prefix = "A"
zone = "A区"
floor = 1
hours = [["00:00", "24:00"]]
weekdays = [1, 2, 3, 4, 5, 6, 7]

[[hall.services]]
code = "b"
name = "不动产登记"
name_en = "Real Estate"
category = "不动产"
prefix = "B"
zone = "B区"
floor = 2
hours = [["00:00", "24:00"]]
weekdays = [1, 2, 3, 4, 5, 6, 7]
{windows}
[[hall.windows]]
number = {UPSTAIRS}
zone = "B区"
floor = 2
services = {{ b = 1 }}

[[hall.devices]]
name = "kiosk-1"
kind = "kiosk"

[[hall.devices]]
name = "tv-1f"
kind = "display"
floor = 1
layout = "floor"

[[hall.devices]]
name = "tv-late"
kind = "display"
floor = 1
layout = "floor"
[hall.devices.options]
stale_s = 1
voice_within_s = 2

[[hall.devices]]
name = "tv-2f"
kind = "display"
floor = 2
layout = "all"  # shows every call in the hall ...
[hall.devices.options]
announce = "floor"  # ... and reads those of floor 2
"""
    path = folder / "rush_hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def short_bank(directory: Path) -> None:
    """Every clip 30 ms of a quiet tone: a call reads in about a second."""
    fmt = PcmFormat(rate=16000, width=2, channels=1)
    directory.mkdir(parents=True)
    for index, name in enumerate(ALL_CLIPS):
        sample = (200 + index).to_bytes(2, "little", signed=True)
        (directory / clip_file(name)).write_bytes(wav_bytes(Pcm(fmt, sample * 480)))
    (directory / MANIFEST).write_text(json.dumps({"hash": "short test bank"}), encoding="utf-8")


def api(hall: LiveHall, who: str, path: str, body: Any = None) -> dict[str, Any]:
    response = hall.api(who, "POST", path, body)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def open_tv(browser: Any, hall: LiveHall, device: str) -> Any:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.goto(hall.url(f"/display/{device}?token={hall.tokens[device]}"))
    expect(page.locator("#conn")).to_have_attribute("data-up", "true", timeout=10_000)
    expect(page.locator("#voice")).to_have_attribute("data-enabled", "true")
    return page


def audio(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("JSON.parse(JSON.stringify(window.hallAudio))"))


def settled(page: Any, count: int) -> dict[str, Any] | None:
    """The TV's audio state once ``count`` calls were played or skipped and it is idle."""
    state = audio(page)
    done = len(state["played"]) + len(state["skipped"]) + len(state["failed"])
    idle = not state["queue"] and state["playing"] is None
    return state if done >= count and idle else None


@pytest.fixture
def hall(tmp_path: Path) -> Any:
    short_bank(tmp_path / "var" / "voice")
    live = start_live_hall(tmp_path, config=rush_hall(tmp_path))
    yield live
    live.stop()


def test_a_rush_on_one_floor_is_read_in_one_batch_in_order_once_each(
    hall: LiveHall, browser: Any
) -> None:
    for window in [*RUSH_WINDOWS, UPSTAIRS]:
        api(hall, "boss", f"/windows/{window}/open")
    for _ in RUSH_WINDOWS:
        api(hall, "kiosk-1", "/tickets", {"service": "a"})
    api(hall, "kiosk-1", "/tickets", {"service": "b"})
    downstairs, upstairs = open_tv(browser, hall, "tv-1f"), open_tv(browser, hall, "tv-2f")
    late = open_tv(browser, hall, "tv-late")  # reads a call only within 1 s, wants it said in 2

    called = {w: api(hall, "boss", f"/windows/{w}/call-next")["ticket"] for w in RUSH_WINDOWS}
    # Window 5's visitor was served before the TV got to them: shown, not read.
    api(hall, "boss", "/windows/5/start")
    api(hall, "boss", "/windows/5/finish")
    # Window 12 calls its visitor again: the recall is read next, the waiting call dropped.
    api(hall, "boss", "/windows/12/recall")

    state = until(lambda: settled(downstairs, 12), 60, what="the rush read out on floor 1")
    played, skipped = state["played"], state["skipped"]
    assert state["failed"] == [] and state["playingMax"] == 1
    # every call voiced but window 5's (done) and window 12's call (read as its recall)
    assert sorted(p["window"] for p in played) == [w for w in RUSH_WINDOWS if w != 5]
    assert {(s["window"], s["reason"]) for s in skipped} == {(5, "done"), (12, "recalled")}
    assert [p["number"] for p in played if p["window"] == 5] == []
    # ... but it was on the screen: painted as the current call when it came
    assert downstairs.evaluate(f"'{called[5]['number']}' in window.hallDisplay.shownAt")
    # nothing read twice; the calls in call order, the recall ahead of those still waiting
    assert len({p["seq"] for p in played}) == len(played)
    recall = next(p for p in played if p["kind"] == "recall")
    assert recall["window"] == 12 and recall["number"] == called[12]["number"]
    after = [p for p in played if p is not recall and p["started_at"] > recall["queued_at"]]
    assert after and all(p["started_at"] > recall["started_at"] for p in after)
    calls = [p for p in played if p["kind"] == "call"]
    assert [p["seq"] for p in calls] == sorted(p["seq"] for p in calls)
    # one chime for the whole rush; once each while others wait; the last one twice
    assert state["batches"] == 1 and state["chimes"] == 1
    assert state["parts"][0]["what"] == "chime"
    assert all(p["readings"] == 1 for p in played[:-1]) and played[-1]["readings"] == 2
    assert {p["form"] for p in played} <= {"once", "brief"}

    # a TV that may read a call only within 1 s of it: the rest shown, not read
    slow = until(lambda: settled(late, 12), 60, what="the rush handled by tv-late")
    reasons = [s["reason"] for s in slow["skipped"]]
    assert "stale" in reasons
    handled = [*slow["played"], *slow["skipped"]]
    assert len({h["seq"] for h in handled}) == len(handled) == 13  # 12 calls and the recall
    assert all(p["started_at"] - p["called_at"] < 1500 for p in slow["played"])
    # with calls waiting that could not all be said within 2 s, it reads in brief
    assert slow["played"] and slow["played"][0]["form"] == "brief"

    # the floor-2 TV showed the rush but read none of it; a call upstairs alone: chime and
    # the sentence twice
    assert upstairs.evaluate(f"'{called[1]['number']}' in window.hallDisplay.shownAt")
    assert audio(upstairs)["played"] == [] and audio(upstairs)["skipped"] == []
    api(hall, "boss", f"/windows/{UPSTAIRS}/call-next")
    quiet = until(lambda: settled(upstairs, 1), 30, what="the call upstairs read out")
    assert [p["window"] for p in quiet["played"]] == [UPSTAIRS]
    assert [part["what"] for part in quiet["parts"]] == ["chime", "once", "repeat"]
    assert quiet["played"][0]["readings"] == 2
    assert all(p["window"] != UPSTAIRS for p in audio(downstairs)["played"])
