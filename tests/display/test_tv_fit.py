"""The TV page says where to go and reads from 5 m: floors, recalls, 14+ services, 40 px text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.display.halls import display_hall
from tests.display.test_tv_page import act, issue, open_tv
from tests.live import LiveHall, start_live_hall
from tests.support.pages import many_services, shoot, text_sizes

pytestmark = pytest.mark.browser


# A TV on the ground floor showing the whole hall: window 3 and 4 are upstairs (2楼).
GROUND_TV = """
[[hall.devices]]
name = "tv-ground"
kind = "display"
floor = 1
[hall.devices.options]
page_s = 1
"""


@pytest.fixture
def ground_hall(tmp_path: Path) -> Any:
    hall = start_live_hall(tmp_path, config=display_hall(tmp_path, GROUND_TV, many_services()))
    yield hall
    hall.stop()


def test_a_window_upstairs_is_named_with_its_floor_and_a_recall_is_marked(
    ground_hall: LiveHall, page: Any, tmp_path: Path
) -> None:
    for window in (1, 3):
        act(ground_hall, window, "open")
    upstairs, here = issue(ground_hall, "b"), issue(ground_hall, "s0")
    open_tv(page, ground_hall, "tv-ground")

    act(ground_hall, 3, "call-next")  # window 3 is on floor 2; this TV on floor 1
    expect(page.locator("#current-number")).to_have_text(upstairs)
    expect(page.locator("#current-window")).to_have_text(f"请{upstairs}号到2楼3号窗口办理")
    expect(page.locator("#current-window-en")).to_have_text("Please go to window 3, floor 2")
    expect(page.locator("#current-recall")).to_be_hidden()
    shoot(page, tmp_path, "tv-call-upstairs.png")

    act(ground_hall, 1, "call-next")  # window 1 is on this TV's floor: no floor named
    expect(page.locator("#current-window")).to_have_text(f"请{here}号到1号窗口办理")
    expect(page.locator(f'#recent li[data-number="{upstairs}"] .win')).to_have_text("2楼3号窗口")

    act(ground_hall, 3, "recall")
    expect(page.locator("#current-number")).to_have_text(upstairs)
    expect(page.locator("#current-recall")).to_be_visible()
    expect(page.locator("#current-recall")).to_contain_text("重呼")
    expect(page.locator("#current")).to_have_attribute("data-kind", "recall")
    sizes = text_sizes(page)
    assert sizes[0][0] >= 40, sizes[:5]
    shoot(page, tmp_path, "tv-recall.png")


def test_many_services_page_inside_their_card_and_no_text_is_below_40px(
    ground_hall: LiveHall, page: Any, tmp_path: Path
) -> None:
    open_tv(page, ground_hall, "tv-ground")
    rows = page.locator("#waiting li")
    expect(rows).to_have_count(16)
    expect(page.locator("#waiting-page")).to_have_text(re.compile(r"^1/[2-8]$"))
    pages = int(page.locator("#waiting-page").inner_text().split("/")[1])

    # Pages turn by themselves (every second on this TV), and every row fits the card.
    shown_on_pages: set[str] = set()
    for number in range(1, pages + 1):
        page.wait_for_function(
            "(n) => document.getElementById('waiting-page').textContent.startsWith(n + '/')",
            arg=number,
        )
        boxes = page.evaluate(
            """() => {
          const card = document.querySelector(".tv-waiting").getBoundingClientRect();
          const rows = Array.from(document.querySelectorAll("#waiting li"))
            .filter((li) => !li.hidden);
          return {card: [card.left, card.top, card.right, card.bottom], rows: rows.map((li) => {
            const r = li.getBoundingClientRect();
            return [li.dataset.service, r.left, r.top, r.right, r.bottom];
          })};
        }"""
        )
        left, top, right, bottom = boxes["card"]
        assert boxes["rows"], number
        for service, r_left, r_top, r_right, r_bottom in boxes["rows"]:
            assert left <= r_left and r_right <= right, (service, boxes)
            assert top <= r_top and r_bottom <= bottom, (service, boxes)
            shown_on_pages.add(service)
        if number == pages:
            shoot(page, tmp_path, "tv-many-services.png")
    assert len(shown_on_pages) == 16

    # The long name ends in "…" inside its row instead of pushing the count out.
    long_row = page.locator('#waiting li[data-service="s12"] .svc')
    page.wait_for_function(
        "() => !document.querySelector('#waiting li[data-service=\"s12\"]').hidden"
    )
    assert long_row.evaluate("(el) => getComputedStyle(el).textOverflow") == "ellipsis"
    assert long_row.evaluate("(el) => el.scrollWidth > el.clientWidth")

    sizes = text_sizes(page)
    assert sizes[0][0] >= 40, sizes[:5]


def test_a_service_renamed_or_added_in_admin_reaches_the_tv_without_a_reload(
    ground_hall: LiveHall, page: Any
) -> None:
    open_tv(page, ground_hall, "tv-ground")
    row = page.locator('#waiting li[data-service="b"] .svc')
    expect(row).to_contain_text("不动产登记")
    page.evaluate("window.notReloaded = true")

    response = ground_hall.api("root", "PUT", "/admin/services/b", {"name": "不动产办证"})
    assert response.status_code == 200, response.text
    expect(row).to_contain_text("不动产办证", timeout=5_000)

    new = {"code": "visa", "name": "签证", "name_en": "Visas", "category": "出入境",
           "prefix": "V", "zone": "A区", "floor": 1}  # fmt: skip
    response = ground_hall.api("root", "POST", "/admin/services", new)
    assert response.status_code == 201, response.text
    expect(page.locator('#waiting li[data-service="visa"]')).to_have_count(1, timeout=5_000)
    assert page.evaluate("window.notReloaded === true")
