"""The kiosk fits its services on a 1080×1920 portrait screen, however many there are.

16 services (one with a 20-character name) are paged: every card of a page lies whole on the
screen, the pager says where the visitor is and that there is more, every service is reached
by "下一页 / Next", and a long name ends in "…" on its card but reads whole on the next screen.

Set HALL_DOC_SCREENSHOTS=1 to (re)write docs/screenshots/kiosk-many-services*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kiosk.test_kiosk_pages import TIMEOUT_MS, Agents, open_kiosk, shot
from tests.kiosk.test_kiosk_pages import kiosk as kiosk  # the 1080×1920 page (a fixture)
from tests.live import SMALL_HALL, LiveHall, start_live_hall
from tests.support.axe import small_touch_targets
from tests.support.pages import LONG_NAME, many_services

pytestmark = pytest.mark.browser


def many_services_hall(folder: Path) -> Path:
    """The small test hall with 13 more services (16 in all), one with a long name."""
    path = folder / "many_services.toml"
    path.write_text(SMALL_HALL.read_text(encoding="utf-8") + many_services(), encoding="utf-8")
    return path


@pytest.fixture
def many_hall(tmp_path: Path) -> Iterator[LiveHall]:
    hall = start_live_hall(tmp_path, config=many_services_hall(tmp_path))
    yield hall
    hall.stop()


@pytest.fixture
def many_agents(many_hall: LiveHall, tmp_path: Path) -> Iterator[Agents]:
    agents = Agents(many_hall, tmp_path / "printed")
    yield agents
    agents.stop()


# Every service card of the page as the visitor sees it: its box, the screen's box, and
# whether any of its lines runs out of the card.
CARDS = """() => {
  const screen = document.getElementById("screen").getBoundingClientRect();
  return [...document.querySelectorAll(".service")].map((card) => {
    const box = card.getBoundingClientRect();
    const spills = [...card.querySelectorAll(".name, .meta, .reason")].some((part) => {
      const r = part.getBoundingClientRect();
      return r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5 || r.right > box.right + 0.5;
    });
    const primary = card.querySelector(".name .primary");
    return {
      code: card.dataset.service, top: box.top, bottom: box.bottom, left: box.left,
      right: box.right, height: box.height, width: box.width, spills,
      screenTop: screen.top, screenBottom: screen.bottom,
      truncated: primary.scrollHeight > primary.clientHeight + 1,
      name: primary.textContent,
    };
  });
}"""


def whole_on_screen(cards: list[dict[str, Any]]) -> list[str]:
    """The cards that are cut off by the screen or whose text runs out of them."""
    bad = []
    for card in cards:
        inside = (
            card["top"] >= card["screenTop"] - 0.5
            and card["bottom"] <= min(card["screenBottom"], 1920) + 0.5
            and card["left"] >= 0
            and card["right"] <= 1080 + 0.5
        )
        if not inside or card["spills"] or card["height"] < 120:
            bad.append(f"{card['code']}: {card}")
    return bad


def test_sixteen_services_page_whole_on_one_screen_and_every_one_is_reached(
    many_hall: LiveHall, many_agents: Agents, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    many_agents.start("kiosk-1")
    open_kiosk(kiosk, many_hall)
    expect(kiosk.locator("#printer-banner")).to_be_hidden(timeout=TIMEOUT_MS)
    services = many_hall.api("root", "GET", "/services").json()["services"]
    codes = [s["code"] for s in services]
    assert len(codes) == 16

    expect(kiosk.locator("#page-count")).to_contain_text("第 1 / 2 页")
    expect(kiosk.locator("#next .primary")).to_have_text("下一页")
    expect(kiosk.locator("#next .more")).to_have_text("还有6项")
    expect(kiosk.locator("#prev")).to_be_disabled()
    shot(kiosk, "many-services")
    seen: list[str] = []
    for page_no in (1, 2):
        cards = kiosk.evaluate(CARDS)
        assert cards, f"page {page_no} shows no service"
        assert not whole_on_screen(cards), whole_on_screen(cards)
        small = small_touch_targets(kiosk, 48)
        assert not small, small
        seen += [card["code"] for card in cards]
        if page_no == 1:
            kiosk.click("#next")
            expect(kiosk.locator("#page-count")).to_contain_text("第 2 / 2 页")
    shot(kiosk, "many-services-2")
    expect(kiosk.locator("#next")).to_be_disabled()
    assert sorted(seen) == sorted(codes)  # each service once, none left out

    long_code = next(s["code"] for s in services if s["name"] == LONG_NAME)
    long_card = next(c for c in kiosk.evaluate(CARDS) if c["code"] == long_code)
    assert long_card["truncated"], "the long name should end in … on its card"
    kiosk.click(f'.service[data-service="{long_code}"]')
    title = kiosk.locator("h1.title .primary")
    expect(title).to_have_text(LONG_NAME)  # the confirm step names it whole
    assert kiosk.evaluate(
        "() => { const t = document.querySelector('h1.title .primary');"
        " return t.scrollWidth <= t.clientWidth + 1 && t.scrollHeight <= t.clientHeight + 1; }"
    )
    kiosk.click("#back")
    expect(kiosk.locator("#page-count")).to_contain_text("第 2 / 2 页")  # still where it was
    kiosk.click("#prev")
    kiosk.click("#lang")
    expect(kiosk.locator("#page-count .primary")).to_have_text("Page 1 of 2")
    shot(kiosk, "many-services-en")


def test_a_hall_with_few_services_shows_them_on_one_page_without_pager(
    live_hall: LiveHall, kiosk: Any
) -> None:
    from playwright.sync_api import expect

    open_kiosk(kiosk, live_hall)
    expect(kiosk.locator(".service")).to_have_count(3)
    expect(kiosk.locator(".pager")).to_have_count(0)
    assert not whole_on_screen(kiosk.evaluate(CARDS))


def test_under_a_printer_banner_and_long_notices_every_card_still_fits_whole(
    tmp_path: Path, kiosk: Any
) -> None:
    """The demo hall (13 services, four long notices) on a kiosk whose printer is not there:
    the banner and the notices take room, so fewer cards come to a page, each whole."""
    from playwright.sync_api import expect

    from tests.live import DEMO_HALL

    hall = start_live_hall(tmp_path, config=DEMO_HALL)
    try:
        open_kiosk(kiosk, hall, "kiosk-1f-a")
        expect(kiosk.locator("#printer-banner")).to_be_visible(timeout=TIMEOUT_MS)
        for mode in ("standard", "elderly"):
            if mode == "elderly":
                kiosk.click("#elderly")
                expect(kiosk.locator("#elderly")).to_have_attribute("aria-pressed", "true")
            seen: list[str] = []
            while True:
                cut = whole_on_screen(kiosk.evaluate(CARDS))
                assert not cut, (mode, cut)
                expect(kiosk.locator("#next")).to_be_in_viewport(ratio=1.0)
                seen += [card["code"] for card in kiosk.evaluate(CARDS)]
                if kiosk.locator("#next").is_disabled():
                    break
                kiosk.click("#next")
            assert len(seen) == len(set(seen)) == 13, (mode, seen)
            kiosk.evaluate("() => kiosk.reset()")
    finally:
        hall.stop()


# The issued ticket's QR code as the visitor sees it: its box, and the part of the screen
# left visible above the actions (they stay in view at its bottom, over what scrolls).
QR_BOX = """() => {
  const qr = document.getElementById("qr").getBoundingClientRect();
  const screen = document.getElementById("screen").getBoundingClientRect();
  const actions = document.querySelector("#screen .actions").getBoundingClientRect();
  return {top: qr.top, bottom: qr.bottom, left: qr.left, right: qr.right, width: qr.width,
          screenTop: screen.top, screenBottom: Math.min(screen.bottom, actions.top, 1920)};
}"""


def test_the_issued_tickets_qr_code_is_whole_on_screen_under_long_notices(
    tmp_path: Path, kiosk: Any
) -> None:
    """The demo hall's four long notices take room at the bottom: the QR code a visitor scans
    to follow the queue on a phone is still whole without scrolling (a code cut by the edge
    of the screen does not scan), in both modes."""
    from playwright.sync_api import expect

    from tests.live import DEMO_HALL

    text = DEMO_HALL.read_text(encoding="utf-8")
    anchor = 'code = "shebao"\n'  # 社会保障, open round the clock here: the test runs at any hour
    assert text.count(anchor) == 1
    config = tmp_path / "demo.toml"
    config.write_text(
        text.replace(
            anchor, anchor + 'hours = [["00:00", "24:00"]]\nweekdays = [1, 2, 3, 4, 5, 6, 7]\n'
        ),
        encoding="utf-8",
    )
    hall = start_live_hall(tmp_path, config=config)
    agents = Agents(hall, tmp_path / "printed")
    try:
        agents.start("kiosk-1f-a")
        open_kiosk(kiosk, hall, "kiosk-1f-a")
        for mode in ("standard", "elderly"):
            if mode == "elderly":
                kiosk.click("#elderly")
                expect(kiosk.locator("#elderly")).to_have_attribute("aria-pressed", "true")
            kiosk.click('.service[data-service="shebao"]')
            kiosk.click("#take")
            expect(kiosk.locator("#number")).to_be_visible(timeout=TIMEOUT_MS)
            kiosk.wait_for_function("() => document.getElementById('qr').naturalWidth > 0")
            box = kiosk.evaluate(QR_BOX)
            assert box["width"] >= 200, (mode, box)
            assert box["top"] >= box["screenTop"] - 0.5, (mode, box)
            assert box["bottom"] <= box["screenBottom"] + 0.5, (mode, box)
            assert box["left"] >= 0 and box["right"] <= 1080, (mode, box)
            shot(kiosk, f"issued-qr-{mode}")
            kiosk.evaluate("() => kiosk.reset()")
    finally:
        agents.stop()
        hall.stop()
