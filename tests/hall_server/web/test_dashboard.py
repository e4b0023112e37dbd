"""The supervisor's dashboard in a real browser: it follows the hall live, shows alarms and
lets a supervisor acknowledge them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.live import PASSWORD, LiveHall

pytestmark = pytest.mark.browser


def log_in(page: Page, hall: LiveHall, path: str, login: str = "boss") -> None:
    page.goto(hall.url(path))
    page.fill("#login input[name=login]", login)
    page.fill("#login input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    expect(page.locator("#login")).to_be_hidden(timeout=10_000)


def test_the_dashboard_shows_a_call_and_the_queue_within_seconds(
    live_hall: LiveHall, page: Page
) -> None:
    log_in(page, live_hall, "/dashboard")
    window = page.locator('.win[data-window="3"]')
    expect(window).to_have_attribute("data-look", "closed", timeout=10_000)
    assert live_hall.api("staff1", "POST", "/windows/3/open").ok
    issued = live_hall.api("kiosk-1", "POST", "/tickets", {"service": "b"}).json()
    expect(window).to_have_attribute("data-look", "idle-queue", timeout=5_000)
    row = page.locator('#services tr[data-service="b"]')
    expect(row.locator(".waiting")).to_have_text("1", timeout=5_000)
    assert (
        live_hall.api("staff1", "POST", "/windows/3/call-next").json()["ticket"]["number"]
        == (issued["number"])
    )
    expect(window).to_have_attribute("data-look", "calling", timeout=5_000)
    expect(window.locator(".ticket")).to_have_text(issued["number"])
    expect(window.locator(".staff")).to_have_text("staff1", timeout=5_000)
    expect(row.locator(".waiting")).to_have_text("0")
    expect(page.locator('[data-kpi="tickets"] .value')).to_have_text("1", timeout=10_000)
    assert live_hall.api("staff1", "POST", "/windows/3/finish").ok
    expect(window).to_have_attribute("data-look", "idle", timeout=5_000)
    expect(row.locator(".served")).to_have_text("1")
    expect(page.locator('[data-kpi="served"] .value')).to_have_text("1", timeout=10_000)


def test_an_alarm_appears_and_a_supervisor_acknowledges_it(live_hall: LiveHall, page: Page) -> None:
    log_in(page, live_hall, "/dashboard")
    expect(page.locator("#alarms .none")).to_be_visible(timeout=10_000)
    fault = {"part": "printer", "status": {"health": "fault", "online": True, "message": "缺纸"}}
    assert live_hall.api("kiosk-1", "POST", "/devices/status", fault).ok
    alarm = page.locator('.alarm[data-kind="device_fault"]')
    expect(alarm).to_be_visible(timeout=10_000)
    expect(alarm).to_have_attribute("data-level", "red")
    expect(alarm.locator(".msg")).to_contain_text("缺纸")
    alarm.locator("button.ack").click()
    expect(alarm.locator(".acked")).to_contain_text("boss", timeout=5_000)
    listed = live_hall.api("boss", "GET", "/alarms").json()["alarms"]
    assert [(a["kind"], a["acked_by"]) for a in listed] == [("device_fault", "boss")]
    ok = {"part": "printer", "status": {"health": "ok", "online": True}}
    assert live_hall.api("kiosk-1", "POST", "/devices/status", ok).ok
    expect(alarm).to_have_count(0, timeout=10_000)


def test_a_staff_login_is_refused_by_the_dashboard(live_hall: LiveHall, page: Page) -> None:
    page.goto(live_hall.url("/dashboard"))
    page.fill("#login input[name=login]", "staff1")
    page.fill("#login input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    expect(page.locator("#login .error")).to_have_text(re.compile("无权"))
