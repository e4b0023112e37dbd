"""The admin writes a new service's guide in the service form; the kiosk shows it, and says
"ask at the desk" for what was left empty (no invented 免费/即办). CSP-clean in both pages.
Set HALL_DOC_SCREENSHOTS=1 to (re)write docs/screenshots/admin-service-guide.png and
kiosk-guide-new-service.png."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.live import ROOT, LiveHall, watch_csp

from .test_dashboard import log_in

pytestmark = pytest.mark.browser
SHOTS = ROOT / "docs" / "screenshots"


def shot(page: Any, name: str) -> None:
    if os.environ.get("HALL_DOC_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_guide_written_in_admin_reaches_the_kiosk_without_invented_text(
    live_hall: LiveHall, page: Page, browser: Any
) -> None:
    log_in(page, live_hall, "/admin", login="root")
    page.click("#panel button[data-new]")
    form = page.locator('form[data-form="services"]')
    for field, value in {"code": "notary", "name": "公证", "name_en": "Notary",
                         "category": "公证", "prefix": "N", "zone": "N区", "floor": "1",
                         "hours": "00:00-24:00", "weekdays": "1,2,3,4,5,6,7",
                         "avg_handle_min": "10", "sla_wait_min": "30"}.items():  # fmt: skip
        form.locator(f'[name="{field}"]').fill(value)
    form.locator('[name="guide.materials"]').fill("身份证原件\n《公证申请表》")
    form.locator('[name="guide.notes"]').fill("委托办理需授权委托书")
    form.locator('[name="guide.fee"]').fill("免费👍")
    form.locator('button[type="submit"]').click()
    fee = form.locator('label[data-field="guide.fee"]')
    expect(fee).to_have_class("bad", timeout=5_000)
    expect(fee.locator(".field-error")).to_contain_text("表情符号")
    shot(page, "admin-service-guide")  # the refused emoji shows as a box: the reason
    form.locator('[name="guide.fee"]').fill("")
    form.locator('button[type="submit"]').click()
    expect(page.locator('tr[data-key="notary"]')).to_contain_text("公证", timeout=5_000)

    context = browser.new_context(locale="zh-CN", viewport={"width": 1080, "height": 1920})
    kiosk = context.new_page()
    violations = watch_csp(kiosk)
    kiosk.goto(live_hall.url(f"/kiosk/kiosk-1?token={live_hall.tokens['kiosk-1']}"))
    kiosk.locator('.service[data-service="notary"]').click(timeout=15_000)
    guide = kiosk.locator("#guide")
    expect(guide).to_contain_text("《公证申请表》")
    expect(guide).to_contain_text("委托办理需授权委托书")
    expect(guide).to_contain_text("请咨询工作人员")  # fee and time limit were left empty
    for invented in ("免费", "即办", "无需材料"):
        expect(guide).not_to_contain_text(invented)
    shot(kiosk, "kiosk-guide-new-service")
    context.close()
    assert not violations, violations
