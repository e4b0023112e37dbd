"""The reports page in a real browser: figures on the page, and an XLSX download that opens
with the Chinese headers and the hall's figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.live import LiveHall

from .test_dashboard import log_in

pytestmark = pytest.mark.browser


def test_a_report_shows_on_the_page_and_downloads_as_xlsx(
    live_hall: LiveHall, page: Page, tmp_path: Path
) -> None:
    assert live_hall.api("staff1", "POST", "/windows/3/open").ok
    for _ in range(2):
        assert live_hall.api("kiosk-1", "POST", "/tickets", {"service": "b"}).ok
    assert live_hall.api("staff1", "POST", "/windows/3/call-next").ok
    assert live_hall.api("staff1", "POST", "/windows/3/finish").ok
    day = live_hall.api("boss", "GET", "/snapshot").json()["business_day"]

    log_in(page, live_hall, "/reports")
    page.fill("#query input[name=start]", day)
    page.fill("#query input[name=end]", day)
    page.select_option("#query select[name=group]", "service")
    page.click("#query button[type=submit]")
    total = page.locator("#report tr.total")
    expect(total.locator('[data-field="tickets"]')).to_have_text("2", timeout=10_000)
    expect(total.locator('[data-field="served"]')).to_have_text("1")

    with page.expect_download(timeout=15_000) as download_info:
        page.click('[data-export="xlsx"]')
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    sheet = load_workbook(path).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert "效能报表" in str(cells[0][0])
    assert cells[1][:5] == ["期间", "事项", "取号数", "办结数", "过号数"]
    rows = {row[1]: row for row in cells[3:]}
    assert (rows["不动产登记"][2], rows["不动产登记"][3]) == (2, 1)
    assert (rows["合计"][2], rows["合计"][3]) == (2, 1)
