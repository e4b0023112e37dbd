"""The dashboard's tomorrow's staffing plan (明日排班建议) in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.live import LiveHall

from .test_dashboard import log_in

pytestmark = pytest.mark.browser


def test_the_plan_panel_says_there_are_no_records_yet(live_hall: LiveHall, page: Page) -> None:
    log_in(page, live_hall, "/dashboard")
    panel = page.locator("#staffing-plan")
    expect(panel).to_contain_text("暂无建议", timeout=10_000)
    expect(panel).to_contain_text("no advice")
    plan = live_hall.api("boss", "GET", "/staffing/plan").json()
    expect(page.locator("#staffing-day")).to_have_text(plan["day"])
    page.click("#staffing-check")  # the simulated check: nothing to simulate, same answer
    expect(panel).to_contain_text("暂无建议", timeout=10_000)
