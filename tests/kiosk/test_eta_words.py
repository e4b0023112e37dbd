"""The wait as the kiosk and the phone say it: hours past an hour, no figure when too long.

The hall's answers are the real server's, with the waits set by the test (the forecast itself
is tested in tests/hall_server/test_eta.py): a 502-minute wait is what a round-the-clock hall
told at night, before its windows open.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.kiosk.test_kiosk_pages import TIMEOUT_MS, open_kiosk
from tests.kiosk.test_kiosk_pages import agents as agents  # the small hall's kiosk agents
from tests.kiosk.test_kiosk_pages import kiosk as kiosk  # the 1080×1920 page (a fixture)
from tests.kiosk.test_kiosk_pages import phone as phone  # a 390×844 phone (a fixture)
from tests.live import LiveHall
from tests.support.axe import axe_violations
from tests.support.pages import shoot

pytestmark = pytest.mark.browser

MIN = 60
NIGHT = {"eta_s": 502 * MIN, "eta_range_s": [430 * MIN, 580 * MIN]}
HOUR_AND_A_BIT = {"eta_s": 80 * MIN, "eta_range_s": [70 * MIN, 100 * MIN]}
OVER_12_H = {"eta_s": 900 * MIN, "eta_range_s": None}
MINUTES = {"eta_s": 7 * MIN, "eta_range_s": [5 * MIN, 9 * MIN]}
FROM_NOTHING = {"eta_s": 12 * MIN, "eta_range_s": [0, 54 * MIN]}  # the window may call at once
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Every element of a wait that is cut, spills out of its box, or breaks inside "1小时40分".
SPILLS = """(box) => {
  const outer = box.getBoundingClientRect();
  const bad = [];
  if (box.scrollWidth > box.clientWidth) bad.push(["scroll", box.scrollWidth, box.clientWidth]);
  for (const part of box.querySelectorAll(".nw")) {
    const r = part.getBoundingClientRect();
    // on one line, its pieces (figures 30 px, words 18 px) all overlap one another vertically
    const rects = Array.from(part.getClientRects()).filter((b) => b.width > 0);
    const top = Math.max(...rects.map((b) => b.top));
    const bottom = Math.min(...rects.map((b) => b.bottom));
    if (!rects.length || top >= bottom) bad.push(["broken", part.textContent]);
    if (r.left < outer.left - 0.5 || r.right > outer.right + 0.5) bad.push(["out", r.left]);
  }
  return bad;
}"""


def answer_with(page: Any, url: str, change: Callable[[Any], None]) -> None:
    """Let the hall answer ``url`` as it does, then change the JSON as the test needs."""

    def handle(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        if response.ok:
            change(body)
        route.fulfill(response=response, json=body)

    page.route(url, handle)


def hall_time(hh: int, mm: int) -> str:
    return datetime(2026, 11, 23, hh, mm, tzinfo=SHANGHAI).isoformat()  # a Monday


def test_a_502_minute_wait_reads_in_hours_on_the_kiosk(
    live_hall: LiveHall, agents: Any, kiosk: Any, tmp_path: Path
) -> None:
    def night(state: Any) -> None:
        for service in state["services"]:
            if service["code"] == "b":  # 不动产登记: open round the clock
                service.update(NIGHT)

    answer_with(kiosk, "**/api/v1/kiosk/state", night)
    answer_with(kiosk, "**/api/v1/kiosk/tickets", lambda ticket: ticket.update(NIGHT))
    agents.start("kiosk-1")
    open_kiosk(kiosk, live_hall)
    card = kiosk.locator('.service[data-service="b"] .meta')
    expect(card).to_have_text("等候 0 人 · 约8小时30分钟")

    kiosk.click('.service[data-service="b"]')
    expect(kiosk.locator("#eta .primary")).to_have_text("约8小时30分钟")
    expect(kiosk.locator("#eta .secondary")).to_have_text("about 8 h 30 min")
    kiosk.click("#lang")
    expect(kiosk.locator("#eta .primary")).to_have_text("about 8 h 30 min")
    kiosk.click("#lang")
    kiosk.click("#take")
    expect(kiosk.locator("#number")).to_have_text("B001", timeout=TIMEOUT_MS)
    expect(kiosk.locator("#eta .primary")).to_have_text("约8小时30分钟")
    kiosk.wait_for_function("() => document.getElementById('qr').naturalWidth > 0")
    shoot(kiosk, tmp_path, "kiosk-issued-long-wait.png", full_page=True)
    assert kiosk.locator("#eta").evaluate(SPILLS) == []
    assert "502" not in kiosk.locator("#screen").inner_text()
    assert axe_violations(kiosk, context="#issued") == []
    kiosk.unroute_all(behavior="ignoreErrors")  # the page reads on while the test ends


def test_the_kiosk_gives_a_range_in_hours_and_no_figure_past_closing(
    live_hall: LiveHall, agents: Any, kiosk: Any, tmp_path: Path
) -> None:
    def afternoon(state: Any) -> None:
        state["at"] = hall_time(16, 0)  # 社会保障 (a) issues until 17:30
        for service in state["services"]:
            if service["code"] == "a":  # two hours from 16:00: the hall says past closing
                service.update(available=True, reason="", eta_s=120 * MIN,
                               eta_range_s=[90 * MIN, 150 * MIN],
                               eta_past_closing=True)  # fmt: skip
            if service["code"] == "b":
                service.update(HOUR_AND_A_BIT)

    answer_with(kiosk, "**/api/v1/kiosk/state", afternoon)
    agents.start("kiosk-1")
    open_kiosk(kiosk, live_hall)
    # a card has one line: the median there; the service's own screen gives the range
    expect(kiosk.locator('.service[data-service="a"] .meta')).to_have_text(
        "等候 0 人 · 超出今日办理时间"
    )
    expect(kiosk.locator('.service[data-service="b"] .meta')).to_have_text(
        "等候 0 人 · 约1小时20分钟"
    )
    shoot(kiosk, tmp_path, "kiosk-home-long-waits.png", full_page=True)

    kiosk.click('.service[data-service="b"]')
    expect(kiosk.locator("#eta .primary")).to_have_text("约1小时10分–1小时40分")
    expect(kiosk.locator("#eta .secondary")).to_have_text("1 h 10 min–1 h 40 min")
    assert kiosk.locator("#eta").evaluate(SPILLS) == []
    shoot(kiosk, tmp_path, "kiosk-service-range-in-hours.png", full_page=True)
    kiosk.click("#back")

    kiosk.click('.service[data-service="a"]')
    expect(kiosk.locator("#eta .primary")).to_have_text("超出今日办理时间")
    expect(kiosk.locator("#eta .secondary")).to_have_text("past closing")
    kiosk.unroute_all(behavior="ignoreErrors")


@pytest.fixture
def waiting_ticket(live_hall: LiveHall) -> dict[str, Any]:
    response = live_hall.api("kiosk-1", "POST", "/tickets", {"service": "b"})
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    ("waits", "zh", "en", "name"),
    [
        (NIGHT, "约8小时30分钟", "about 8 h 30 min", "phone-long-wait.png"),
        (HOUR_AND_A_BIT, "约1小时10分–1小时40分", "1 h 10 min–1 h 40 min", "phone-range.png"),
        (OVER_12_H, "12小时以上", "over 12 h", "phone-over-12-hours.png"),
        (MINUTES, "约5–9分钟", "5–9 min", "phone-minutes.png"),
        (FROM_NOTHING, "54分钟以内", "within 54 min", "phone-from-nothing.png"),
    ],
)
def test_the_phone_says_the_wait_in_the_unit_a_visitor_uses_and_it_fits(
    live_hall: LiveHall, phone: Any, waiting_ticket: dict[str, Any], tmp_path: Path,
    waits: dict[str, Any], zh: str, en: str, name: str,
) -> None:  # fmt: skip
    answer_with(phone, "**/api/v1/public/tickets/*", lambda ticket: ticket.update(waits))
    phone.goto(live_hall.url(f"/t/{waiting_ticket['token']}"))
    expect(phone.locator("#eta")).to_have_text(zh, timeout=TIMEOUT_MS)
    expect(phone.locator("#eta-en")).to_have_text(en)
    fact = phone.locator("#eta").locator("xpath=..")
    assert fact.evaluate(SPILLS) == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert axe_violations(phone, context="#ticket") == []  # contrast of the small words too
    shoot(phone, tmp_path, name)
    phone.unroute_all(behavior="ignoreErrors")


@pytest.mark.parametrize(
    ("phone_time", "past_closing", "zh", "en"),
    [
        # the hall says two hours from 16:30 end after 17:30: no figure
        ((16, 30), True, "超出今日办理时间", "past closing"),
        # the hall says they do not (a Saturday of other hours, a phone set wrong): the
        # phone's own clock, at 23:30, does not overrule it
        ((23, 30), False, "约1小时40分–2小时20分", "1 h 40 min–2 h 20 min"),
    ],
    ids=["hall-says-past-closing", "phone-clock-late"],
)
def test_the_phone_tells_past_closing_as_the_hall_says_not_by_its_own_clock(
    live_hall: LiveHall, phone: Any, waiting_ticket: dict[str, Any], tmp_path: Path,
    phone_time: tuple[int, int], past_closing: bool, zh: str, en: str,
) -> None:  # fmt: skip
    phone.clock.set_fixed_time(datetime(2026, 11, 23, *phone_time, tzinfo=SHANGHAI))
    answer_with(phone, "**/api/v1/public/tickets/*", lambda ticket: ticket.update(
        service="a", eta_s=120 * MIN, eta_range_s=[100 * MIN, 140 * MIN],
        eta_past_closing=past_closing))  # fmt: skip
    phone.goto(live_hall.url(f"/t/{waiting_ticket['token']}"))
    expect(phone.locator("#eta")).to_have_text(zh, timeout=TIMEOUT_MS)
    expect(phone.locator("#eta-en")).to_have_text(en)
    if past_closing:
        shoot(phone, tmp_path, "phone-past-closing.png", full_page=True)
    phone.unroute_all(behavior="ignoreErrors")
