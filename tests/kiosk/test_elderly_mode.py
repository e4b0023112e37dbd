"""长辈模式 (elderly mode), the idle warning and the voice guidance of the kiosk.

- Elderly mode is one tap away on the first screen: large text, black on white, four cards a
  page, every control at least 60×60 px, axe-core finds nothing serious; it ends by itself
  after the ticket and after the idle reset, so the next visitor sees the standard kiosk.
- Nobody is cut off without warning: a countdown with "继续 / Continue" comes first, and
  Continue gives the full time again; elderly mode doubles the time.
- The guidance is the hall's own voice: WAVs from the server (espeak-ng), played by the page.
  Without espeak-ng the page offers no voice and the visitor sees no error.

Set HALL_DOC_SCREENSHOTS=1 to (re)write docs/screenshots/kiosk-elderly*.png and
kiosk-idle-warning*.png.
"""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.voice import Clips, Pause, Words, pieces_of, ticket_sentence
from tests.hall_server.hall import HallRig
from tests.kiosk.test_kiosk_fit import CARDS, whole_on_screen
from tests.kiosk.test_kiosk_fit import many_agents as many_agents  # fixtures: the hall of
from tests.kiosk.test_kiosk_fit import many_hall as many_hall  # 16 services, its agents
from tests.kiosk.test_kiosk_pages import TIMEOUT_MS, Agents, open_kiosk, shot
from tests.kiosk.test_kiosk_pages import agents as agents  # the small hall's kiosk agents
from tests.kiosk.test_kiosk_pages import kiosk as kiosk  # the 1080×1920 page (a fixture)
from tests.live import LiveHall
from tests.needs import need_program
from tests.support.axe import axe_violations, small_touch_targets
from tests.support.pages import text_sizes

ELDERLY = re.compile(r"\belderly\b")  # the body's class in elderly mode
ELDERLY_TARGET_PX = 60
ELDERLY_TEXT_PX = 30  # the smallest text on screen in elderly mode (English sub-labels)


def wav_seconds(data: bytes) -> float:
    """The length of a WAV file; fails unless it is one (RIFF … WAVE)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", data[:16]
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getnframes() / wav.getframerate()


def accessible(page: Any, min_target_px: int) -> None:
    """axe-core finds nothing serious or critical; every control is at least min_target_px."""
    problems = axe_violations(page)
    assert not problems, "axe-core found:\n" + "\n".join(problems)
    small = small_touch_targets(page, min_target_px)
    assert not small, f"touch targets under {min_target_px} px:\n" + "\n".join(small)


def elderly_checks(page: Any) -> None:
    accessible(page, ELDERLY_TARGET_PX)
    sizes = text_sizes(page)
    assert sizes[0][0] >= ELDERLY_TEXT_PX, sizes[:5]


# --- elderly mode ----------------------------------------------------------------------------


@pytest.mark.browser
def test_elderly_mode_one_tap_away_large_high_contrast_60px_and_over_after_the_ticket(
    many_hall: LiveHall, many_agents: Agents, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    many_agents.start("kiosk-1")
    open_kiosk(kiosk, many_hall)
    expect(kiosk.locator("#printer-banner")).to_be_hidden(timeout=TIMEOUT_MS)
    accessible(kiosk, 48)  # the standard kiosk: 48 px targets, contrast 4.5:1
    switch = kiosk.locator("#elderly")
    expect(switch).to_contain_text("长辈模式")
    expect(switch).to_have_attribute("aria-pressed", "false")
    switch.click()
    expect(kiosk.locator("body")).to_have_class(ELDERLY)
    expect(switch).to_have_attribute("aria-pressed", "true")
    # Fewer, bigger cards: four a page, three when a name takes two lines on some page.
    kiosk.wait_for_function("() => document.querySelectorAll('.service').length <= 4")
    per_page = kiosk.locator(".service").count()
    assert per_page in (3, 4)
    expect(kiosk.locator("#page-count")).to_contain_text(f"第 1 / {-(-16 // per_page)} 页")
    name_px = kiosk.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('.service .name')).fontSize)"
    )
    assert name_px >= 56
    elderly_checks(kiosk)
    cut = whole_on_screen(kiosk.evaluate(CARDS))
    assert not cut, cut
    shot(kiosk, "elderly")
    kiosk.click("#lang")
    # (a long English name takes two 60 px lines: fewer cards a page may come in English)
    expect(kiosk.locator("#page-count .primary")).to_have_text(re.compile(r"^Page 1 of \d+$"))
    cut = whole_on_screen(kiosk.evaluate(CARDS))
    assert not cut, cut
    elderly_checks(kiosk)
    shot(kiosk, "elderly-en")
    kiosk.click("#lang")

    kiosk.click('.service[data-service="b"]')
    expect(kiosk.locator("#guide")).to_contain_text("所需材料")
    elderly_checks(kiosk)
    shot(kiosk, "elderly-guide")
    kiosk.click("#phone")
    expect(kiosk.locator(".key").first).to_be_visible()
    elderly_checks(kiosk)
    kiosk.click("#back")
    kiosk.click("#take")
    expect(kiosk.locator("#number")).to_have_text("B001", timeout=TIMEOUT_MS)
    expect(kiosk.locator("#print-state")).to_contain_text("请取走号票", timeout=TIMEOUT_MS)
    kiosk.wait_for_function("() => document.getElementById('qr').naturalWidth > 0")
    elderly_checks(kiosk)
    shot(kiosk, "elderly-issued")

    kiosk.click("#done")  # the visitor is done: the next one meets the standard kiosk
    expect(kiosk.locator("body")).not_to_have_class(ELDERLY)
    expect(switch).to_have_attribute("aria-pressed", "false")
    expect(kiosk.locator(".service")).to_have_count(10)
    expect(kiosk.locator("#voice")).to_have_attribute("aria-pressed", "false")


@pytest.mark.browser
def test_every_screen_of_the_standard_kiosk_passes_axe_with_48px_targets(
    live_hall: LiveHall, agents: Agents, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    agents.start("kiosk-1")
    open_kiosk(kiosk, live_hall)
    expect(kiosk.locator("#printer-banner")).to_be_hidden(timeout=TIMEOUT_MS)
    kiosk.click('.service[data-service="b"]')
    expect(kiosk.locator("#guide")).to_be_visible()
    accessible(kiosk, 48)
    kiosk.click("#phone")
    expect(kiosk.locator(".key").first).to_be_visible()
    accessible(kiosk, 48)
    kiosk.click("#back")
    kiosk.click("#take")
    expect(kiosk.locator("#print-state")).to_contain_text("请取走号票", timeout=TIMEOUT_MS)
    accessible(kiosk, 48)
    kiosk.click("#done")
    kiosk.click("#appointment")
    expect(kiosk.locator(".key").first).to_be_visible()
    accessible(kiosk, 48)
    kiosk.fill("#entry", "NOSUCH")
    kiosk.click("#ok")
    expect(kiosk.locator("#message")).to_be_visible(timeout=TIMEOUT_MS)  # a refusal
    accessible(kiosk, 48)
    kiosk.click("#lang")
    accessible(kiosk, 48)


@pytest.mark.browser
def test_elderly_mode_ends_by_itself_when_the_visitor_walks_away(
    live_hall: LiveHall, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    kiosk.goto(
        live_hall.url(f"/kiosk/kiosk-1?idle_s=1&warn_s=0.5&token={live_hall.tokens['kiosk-1']}")
    )
    expect(kiosk.locator(".service").first).to_be_visible(timeout=TIMEOUT_MS)
    assert kiosk.evaluate("() => kiosk.idleLimits()") == {"idle": 1000, "warn": 500}
    kiosk.click("#elderly")
    expect(kiosk.locator("body")).to_have_class(ELDERLY)
    # Twice the time for an elderly visitor, even on the home screen.
    assert kiosk.evaluate("() => kiosk.idleLimits()") == {"idle": 2000, "warn": 1000}
    expect(kiosk.locator("#idle")).to_be_visible(timeout=TIMEOUT_MS)
    expect(kiosk.locator("body")).not_to_have_class(ELDERLY, timeout=TIMEOUT_MS)
    expect(kiosk.locator("#idle")).to_be_hidden()
    expect(kiosk.locator(".service")).to_have_count(3)


# --- the idle warning ------------------------------------------------------------------------


@pytest.mark.browser
def test_an_idle_kiosk_warns_with_a_countdown_and_continue_gives_the_time_again(
    live_hall: LiveHall, agents: Agents, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    agents.start("kiosk-1")
    # The warning comes 1 s after the last touch and counts down from 29 s.
    token = live_hall.tokens["kiosk-1"]
    kiosk.goto(live_hall.url(f"/kiosk/kiosk-1?idle_s=30&warn_s=29&token={token}"))
    expect(kiosk.locator(".service").first).to_be_visible(timeout=TIMEOUT_MS)
    kiosk.click('.service[data-service="b"]')
    warning = kiosk.locator("#idle")
    expect(warning).to_be_visible(timeout=TIMEOUT_MS)
    expect(warning).to_have_attribute("role", "alertdialog")
    expect(kiosk.locator("#idle-title")).to_contain_text("您还在办理吗？")
    expect(kiosk.locator("#idle-text")).to_contain_text("秒后将返回首页")
    left = int(kiosk.locator("#idle-text").get_attribute("data-seconds") or 0)
    assert 0 < left <= 29
    expect(kiosk.locator("#idle-continue")).to_be_focused()
    assert kiosk.evaluate("() => document.getElementById('screen').inert")  # modal
    box = kiosk.locator("#idle-continue").bounding_box()
    assert box["height"] >= 120 and box["width"] >= 600  # a big, obvious button
    accessible(kiosk, 48)
    shot(kiosk, "idle-warning")

    kiosk.click("#idle-continue")
    expect(warning).to_be_hidden()
    expect(kiosk.locator("#guide")).to_be_visible()  # still where the visitor was
    assert not kiosk.evaluate("() => document.getElementById('screen').inert")
    kiosk.click("#lang")  # (the warning is modal: the language is switched before it comes)
    # The full time again: the next warning starts its countdown from the top.
    expect(warning).to_be_visible(timeout=TIMEOUT_MS)
    again = int(kiosk.locator("#idle-text").get_attribute("data-seconds") or 0)
    assert again >= 27, again
    expect(kiosk.locator("#guide")).to_be_visible()
    expect(kiosk.locator("#idle-title .primary")).to_have_text("Are you still there?")
    expect(kiosk.locator("#idle-continue .primary")).to_have_text("Continue")
    shot(kiosk, "idle-warning-en")
    kiosk.mouse.click(540, 200)  # a touch anywhere counts as "still here" too
    expect(warning).to_be_hidden()


@pytest.mark.browser
def test_without_continue_the_kiosk_goes_back_to_the_start(live_hall: LiveHall, kiosk: Any) -> None:
    from playwright.sync_api import expect

    token = live_hall.tokens["kiosk-1"]
    kiosk.goto(live_hall.url(f"/kiosk/kiosk-1?idle_s=2&warn_s=1&token={token}"))
    expect(kiosk.locator(".service").first).to_be_visible(timeout=TIMEOUT_MS)
    kiosk.click('.service[data-service="b"]')
    expect(kiosk.locator("#idle")).to_be_visible(timeout=TIMEOUT_MS)  # warned first
    expect(kiosk.locator("#guide")).to_be_hidden(timeout=TIMEOUT_MS)  # then home
    expect(kiosk.locator("#idle")).to_be_hidden()
    expect(kiosk.locator("h1.title .primary")).to_have_text("请选择办理事项")


# --- voice guidance --------------------------------------------------------------------------


def played(page: Any, path_end: str) -> str:
    """Wait until the page's guidance <audio> has loaded a WAV whose path ends so; its URL."""
    page.wait_for_function(
        """(end) => { const a = document.getElementById("guide-audio");
          return a.src && new URL(a.src).pathname.endsWith(end) && a.duration > 0; }""",
        arg=path_end,
        timeout=30_000,  # the first sentence also makes the clip bank (a few seconds)
    )
    return str(page.evaluate("() => document.getElementById('guide-audio').src"))


@pytest.mark.browser
@pytest.mark.espeak
def test_elderly_mode_reads_the_service_and_the_ticket_aloud_in_the_halls_voice(
    live_hall: LiveHall, agents: Agents, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    need_program("espeak-ng", package="espeak-ng")
    agents.start("kiosk-1")
    open_kiosk(kiosk, live_hall)
    expect(kiosk.locator("#voice")).to_be_visible()
    expect(kiosk.locator("#voice")).to_have_attribute("aria-pressed", "false")  # off by default
    kiosk.click('.service[data-service="b"]')
    expect(kiosk.locator("#guide")).to_be_visible()
    assert not kiosk.evaluate("() => document.getElementById('guide-audio').getAttribute('src')")
    kiosk.click("#back")

    kiosk.click("#elderly")
    expect(kiosk.locator("#voice")).to_have_attribute("aria-pressed", "true")  # on in it
    played(kiosk, "/kiosk/voice/say/elderly.wav")
    kiosk.click('.service[data-service="b"]')
    url = played(kiosk, "/kiosk/voice/service/b.wav")
    assert wav_seconds(requests.get(url, timeout=30).content) > 1.0
    expect(kiosk.locator("#take")).to_be_enabled(timeout=TIMEOUT_MS)
    kiosk.click("#take")
    expect(kiosk.locator("#number")).to_have_text("B001", timeout=TIMEOUT_MS)
    url = played(kiosk, "/voice.wav")
    assert "/t/" in url
    answer = requests.get(url, timeout=30)
    assert answer.headers["Content-Type"] == "audio/wav"
    assert wav_seconds(answer.content) > 2.0


@pytest.mark.browser
@pytest.mark.espeak
def test_the_voice_switch_turns_guidance_on_in_the_standard_kiosk(
    live_hall: LiveHall, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    need_program("espeak-ng", package="espeak-ng")
    open_kiosk(kiosk, live_hall)
    kiosk.click("#voice")
    expect(kiosk.locator("#voice")).to_have_attribute("aria-pressed", "true")
    expect(kiosk.locator("#voice .primary")).to_have_text("语音引导：开")
    kiosk.click('.service[data-service="a"]')
    played(kiosk, "/kiosk/voice/service/a.wav")


def test_without_espeak_the_kiosk_offers_no_voice_and_says_why_to_the_admin(
    hall: HallRig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng on it
    page = hall.client.get("/kiosk/kiosk-1").get_data(as_text=True)
    assert 'data-voice="off"' in page
    assert 'aria-pressed="false" hidden>' in page  # the voice switch is not offered
    answer = hall.client.get("/kiosk/voice/service/b.wav")
    assert answer.status_code == 503
    error = answer.get_json()["error"]
    assert error["code"] == "voice_unavailable"
    assert "espeak-ng" in error["message"] and error["message"].startswith("未安装")


@pytest.mark.espeak
def test_the_guidance_wavs_say_the_service_and_the_ticket(hall: HallRig) -> None:
    need_program("espeak-ng", package="espeak-ng")
    page = hall.client.get("/kiosk/kiosk-1").get_data(as_text=True)
    assert 'data-voice="on"' in page
    service = hall.client.get("/kiosk/voice/service/b.wav")
    assert service.status_code == 200 and service.mimetype == "audio/wav"
    assert wav_seconds(service.data) > 1.0
    for _ in range(4):
        hall.issue("b")
    ticket = hall.issue("b")
    spoken = hall.client.get(f"/t/{ticket['token']}/voice.wav")
    assert spoken.status_code == 200 and spoken.headers["Cache-Control"] == "no-store"
    assert wav_seconds(spoken.data) > wav_seconds(service.data)
    phrase = hall.client.get("/kiosk/voice/say/elderly.wav")
    assert phrase.status_code == 200 and wav_seconds(phrase.data) > 1.0
    # Only the hall's own words are spoken: nothing else reaches espeak-ng.
    assert hall.client.get("/kiosk/voice/service/nope.wav").status_code == 404
    assert hall.client.get("/kiosk/voice/say/hello.wav").status_code == 404
    assert hall.client.get("/t/not-a-ticket/voice.wav").status_code == 404


def test_names_are_said_in_words_letters_and_numbers() -> None:
    assert pieces_of("ETC办理（2号楼）") == [
        Clips(("E",)), Clips(("T",)), Clips(("C",)), Words("办理"), Pause(180),
        Clips(("二",)), Words("号楼"),
    ]  # fmt: skip
    said = ticket_sentence("B012", ahead=12, floor=2, zone="B区")
    assert Clips(("B", "零", "一", "二", "号")) in said
    assert Clips(("十", "二")) in said  # a count as staff say it
    assert Clips(("二", "楼")) in said
    assert Words("前面还有") not in ticket_sentence("B012", ahead=None, floor=1, zone="B区")
