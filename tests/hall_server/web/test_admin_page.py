"""The admin page in a real browser: a refused edit names its field, a good one is saved."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.live import LiveHall

from .test_dashboard import log_in

pytestmark = pytest.mark.browser


def test_an_admin_edits_a_service_and_sees_the_refused_field(
    live_hall: LiveHall, page: Page
) -> None:
    log_in(page, live_hall, "/admin", login="root")
    page.click('tr[data-key="b"] button[data-edit]')
    form = page.locator('form[data-form="services"]')
    form.locator('input[name="prefix"]').fill("b1")
    form.locator('button[type="submit"]').click()
    prefix = form.locator('label[data-field="prefix"]')
    expect(prefix).to_have_class("bad", timeout=5_000)
    expect(prefix.locator(".field-error")).to_contain_text("capital letters")
    form.locator('input[name="prefix"]').fill("B")
    form.locator('input[name="name"]').fill("不动产登记中心")
    form.locator('button[type="submit"]').click()
    expect(page.locator("#saved")).to_contain_text("已保存", timeout=5_000)
    expect(page.locator('tr[data-key="b"]')).to_contain_text("不动产登记中心")
    services = live_hall.api("kiosk-1", "GET", "/services").json()["services"]
    assert {s["code"]: s["name"] for s in services}["b"] == "不动产登记中心"
    page.click('#tabs button[data-tab="audit"]')
    expect(page.locator("#panel tbody tr").first).to_contain_text("root")


def test_an_admin_names_a_kiosk_by_its_place_and_the_kiosks_banner_uses_it(
    live_hall: LiveHall, page: Page
) -> None:
    log_in(page, live_hall, "/admin", login="root")
    page.click('#tabs button[data-tab="devices"]')
    page.click('tr[data-key="kiosk-2"] button[data-edit]')
    form = page.locator('form[data-form="devices"]')
    form.locator('input[name="label"]').fill("1楼入口西侧自助机")
    form.locator('button[type="submit"]').click()
    expect(page.locator("#saved")).to_contain_text("已保存", timeout=5_000)
    expect(page.locator('tr[data-key="kiosk-2"]')).to_contain_text("1楼入口西侧自助机")
    config = live_hall.api("root", "GET", "/admin/config").json()["config"]
    assert {d["name"]: d.get("label") for d in config["devices"]}["kiosk-2"] == "1楼入口西侧自助机"
