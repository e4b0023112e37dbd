"""A window's day in a real browser against a real hall server: every button of the desk,
the evaluator page beside it, and what the hall log recorded."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.live import LiveHall, watch_csp

from .pages import (
    WAIT_MS,
    alarms,
    button,
    events,
    expect_allowed,
    expect_ticket,
    issue,
    log_in,
    press,
    ticket,
    until,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def evaluator(browser: Any, live_hall: LiveHall) -> Any:
    """The evaluator tablet of window 3, opened once with its device token."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    tablet = context.new_page()
    violations = watch_csp(tablet)
    tablet.goto(live_hall.url(f"/evaluate/eval-3?token={live_hall.tokens['eval-3']}"))
    expect(tablet.locator("#idle-view")).to_be_visible()
    expect(tablet.locator("#conn")).to_have_class("conn up", timeout=WAIT_MS)
    yield tablet
    context.close()
    assert not violations, violations


def test_a_window_day_call_recall_start_finish_rate_miss_requeue_hold_return_pause(
    live_hall: LiveHall, page: Any, evaluator: Any
) -> None:
    first, second, third = issue(live_hall), issue(live_hall), issue(live_hall)
    log_in(page, live_hall, "staff1", 3)
    expect(page.locator('#queues [data-service="b"] .count')).to_have_text("3", timeout=WAIT_MS)

    # Illegal buttons say why on hover; nothing to recall yet.
    expect_allowed(page, "recall", False)
    assert button(page, "recall").get_attribute("title") == "当前没有号票 (no ticket at the window)"

    press(page, "call-next")
    expect_ticket(page, first["number"], "已叫号")
    expect(page.locator("#ticket-calls")).to_have_text("1 次")
    expect(page.locator('#queues [data-service="b"] .count')).to_have_text("2", timeout=WAIT_MS)
    expect_allowed(page, "call-next", False)
    assert "请先办结、过号或转移" in button(page, "call-next").get_attribute("title")

    expect_allowed(page, "recall")
    page.keyboard.press("r")  # the shortcut of 重呼
    expect(page.locator("#ticket-calls")).to_have_text("2 次", timeout=WAIT_MS)

    press(page, "start")
    expect_ticket(page, first["number"], "办理中")
    expect(page.locator("#running-label")).to_contain_text("办理用时")
    press(page, "finish")
    expect(page.locator("#ticket-number")).to_have_text("—", timeout=WAIT_MS)
    expect(page.locator("#fig-served")).to_have_text("1", timeout=WAIT_MS)

    # The evaluator wakes for the finished visit; a 差评 needs a reason.
    expect(evaluator.locator("#rate-view")).to_be_visible(timeout=WAIT_MS)
    expect(evaluator.locator("#rate-number")).to_have_text(first["number"])
    evaluator.click('.score[data-score="2"]')
    evaluator.click("#reason-submit")
    expect(evaluator.locator("#reason-error")).to_contain_text("请至少选择一项原因")
    evaluator.click('.reason[data-reason="等候时间长"]')
    evaluator.click("#reason-submit")
    expect(evaluator.locator("#thanks-view")).to_be_visible(timeout=WAIT_MS)
    rated = [e for e in events(live_hall) if e["type"] == "evaluation.recorded"]
    assert [(e["number"], e["window"], e["score"], e["reasons"]) for e in rated] == [
        (first["number"], 3, 2, ["等候时间长"])
    ]
    # A 差评 raises an alarm for the supervisor to follow up (回访).
    alarm = until(lambda: [a for a in alarms(live_hall) if a["kind"] == "bad_rating"])
    assert first["number"] in alarm[0]["message"]

    # A visitor who does not come: 过号, then re-queued from the desk when they return.
    press(page, "call-next")
    expect_ticket(page, second["number"])
    press(page, "no-show")
    missed = page.locator(f'#returns li[data-number="{second["number"]}"]')
    expect(missed).to_contain_text("已过号", timeout=WAIT_MS)
    missed.locator("button").click()
    # requeue_after_n = 1: the returning visitor goes in behind one waiting ticket.
    expect(page.locator("#message")).to_contain_text("已重新排队，前面还有 1 人", timeout=WAIT_MS)
    expect(missed).to_have_count(0, timeout=WAIT_MS)
    assert ticket(live_hall, second["id"])["status"] == "waiting"

    # 挂起 while the visitor fetches a document; back, and called here before everyone.
    press(page, "call-next")
    expect_ticket(page, third["number"])
    press(page, "start")
    expect_ticket(page, third["number"], "办理中")
    press(page, "hold")
    held = page.locator(f'#returns li[data-number="{third["number"]}"]')
    expect(held).to_contain_text("挂起补件", timeout=WAIT_MS)
    newcomer = issue(live_hall)
    held.locator("button").click()
    expect(page.locator("#message")).to_contain_text("补件返回", timeout=WAIT_MS)
    expect(page.locator("#queues li.targeted .count")).to_have_text("1", timeout=WAIT_MS)
    press(page, "call-next")
    expect_ticket(page, third["number"], "已叫号")
    press(page, "finish")
    expect(page.locator("#fig-served")).to_have_text("2", timeout=WAIT_MS)

    # Pause with a reason from the list; resume.
    press(page, "pause")
    page.locator("#dialog-body label", has_text="午休").click()
    page.click("#dialog-ok")
    expect(page.locator("#window-state")).to_have_text("暂停：午休", timeout=WAIT_MS)
    expect_allowed(page, "call-next", False)
    assert button(page, "call-next").get_attribute("title") == (
        "窗口暂停中，请先恢复 (the window is paused: resume first)"
    )
    press(page, "resume")
    expect(page.locator("#window-state")).to_have_text("服务中", timeout=WAIT_MS)

    # 特呼: call a number out of turn.
    press(page, "call")
    page.fill("#call-number", newcomer["number"].lower())
    page.keyboard.press("Enter")
    expect_ticket(page, newcomer["number"], "已叫号")
    assert ticket(live_hall, second["id"])["status"] == "waiting"
    assert page.locator("#fig-wait").inner_text() != "—"

    kinds = [e["type"] for e in events(live_hall) if e.get("window") == 3]
    assert kinds.count("ticket.called") == 5 and kinds.count("ticket.recalled") == 1
    assert kinds.count("ticket.held") == 1 and kinds.count("ticket.no_show") == 1
    assert {"window.paused", "window.resumed"} <= set(kinds)


def test_a_transferred_ticket_is_called_first_at_the_window_it_was_sent_to(
    live_hall: LiveHall, browser: Any, page: Any
) -> None:
    sent, other = issue(live_hall), issue(live_hall)
    log_in(page, live_hall, "staff1", 3)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    try:
        second_page = context.new_page()
        log_in(second_page, live_hall, "staff2", 2)
        press(page, "call-next")
        expect_ticket(page, sent["number"])
        press(page, "transfer")
        page.select_option("#transfer-window", "2")
        page.fill("#transfer-note", "请到2号窗口补办")
        page.click("#dialog-ok")
        expect(page.locator("#ticket-number")).to_have_text("—", timeout=WAIT_MS)

        # Window 2's page sees it waiting for that window, and calls it before the older B.
        targeted = second_page.locator("#queues li.targeted .count")
        expect(targeted).to_have_text("1", timeout=WAIT_MS)
        press(second_page, "call-next")
        expect_ticket(second_page, sent["number"], "已叫号")
        assert ticket(live_hall, other["id"])["status"] == "waiting"
    finally:
        context.close()
    moved = [e for e in events(live_hall) if e["type"] == "ticket.transferred"]
    assert [(e["from_window"], e["to_window"], e["note"]) for e in moved] == [
        (3, 2, "请到2号窗口补办")
    ]


def test_a_double_click_on_call_next_calls_one_ticket(live_hall: LiveHall, page: Any) -> None:
    first, second = issue(live_hall), issue(live_hall)
    log_in(page, live_hall, "staff1", 3)
    expect_allowed(page, "call-next")
    button(page, "call-next").dblclick()
    expect_ticket(page, first["number"])
    page.keyboard.press("n")  # and the shortcut pressed once more: the button is now off
    expect(page.locator("#message")).to_contain_text("请先办结", timeout=WAIT_MS)
    called = [e["number"] for e in events(live_hall) if e["type"] == "ticket.called"]
    assert called == [first["number"]]
    assert ticket(live_hall, second["id"])["status"] == "waiting"


def test_a_lost_connection_is_shown_and_heals_by_itself(live_hall: LiveHall, page: Any) -> None:
    log_in(page, live_hall, "staff1", 3)
    expect(page.locator("#conn")).to_have_attribute("data-state", "up", timeout=WAIT_MS)
    live_hall.stop()
    expect(page.locator("#offline")).to_be_visible(timeout=WAIT_MS)
    live_hall.restart()
    expect(page.locator("#offline")).to_be_hidden(timeout=20_000)
    issue(live_hall)
    expect(page.locator('#queues [data-service="b"] .count')).to_have_text("1", timeout=WAIT_MS)
    press(page, "call-next")
    expect_ticket(page, "B001")


def test_logging_out_pauses_the_window_and_logging_in_again_returns_to_it(
    live_hall: LiveHall, page: Any
) -> None:
    log_in(page, live_hall, "staff1", 3)
    page.click("#logout")
    expect(page.locator("#login-error")).to_contain_text("3号窗口已暂停", timeout=WAIT_MS)
    snapshot = live_hall.api("boss", "GET", "/snapshot").json()
    window = next(w for w in snapshot["windows"] if w["number"] == 3)
    assert (window["state"], window["pause_reason"], window["staff"]) == (
        "paused",
        "已退出登录",
        "staff1",
    )
    page.fill("#login input[name=login]", "staff1")
    page.fill("#login input[name=password]", "password-123")
    page.click("#login-button")
    expect(page.locator("#window-title")).to_have_text("3号窗口", timeout=WAIT_MS)
    press(page, "resume")
    expect(page.locator("#window-state")).to_have_text("服务中", timeout=WAIT_MS)


def test_the_evaluator_thanks_politely_when_nobody_rates(live_hall: LiveHall, page: Any) -> None:
    done = issue(live_hall)
    for action in ("open", "call-next", "finish"):
        assert live_hall.api("staff1", "POST", f"/windows/3/{action}").ok
    tablet = page
    tablet.goto(live_hall.url(f"/evaluate/eval-3?token={live_hall.tokens['eval-3']}&timeout_s=3"))
    assert "token=" not in tablet.url  # the token is kept on the device, not in the address bar
    expect(tablet.locator("#conn")).to_have_class("conn up", timeout=WAIT_MS)
    issue(live_hall)
    for action in ("call-next", "finish"):
        assert live_hall.api("staff1", "POST", f"/windows/3/{action}").ok
    expect(tablet.locator("#rate-view")).to_be_visible(timeout=WAIT_MS)
    expect(tablet.locator("#thanks-title")).to_have_text("感谢您的光临！", timeout=WAIT_MS)
    expect(tablet.locator("#idle-view")).to_be_visible(timeout=WAIT_MS)
    assert not [e for e in events(live_hall) if e["type"] == "evaluation.recorded"]
    assert ticket(live_hall, done["id"])["status"] == "done"


def test_staff_at_a_window_cannot_take_another_and_are_told_why(
    live_hall: LiveHall, page: Any
) -> None:
    assert live_hall.api("staff2", "POST", "/windows/2/open").ok
    log_in(page, live_hall, "staff1", 3)
    page.click("#switch")
    taken = page.locator('.window-choice[data-window="2"]')
    expect(taken).to_have_attribute("aria-disabled", "true", timeout=WAIT_MS)
    assert taken.get_attribute("title") == "2号窗口由staff2使用中 (in use by staff2)"
    other = page.locator('.window-choice[data-window="1"]')
    expect(other).to_have_attribute(
        "title", "请先在3号窗口关窗或退出 (close window 3 or log out first)"
    )
    other.click(force=True)  # a person can still click it: the page says why not
    expect(page.locator("#choose-error")).to_contain_text("请先在3号窗口关窗或退出")
    page.locator('.window-choice[data-window="3"]').click()
    expect(page.locator("#window-title")).to_have_text("3号窗口", timeout=WAIT_MS)
    # The page refuses, and so does the server: staff2's window is not staff1's to call.
    refused = live_hall.api("staff1", "POST", "/windows/2/call-next")
    assert refused.status_code == 403
    assert (
        refused.json()["error"]["message"]
        == "2号窗口由staff2使用中，不能操作 (window 2 is in use by staff2)."
    )
