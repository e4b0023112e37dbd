"""The pages under their Content-Security-Policy in Debian Chromium: every page works with no
violation, none can be framed, a logout or a revoked device leaves no token behind."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.live import PASSWORD, LiveHall, watch_csp

pytestmark = pytest.mark.browser
WAIT_MS = 10_000
REVOKED = "此设备的令牌已被撤销，请联系管理员"


def log_in(page: Any, login: str) -> None:
    page.fill("#login input[name=login]", login)
    page.fill("#login input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")


def stored(page: Any, key: str) -> Any:
    return page.evaluate("(key) => localStorage.getItem(key)", key)


def test_every_page_works_with_no_csp_violation_and_no_script_error(
    live_hall: LiveHall, browser: Any
) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    violations = watch_csp(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Script errors and failed loads, except the 401 a call already in flight when a login ends
    # may meet (the browser logs it; the page handles it).
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and "status of 401" not in m.text else None)  # fmt: skip
    tokens = live_hall.tokens
    try:
        ticket = live_hall.api("kiosk-1", "POST", "/tickets", {"service": "b"}).json()
        page.goto(live_hall.url("/"))
        expect(page.locator("h1")).to_contain_text("测试大厅")
        page.goto(live_hall.url(f"/kiosk/kiosk-1?token={tokens['kiosk-1']}"))
        expect(page.locator("#screen .service").first).to_be_visible(timeout=WAIT_MS)
        page.goto(live_hall.url(f"/t/{ticket['token']}"))
        expect(page.locator("#number")).to_have_text(ticket["number"], timeout=WAIT_MS)
        page.goto(live_hall.url(f"/display/tv-1?token={tokens['tv-1']}"))
        expect(page.locator("#conn")).to_have_attribute("data-up", "true", timeout=WAIT_MS)
        page.goto(live_hall.url(f"/evaluate/eval-3?token={tokens['eval-3']}"))
        expect(page.locator("#conn")).to_have_class("conn up", timeout=WAIT_MS)
        page.goto(live_hall.url("/window"))
        log_in(page, "staff1")
        page.click('.window-choice[data-window="3"]', timeout=WAIT_MS)
        expect(page.locator("#window-state")).to_have_text("服务中", timeout=WAIT_MS)
        page.click('#buttons [data-action="call-next"]')
        expect(page.locator("#ticket-number")).to_have_text(ticket["number"], timeout=WAIT_MS)
        page.click("#logout")
        expect(page.locator("#login")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#login-error")).to_contain_text("3号窗口已暂停")
        assert stored(page, "hall.staff") is None
        page.goto(live_hall.url("/dashboard"))
        log_in(page, "boss")
        expect(page.locator('.win[data-window="3"]')).to_have_attribute(
            "data-look", "paused", timeout=WAIT_MS
        )
        page.locator("#chart-hours canvas").first.hover()  # a chart's tooltip is drawn too
        page.goto(live_hall.url("/reports"))
        expect(page.locator("#report tbody tr.total")).to_be_visible(timeout=WAIT_MS)
        page.click("#logout")
        expect(page.locator("#login")).to_be_visible(timeout=WAIT_MS)
        page.goto(live_hall.url("/admin"))
        log_in(page, "root")
        expect(page.locator("#panel table")).to_be_visible(timeout=WAIT_MS)
        page.click('#tabs [data-tab="notices"]')
        expect(page.locator("#panel textarea")).to_be_visible(timeout=WAIT_MS)
    finally:
        context.close()
    assert violations == []
    assert errors == []


@pytest.mark.parametrize("path", ["/admin", "/window", "/kiosk/kiosk-1"])
def test_no_page_can_be_framed_by_another_site(
    live_hall: LiveHall, browser: Any, path: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    framer = "http://framer.example/"
    page.route(framer, lambda route: route.fulfill(
        content_type="text/html",
        body=f'<iframe id="f" src="{live_hall.url(path)}" width="800" height="600"></iframe>',
    ))  # fmt: skip
    try:
        page.goto(framer)
        deadline = time.monotonic() + 10
        while len(page.frames) < 2 or page.frames[1].url in ("", "about:blank"):
            assert time.monotonic() < deadline, "the frame never settled"
            page.wait_for_timeout(50)  # polling the frame's navigation, bounded by the deadline
        # Chromium refuses to show the hall's page there: the frame holds its error page.
        assert page.frames[1].url.startswith("chrome-error://"), page.frames[1].url
    finally:
        context.close()


def test_logging_out_leaves_no_staff_token_in_the_browser(live_hall: LiveHall, page: Any) -> None:
    page.goto(live_hall.url("/dashboard"))
    log_in(page, "boss")
    expect(page.locator("#login")).to_be_hidden(timeout=WAIT_MS)
    token = json.loads(stored(page, "hall.staff"))["token"]
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible(timeout=WAIT_MS)
    assert stored(page, "hall.staff") is None
    # The server ended it too: the old token opens nothing.
    answer = live_hall.api(None, "GET", "/staff/me", Authorization=f"Bearer {token}")
    assert answer.status_code == 401


def test_a_staff_token_that_ended_elsewhere_is_forgotten_and_the_login_shown(
    live_hall: LiveHall, page: Any
) -> None:
    page.goto(live_hall.url("/reports"))
    log_in(page, "boss")
    expect(page.locator("#login")).to_be_hidden(timeout=WAIT_MS)
    token = json.loads(stored(page, "hall.staff"))["token"]
    live_hall.api(None, "POST", "/auth/logout", Authorization=f"Bearer {token}")
    page.click("#query button[type=submit]")  # the next call answers 401
    expect(page.locator("#login .error")).to_contain_text("登录已失效", timeout=WAIT_MS)
    assert stored(page, "hall.staff") is None


def test_a_revoked_kiosk_forgets_its_token_and_says_so(live_hall: LiveHall, page: Any) -> None:
    page.goto(live_hall.url(f"/kiosk/kiosk-1?token={live_hall.tokens['kiosk-1']}"))
    expect(page.locator("#screen .service").first).to_be_visible(timeout=WAIT_MS)
    assert stored(page, "hall.kiosk.token.kiosk-1") == live_hall.tokens["kiosk-1"]
    assert live_hall.api("root", "POST", "/admin/devices/kiosk-1/revoke").ok
    page.click("#screen .service >> nth=0")  # the next call to the hall answers 401
    page.evaluate("window.kiosk.refresh()")
    expect(page.locator("#screen")).to_contain_text(REVOKED, timeout=WAIT_MS)
    expect(page.locator("#screen")).to_contain_text("this device's token was revoked")
    assert stored(page, "hall.kiosk.token.kiosk-1") is None
    page.reload()  # and stays stopped: nothing is kept to try again with
    expect(page.locator("#screen")).to_contain_text("本机未授权", timeout=WAIT_MS)


def test_a_tv_whose_token_is_revoked_stops_reconnecting_and_says_so(
    live_hall: LiveHall, page: Any
) -> None:
    page.goto(live_hall.url(f"/display/tv-1?token={live_hall.tokens['tv-1']}"))
    expect(page.locator("#conn")).to_have_attribute("data-up", "true", timeout=WAIT_MS)
    assert stored(page, "hall-display-token:tv-1") == live_hall.tokens["tv-1"]
    assert live_hall.api("root", "POST", "/admin/devices/tv-1/revoke").ok
    live_hall.restart()  # the screen reconnects, and the hall log refuses the token
    expect(page.locator("#message")).to_contain_text(REVOKED, timeout=20_000)
    expect(page.locator("#offline")).to_be_hidden()
    assert stored(page, "hall-display-token:tv-1") is None


def test_a_revoked_evaluator_forgets_its_token_and_says_so(live_hall: LiveHall, page: Any) -> None:
    page.goto(live_hall.url(f"/evaluate/eval-3?token={live_hall.tokens['eval-3']}"))
    expect(page.locator("#conn")).to_have_class("conn up", timeout=WAIT_MS)
    assert live_hall.api("root", "POST", "/admin/devices/eval-3/revoke").ok
    page.reload()  # the hall log refuses the kept token
    expect(page.locator("#revoked")).to_contain_text(REVOKED, timeout=WAIT_MS)
    assert stored(page, "hall.evaluator.eval-3") is None


def test_the_landing_page_lists_devices_only_for_a_logged_in_admin(
    live_hall: LiveHall, page: Any
) -> None:
    page.goto(live_hall.url("/"))
    expect(page.locator("#login")).to_be_visible()
    for name in ("kiosk-1", "tv-1", "eval-3"):
        assert name not in page.content()
    log_in(page, "staff1")
    expect(page.locator("#login .error")).to_contain_text("无权")
    log_in(page, "root")
    expect(page.locator("#device-links")).to_be_visible(timeout=WAIT_MS)
    links = page.locator("#device-links a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert {"/kiosk/kiosk-1", "/kiosk/kiosk-2", "/display/tv-1", "/evaluate/eval-3"} <= set(links)
    page.click("#logout")
    expect(page.locator("#device-links")).to_be_hidden(timeout=WAIT_MS)
    assert "kiosk-1" not in page.content()
    assert stored(page, "hall.staff") is None
