"""Take the window client's screenshots for docs/WINDOW.md (Debian Chromium, a live test hall).

.venv/bin/python -m tests.window_client.screenshots
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.live import CHROMIUM_ARGS, ROOT, start_live_hall

from .pages import WAIT_MS, expect_ticket, issue, log_in, press

OUT = ROOT / "docs" / "screenshots"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    hall = start_live_hall(Path(tempfile.mkdtemp()))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            size = {"width": 1920, "height": 1080}
            page = browser.new_context(locale="zh-CN", viewport=size).new_page()
            page.goto(hall.url("/window"))
            page.fill("#login input[name=login]", "staff1")
            page.screenshot(path=OUT / "window-login.png")
            for _ in range(5):
                issue(hall)
            hall.api("staff2", "POST", "/windows/2/open")
            log_in(page, hall, "staff1", 3)
            # A morning's work so the figures are not empty.
            for _ in range(2):
                press(page, "call-next")
                press(page, "start")
                press(page, "finish")
            press(page, "call-next")
            press(page, "no-show")
            press(page, "call-next")
            press(page, "start")
            expect_ticket(page, "B004", "办理中")
            expect(page.locator("#returns li")).to_have_count(1, timeout=WAIT_MS)
            page.screenshot(path=OUT / "window-desk.png")
            press(page, "pause")
            page.screenshot(path=OUT / "window-pause.png")
            page.keyboard.press("Escape")
            page.goto(hall.url("/window"))
            page.click("#switch")
            expect(page.locator(".window-choice")).to_have_count(4, timeout=WAIT_MS)
            page.screenshot(path=OUT / "window-choose.png")

            tablet = browser.new_context(locale="zh-CN", viewport=size).new_page()
            tablet.goto(hall.url(f"/evaluate/eval-3?token={hall.tokens['eval-3']}"))
            expect(tablet.locator("#conn")).to_have_class("conn up", timeout=WAIT_MS)
            tablet.screenshot(path=OUT / "window-evaluate-idle.png")
            hall.api("staff1", "POST", "/windows/3/finish")
            expect(tablet.locator("#rate-view")).to_be_visible(timeout=WAIT_MS)
            tablet.screenshot(path=OUT / "window-evaluate.png")
            tablet.click('.score[data-score="2"]')
            tablet.click('.reason[data-reason="等候时间长"]')
            tablet.screenshot(path=OUT / "window-evaluate-reason.png")
            browser.close()
    finally:
        hall.stop()
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
