"""The landing page a newcomer opens first lists every page of the hall."""

from __future__ import annotations

import pytest

from tests.live import LiveHall

pytestmark = pytest.mark.browser


def test_landing_page_links_every_kiosk_display_and_staff_page(live_hall: LiveHall, page) -> None:
    page.goto(live_hall.url("/"))
    assert page.title().startswith("测试大厅")
    links = page.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert {"/window", "/dashboard", "/kiosk/kiosk-1", "/display/tv-1"} <= set(links)
    heading = page.locator("h1").inner_text()
    assert "测试大厅" in heading and "Test Hall" in heading
