"""The TV's ETA line (预计等候) reads in hours when long and is never cut at 1920×1080."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.display.halls import display_hall
from tests.display.test_tv_page import issue, open_tv
from tests.live import LiveHall, start_live_hall
from tests.support.pages import many_services, shoot, text_sizes

pytestmark = pytest.mark.browser


# A TV showing the whole hall; its waiting list turns a page every 2 s.
ETA_TV = """
[[hall.devices]]
name = "tv-eta"
kind = "display"
[hall.devices.options]
page_s = 2
"""

MIN = 60
# What /api/v1/services tells the TV (the page reads it when it starts, then every minute);
# whether a wait ends after the service's closing is the hall's to say (eta_past_closing).
WAITS: dict[str, dict[str, Any]] = {
    # 16:00 + 2 h ends after 17:30
    "a": {"eta_s": 120 * MIN, "eta_range_s": [90 * MIN, 150 * MIN], "eta_past_closing": True},
    "b": {"eta_s": 17 * MIN, "eta_range_s": [12 * MIN, 25 * MIN]},
    # ends 17:20
    "c": {"eta_s": 80 * MIN, "eta_range_s": [70 * MIN, 100 * MIN], "eta_past_closing": False},
    "s0": {"eta_s": 502 * MIN, "eta_range_s": [430 * MIN, 580 * MIN]},
    "s1": {"eta_s": 900 * MIN, "eta_range_s": [800 * MIN, 1000 * MIN]},
    "s2": {"eta_s": 12 * MIN, "eta_range_s": [0, 54 * MIN]},  # the window may call at once
}
SHOWN = {
    "a": "预计等候超出今日办理时间past closing",
    "b": "预计等候 12–25分钟12–25 min",
    "c": "预计等候 1小时10分–1小时40分1 h 10 min–1 h 40 min",
    "s0": "预计等候约8小时30分钟about 8 h 30 min",
    "s1": "预计等候12小时以上over 12 h",
    "s2": "预计等候 54分钟以内within 54 min",
}

# Each ETA line of the rows shown: its size, and whether anything of it is cut or spills.
MEASURE = """() => Array.from(document.querySelectorAll("#waiting li")).filter((li) => !li.hidden)
  .map((li) => {
    const eta = li.querySelector(".eta");
    const box = eta.getBoundingClientRect();
    const row = li.getBoundingClientRect();
    const parts = Array.from(eta.children).map((part) => {
      const r = part.getBoundingClientRect();
      return {text: part.textContent, left: r.left, right: r.right, bottom: r.bottom,
              scroll: part.scrollWidth, client: part.clientWidth,
              size: parseFloat(getComputedStyle(part).fontSize),
              overflow: getComputedStyle(part).textOverflow};
    });
    return {service: li.dataset.service, scroll: eta.scrollWidth, client: eta.clientWidth,
            left: box.left, right: box.right, rowRight: row.right, rowBottom: row.bottom,
            parts, text: eta.textContent, count: li.querySelector(".count").textContent};
  })"""


@pytest.fixture
def busy_hall(tmp_path: Path) -> Any:
    """The small hall and 13 more services; 123 people wait for b, 12 for s0."""
    hall = start_live_hall(tmp_path, config=display_hall(tmp_path, ETA_TV, many_services()))
    for _ in range(123):
        response = hall.api("boss", "POST", "/tickets", {"service": "b"})
        assert response.status_code == 201, response.text
    for _ in range(12):
        issue(hall, "s0")
    yield hall
    hall.stop()


def tell_waits(page: Any, hall_time: str, waits: dict[str, dict[str, Any]]) -> None:
    """Answer the TV's reads as a hall at ``hall_time`` telling ``waits`` would."""

    def services(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        for service in body["services"]:
            service.update(waits.get(service["code"], {}))
        route.fulfill(response=response, json=body)

    def config(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        body["server_time"] = hall_time
        route.fulfill(response=response, json=body)

    page.route("**/api/v1/services", services)
    page.route("**/api/v1/display/config*", config)


def test_long_waits_read_in_hours_and_no_eta_line_is_cut_at_1920x1080(
    busy_hall: LiveHall, page: Any, tmp_path: Path
) -> None:
    # Monday 16:00 in the hall: 社会保障 (a) issues until 17:30; the others round the clock
    tell_waits(page, "2026-11-23T16:00:00+08:00", WAITS)
    open_tv(page, busy_hall, "tv-eta")
    expect(page.locator("#clock-time")).to_have_text(re.compile(r"^16:0"))  # the hall's time
    expect(page.locator('#waiting li[data-service="b"] .count')).to_have_text("123人")
    expect(page.locator('#waiting li[data-service="s0"] .count')).to_have_text("12人")
    for code, text in SHOWN.items():
        expect(page.locator(f'#waiting li[data-service="{code}"] .eta')).to_have_text(text)
    shoot(page, tmp_path, "tv-long-waits.png")

    # Page by page (they turn by themselves), every ETA line shown lies whole in its row.
    pages = int(page.locator("#waiting-page").inner_text().split("/")[1])
    rows: dict[str, Any] = {}
    for number in [*range(2, pages + 1), 1]:
        page.wait_for_function(
            "(n) => document.getElementById('waiting-page').textContent.startsWith(n + '/')",
            arg=number,
        )
        rows.update({row["service"]: row for row in page.evaluate(MEASURE)})
    assert set(SHOWN) <= set(rows), rows.keys()
    for code in SHOWN:
        row = rows[code]
        assert row["text"] == SHOWN[code], row  # measured as shown
        assert row["scroll"] <= row["client"], row  # nothing spills out of the line
        for part in row["parts"]:
            assert part["scroll"] <= part["client"], row  # no part is cut ("…")
            assert row["left"] - 0.5 <= part["left"] and part["right"] <= row["right"] + 0.5, row
            assert part["right"] <= row["rowRight"] and part["bottom"] <= row["rowBottom"], row
            assert part["size"] >= 40 and part["overflow"] != "ellipsis", row
    assert "502" not in page.locator("#waiting").inner_text()
    # Chinese and English on one line when both fit ("· " between them), else one line each
    assert rows["b"]["parts"][1]["left"] > rows["b"]["parts"][0]["right"]
    sizes = text_sizes(page)
    assert sizes[0][0] >= 40, sizes[:5]
    page.unroute_all(behavior="ignoreErrors")  # the page reads on while the test ends


def test_a_wait_past_closing_promises_no_figure_but_a_short_one_keeps_its_minutes(
    busy_hall: LiveHall, page: Any
) -> None:
    # 17:00: 50 minutes end after 17:30 but are still told in minutes; an hour in a service
    # open round the clock has no closing to be past
    late = {"a": {"eta_s": 50 * MIN, "eta_range_s": [40 * MIN, 55 * MIN], "eta_past_closing": True},
            "s1": {"eta_s": 60 * MIN, "eta_range_s": [40 * MIN, 80 * MIN],
                   "eta_past_closing": False}}  # fmt: skip
    tell_waits(page, "2026-11-23T17:00:00+08:00", late)
    open_tv(page, busy_hall, "tv-eta")
    expect(page.locator('#waiting li[data-service="a"] .eta')).to_have_text(
        "预计等候 40–55分钟40–55 min"
    )
    expect(page.locator('#waiting li[data-service="s1"] .eta')).to_have_text(
        "预计等候 40分钟–1小时20分40 min–1 h 20 min"
    )
    page.unroute_all(behavior="ignoreErrors")
