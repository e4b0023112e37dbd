"""The kiosk touch screen and the mobile ticket in Debian Chromium, against a live hall server.

Set HALL_DOC_SCREENSHOTS=1 to (re)write docs/screenshots/kiosk-*.png while the tests run.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devices.printer import FakePrinter
from kiosk.agent import KioskAgent
from tests.live import ROOT, LiveHall, watch_csp

pytestmark = pytest.mark.browser

SHOTS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 15000


def shot(page: Any, name: str) -> None:
    if os.environ.get("HALL_DOC_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"kiosk-{name}.png"))


class Agents:
    """Kiosk agents in this process, each with a fake printer writing PNGs."""

    def __init__(self, hall: LiveHall, folder: Path) -> None:
        self.hall, self.folder = hall, folder
        self.running: dict[str, KioskAgent] = {}

    def start(self, kiosk: str) -> FakePrinter:
        printer = FakePrinter(out_dir=self.folder / kiosk)
        agent = KioskAgent(self.hall.base_url, self.hall.tokens[kiosk], printer,
                           status_interval_s=0.2)  # fmt: skip
        self.running[kiosk] = agent.start()
        return printer

    def stop(self) -> None:
        for agent in self.running.values():
            agent.stop()


@pytest.fixture
def agents(live_hall: LiveHall, tmp_path: Path) -> Iterator[Agents]:
    agents = Agents(live_hall, tmp_path / "printed")
    yield agents
    agents.stop()


@pytest.fixture
def kiosk(browser: Any) -> Iterator[Any]:
    """A portrait 1080×1920 kiosk screen."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1080, "height": 1920})
    page = context.new_page()
    violations = watch_csp(page)
    yield page
    context.close()
    assert not violations, violations


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A phone-sized browser that records vibrations."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)  # fmt: skip
    context.add_init_script("navigator.vibrate = (p) => { window.__vibrated = p; return true; };")
    page = context.new_page()
    violations = watch_csp(page)
    yield page
    context.close()
    assert not violations, violations


def open_kiosk(page: Any, hall: LiveHall, name: str = "kiosk-1") -> None:
    from playwright.sync_api import expect

    page.goto(hall.url(f"/kiosk/{name}?token={hall.tokens[name]}"))
    expect(page.locator(".service").first).to_be_visible(timeout=TIMEOUT_MS)


def waiting(hall: LiveHall, service: str = "b") -> int:
    queues = hall.api("staff1", "GET", "/snapshot").json()["queues"]
    return next(q["waiting"] for q in queues if q["service"] == service)


def test_take_a_ticket_and_see_the_number_the_way_and_the_printed_ticket(
    live_hall: LiveHall, agents: Agents, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    printer = agents.start("kiosk-1")
    open_kiosk(kiosk, live_hall)
    expect(kiosk.locator("#printer-banner")).to_be_hidden(timeout=TIMEOUT_MS)
    b = kiosk.locator('.service[data-service="b"]')
    expect(b).to_contain_text("不动产登记")
    expect(b).to_contain_text("等候 0 人")
    assert b.bounding_box()["height"] >= 180  # a large target for a finger
    shot(kiosk, "home")
    kiosk.click("#lang")
    expect(b.locator(".primary").first).to_have_text("Real Estate")
    shot(kiosk, "home-en")
    kiosk.click("#lang")
    b.click()
    expect(kiosk.locator("#guide")).to_contain_text("所需材料")
    expect(kiosk.locator("#guide")).to_contain_text("法定时限")
    shot(kiosk, "guide")
    kiosk.click("#take")
    expect(kiosk.locator("#number")).to_have_text("B001", timeout=TIMEOUT_MS)
    expect(kiosk.locator("#issued")).to_contain_text("请到 2楼 B区 等候叫号")
    expect(kiosk.locator("#print-state")).to_have_class(re.compile("printed"), timeout=TIMEOUT_MS)
    kiosk.wait_for_function("() => document.getElementById('qr').naturalWidth > 0")
    shot(kiosk, "issued")
    assert [t.number for t, _ in printer.printed] == ["B001"]
    if os.environ.get("HALL_DOC_SCREENSHOTS"):
        shutil.copy(agents.folder / "kiosk-1" / "B001.png", SHOTS / "kiosk-ticket.png")
    kiosk.click("#done")
    expect(kiosk.locator('.service[data-service="b"]')).to_contain_text("等候 1 人")


def test_printer_out_of_paper_the_kiosk_says_so_and_issues_nothing(
    live_hall: LiveHall, agents: Agents, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    printer = agents.start("kiosk-1")
    agents.start("kiosk-2")
    open_kiosk(kiosk, live_hall)
    expect(kiosk.locator("#printer-banner")).to_be_hidden(timeout=TIMEOUT_MS)
    printer.paper = "out"
    banner = kiosk.locator("#printer-banner")
    expect(banner).to_contain_text("缺纸", timeout=TIMEOUT_MS)
    expect(banner).to_contain_text("请到其他取号机取号：2楼 B区")  # by its place, not its id
    kiosk.click('.service[data-service="b"]')
    expect(kiosk.locator("#take")).to_be_disabled()
    shot(kiosk, "paper-out")
    assert waiting(live_hall) == 0
    printer.paper = "ok"
    expect(banner).to_be_hidden(timeout=TIMEOUT_MS)
    expect(kiosk.locator("#take")).to_be_enabled()


def test_appointment_check_in_gives_a_priority_ticket(
    live_hall: LiveHall, agents: Agents, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    agents.start("kiosk-1")
    now = datetime.now(UTC)
    booked = live_hall.api("boss", "POST", "/appointments", {
        "service": "b", "code": "YY2026", "name": "张三",
        "slot_start": (now - timedelta(minutes=5)).isoformat(),
        "slot_end": (now + timedelta(minutes=25)).isoformat(),
    })  # fmt: skip
    assert booked.status_code == 201, booked.text
    live_hall.api("kiosk-1", "POST", "/tickets", {"service": "b"})  # someone is already waiting
    open_kiosk(kiosk, live_hall)
    kiosk.click("#appointment")
    kiosk.fill("#entry", "yy2026")
    kiosk.click("#ok")
    expect(kiosk.locator("#number")).to_have_text("B002", timeout=TIMEOUT_MS)
    expect(kiosk.locator("#issued .tag")).to_contain_text("预约")
    tickets = live_hall.api("staff1", "GET", "/snapshot").json()
    assert tickets["queues"]
    live_hall.api("staff2", "POST", "/windows/3/open")
    called = live_hall.api("staff2", "POST", "/windows/3/call-next").json()["ticket"]
    assert called["number"] == "B002"  # the appointment goes before the earlier walk-in


def test_a_lost_answer_is_retried_with_the_same_key_and_issues_one_ticket(
    live_hall: LiveHall, agents: Agents, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    agents.start("kiosk-1")
    open_kiosk(kiosk, live_hall)
    lost = []

    def lose_first_answer(route: Any) -> None:
        if not lost:
            route.fetch()  # the server issues the ticket…
            lost.append(True)
            route.abort("connectionreset")  # …but the kiosk never hears the answer
        else:
            route.continue_()

    kiosk.route("**/api/v1/kiosk/tickets", lose_first_answer)
    kiosk.click('.service[data-service="b"]')
    kiosk.click("#take")
    expect(kiosk.locator("#number")).to_have_text("B001", timeout=TIMEOUT_MS)
    assert lost and waiting(live_hall) == 1


def test_the_mobile_ticket_follows_the_queue_and_shows_the_window_when_called(
    live_hall: LiveHall, phone: Any
) -> None:
    from playwright.sync_api import expect

    first = live_hall.api("kiosk-1", "POST", "/tickets", {"service": "b"}).json()
    mine = live_hall.api("kiosk-1", "POST", "/tickets", {"service": "b"}).json()
    phone.goto(live_hall.url(f"/t/{mine['token']}"))
    expect(phone.locator("#number")).to_have_text(mine["number"], timeout=TIMEOUT_MS)
    expect(phone.locator("#ahead")).to_have_text("1")
    expect(phone.locator("#conn")).to_have_class(re.compile("up"), timeout=TIMEOUT_MS)
    shot(phone, "mobile-waiting")
    live_hall.api("staff2", "POST", "/windows/3/open")
    assert (
        live_hall.api("staff2", "POST", "/windows/3/call-next").json()["ticket"]["id"]
        == first["id"]
    )
    expect(phone.locator("#ahead")).to_have_text("0", timeout=TIMEOUT_MS)
    live_hall.api("staff2", "POST", "/windows/3/finish")
    live_hall.api("staff2", "POST", "/windows/3/call-next")
    expect(phone.locator("#called")).to_contain_text("请到 2楼 3 号窗口办理", timeout=TIMEOUT_MS)
    phone.wait_for_function("() => Array.isArray(window.__vibrated)", timeout=TIMEOUT_MS)
    shot(phone, "mobile-called")


def test_the_visitor_cancels_from_the_phone(live_hall: LiveHall, phone: Any) -> None:
    from playwright.sync_api import expect

    mine = live_hall.api("kiosk-1", "POST", "/tickets", {"service": "b"}).json()
    phone.goto(live_hall.url(f"/t/{mine['token']}"))
    phone.on("dialog", lambda dialog: dialog.accept())
    phone.locator("#cancel").click(timeout=TIMEOUT_MS)
    expect(phone.locator("#state")).to_have_text("已取消", timeout=TIMEOUT_MS)
    assert waiting(live_hall) == 0


def test_an_untouched_kiosk_returns_home_in_chinese(
    live_hall: LiveHall, agents: Agents, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    agents.start("kiosk-1")
    kiosk.goto(live_hall.url(f"/kiosk/kiosk-1?idle_s=2&token={live_hall.tokens['kiosk-1']}"))
    expect(kiosk.locator(".service").first).to_be_visible(timeout=TIMEOUT_MS)
    kiosk.click("#lang")
    kiosk.click('.service[data-service="b"]')
    expect(kiosk.locator("#guide")).to_be_visible()
    expect(kiosk.locator("#guide")).to_be_hidden(timeout=TIMEOUT_MS)  # back home by itself
    expect(kiosk.locator("h1.title .primary")).to_have_text("请选择办理事项")


def test_take_a_number_stays_on_screen_under_the_longest_service_guide(
    tmp_path: Path, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    from tests.live import DEMO_HALL, start_live_hall

    hall = start_live_hall(tmp_path, config=DEMO_HALL)  # real guides, several lines long
    try:
        open_kiosk(kiosk, hall, "kiosk-1f-a")
        services = hall.api("root", "GET", "/services")
        longest = max(services.json()["services"],
                      key=lambda s: len(" ".join(s["guide"].get("materials", []))))  # fmt: skip
        kiosk.locator(f'.service[data-service="{longest["code"]}"]').click()
        expect(kiosk.locator("#guide")).to_contain_text("所需材料")
        expect(kiosk.locator("#take")).to_be_in_viewport(ratio=1.0)
        expect(kiosk.locator("#back")).to_be_in_viewport(ratio=1.0)
    finally:
        hall.stop()
