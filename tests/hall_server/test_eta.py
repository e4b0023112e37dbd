"""Position and ETA as visitors get them: the issue answer, the phone page, the services list
and the TV's queue table, all from the live hall; handling times learned from the day."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from hall_server.api.openapi import openapi_document
from hall_server.services import forecast as fc
from tests.live import LiveHall

from .hall import HallRig, build_hall

PRIOR_B_S = 8 * 60  # the small hall's configured mean for service b


def read_hall(hall: HallRig) -> fc.HallNow:
    with hall.ctx.db.read() as session:
        return fc.read_hall(hall.ctx, session.connection(), hall.clock.now)


def serve(hall: HallRig, window: int, minutes: float, who: str = "staff1") -> dict[str, Any]:
    called = hall.act(who, window, "call-next")
    hall.clock.advance(minutes=minutes)
    hall.act(who, window, "finish")
    return called


def told(hall: HallRig, eta: fc.Eta | None, service: str = "b") -> dict[str, Any]:
    """The ETA fields an answer carries for ``eta`` (a ticket of ``service``, now)."""
    layout = hall.ctx.layout
    return fc.eta_fields(eta, 0, layout.services[service], hall.clock.now, layout)


def eta_range(answer: dict[str, Any]) -> tuple[int, int]:
    low, high = answer["eta_range_s"]
    assert low <= answer["eta_s"] <= high
    return low, high


def test_learned_handling_replaces_a_wrong_prior_after_enough_visits(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    assert read_hall(hall).handling["b"].mean_s == pytest.approx(PRIOR_B_S)
    for _ in range(2):  # too few visits: the configured mean stays
        hall.issue("b")
        serve(hall, 3, 12)
    assert read_hall(hall).handling["b"].mean_s == pytest.approx(PRIOR_B_S)
    for _ in range(28):
        hall.issue("b")
        serve(hall, 3, 12)
    learned = read_hall(hall).handling["b"].mean_s
    assert learned == pytest.approx(12 * 60, rel=0.05)
    # and a new visitor is told it: one window, busy from now with a 12-minute visit, one
    # ahead — called after about two visits, not two configured 8-minute ones
    hall.issue("b")
    hall.act("staff1", 3, "call-next")
    hall.issue("b")
    mine = hall.issue("b")
    assert mine["people_ahead"] == 1
    assert mine["eta_s"] > 2 * PRIOR_B_S


def test_a_green_channel_ticket_is_told_it_goes_first(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    hall.issue("b")
    hall.act("staff1", 3, "call-next")  # the window is busy
    normal = [hall.issue("b") for _ in range(4)]
    assert [t["people_ahead"] for t in normal] == [0, 1, 2, 3]
    green = hall.post("boss", "/tickets", {"service": "b", "priority": True})
    assert green.status_code == 201, green.get_json()
    assert green.get_json()["people_ahead"] == 0
    # the normal tickets now have the green-channel one ahead of them
    token = normal[0]["token"]
    page = hall.client.get(f"/api/v1/public/tickets/{token}").get_json()
    assert page["people_ahead"] == 1


def test_every_answer_carries_the_eta_and_its_range(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    hall.issue("b")
    hall.act("staff1", 3, "call-next")
    issued = hall.issue("b")
    low, high = eta_range(issued)
    assert 0 <= low < high
    page = hall.client.get(f"/api/v1/public/tickets/{issued['token']}").get_json()
    assert page["people_ahead"] == 0 and eta_range(page)
    services = {s["code"]: s for s in hall.get("kiosk-1", "/services").get_json()["services"]}
    assert services["b"]["people_ahead"] == 1 and eta_range(services["b"])
    queues = {q["service"]: q for q in hall.get("boss", "/snapshot").get_json()["queues"]}
    assert eta_range(queues["b"]) == eta_range(services["b"])
    staff_view = hall.get("boss", f"/tickets/{issued['id']}").get_json()
    assert staff_view["people_ahead"] == 0 and eta_range(staff_view)


def test_with_no_window_open_the_eta_comes_from_the_schedule(hall: HallRig) -> None:
    # 10:00 on a Monday, nobody at a window. Service a is open 08:30–12:00 and 13:30–17:30:
    # the schedule's next opening today is 13:30, so a visitor is told from then on, not a
    # guess of a quarter of an hour.
    first = hall.issue("a")
    low, high = eta_range(first)
    assert low == high == first["eta_s"] == 3.5 * 3600
    # Service b is open round the clock, but the windows that serve it open by the schedule
    # only with a's afternoon (windows 1 and 2 serve a too; window 3, b's own, has no
    # opening in the schedule): b's visitors are told from 13:30 as well.
    hall.issue("b")
    second = hall.issue("b")
    # ahead of it: the first b and the a ticket (window 2 prefers a)
    assert second["people_ahead"] == 2 and second["eta_s"] >= 3.5 * 3600
    services = {s["code"]: s for s in hall.get("kiosk-1", "/services").get_json()["services"]}
    assert services["a"]["eta_s"] == 3.5 * 3600 and services["b"]["eta_s"] >= 3.5 * 3600
    # a window opens: b has a wait again
    hall.act("staff1", 3, "open")
    third = hall.issue("b")
    assert third["eta_s"] is not None and eta_range(third)


def test_a_called_ticket_has_no_eta(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    ticket = hall.issue("b")
    hall.act("staff1", 3, "call-next")
    page = hall.client.get(f"/api/v1/public/tickets/{ticket['token']}").get_json()
    assert page["status"] == "called" and page["eta_s"] is None and page["eta_range_s"] is None


def test_the_openapi_document_describes_the_eta_fields() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for name in ("Ticket", "PublicTicket"):
        fields = schemas[name]["properties"]
        assert {"people_ahead", "eta_s", "eta_range_s", "eta_past_closing"} <= set(fields), name
        assert fields["eta_range_s"]["anyOf"][0]["minItems"] == 2
    service = schemas["Services"]["properties"]["services"]["items"]["properties"]
    assert {"eta_s", "eta_range_s", "eta_past_closing", "people_ahead"} <= set(service)
    queue = schemas["Snapshot"]["properties"]["queues"]["items"]["properties"]
    assert {"eta_s", "eta_range_s", "eta_past_closing"} <= set(queue)


@pytest.mark.postgres
def test_the_forecast_reads_postgresql_too(pg_url: str, tmp_path: Path) -> None:
    rig = build_hall(pg_url, tmp_path / "var")
    try:
        rig.act("staff1", 3, "open")
        rig.issue("b")
        rig.act("staff1", 3, "call-next")
        normal = [rig.issue("b") for _ in range(3)]
        assert [t["people_ahead"] for t in normal] == [0, 1, 2]
        low, high = eta_range(normal[-1])
        assert 0 < low < high
        services = {s["code"]: s for s in rig.get("kiosk-1", "/services").get_json()["services"]}
        assert services["b"]["people_ahead"] == 3
    finally:
        rig.ctx.db.dispose()


def test_a_long_queue_is_answered_without_replaying_it(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    hall.act("staff2", 2, "open")
    for _ in range(fc.QUEUE_READ):
        hall.issue("b")
    late = hall.issue("b")
    assert late["people_ahead"] == fc.QUEUE_READ
    eta_range(late)
    # windows 3 and 2 serve b; 2 would prefer a (3 to 1), but nobody waits for a
    expected = (fc.QUEUE_READ + 1) * PRIOR_B_S / 2
    assert 0.8 * expected < late["eta_s"] < 1.2 * expected
    page = hall.client.get(f"/api/v1/public/tickets/{late['token']}").get_json()
    assert page["people_ahead"] == fc.QUEUE_READ
    assert 0.8 * expected < page["eta_s"] < 1.2 * expected and eta_range(page)


@pytest.mark.browser
def test_the_tv_queue_table_shows_the_wait_range(live_hall: LiveHall, page: Any) -> None:
    def api(who: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = live_hall.api(who, method, path, body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    api("boss", "POST", "/windows/3/open")
    for _ in range(3):
        api("kiosk-1", "POST", "/tickets", {"service": "b"})
    api("boss", "POST", "/windows/3/call-next")  # window 3 busy, two waiting behind
    services = {s["code"]: s for s in api("kiosk-1", "GET", "/services")["services"]}
    low, high = (max(1, round(s / 60)) for s in services["b"]["eta_range_s"])
    assert high > low
    page.goto(live_hall.url(f"/display/tv-1?token={live_hall.tokens['tv-1']}"))
    cell = page.locator('#waiting li[data-service="b"] .eta')
    zh, en = cell.locator(".eta-zh"), cell.locator(".eta-en")
    expect(zh).to_have_text(re.compile(r"^预计等候 \d+–\d+分钟$"), timeout=10_000)
    expect(en).to_have_text(re.compile(r"\d+–\d+ min$"))
    # the range the services list gives (read again in the TV's minute: a second may pass)
    shown = [int(n) for n in re.findall(r"\d+", zh.inner_text())[:2]]
    assert re.findall(r"\d+", en.inner_text())[:2] == [str(n) for n in shown]
    assert abs(shown[0] - low) <= 1 and abs(shown[1] - high) <= 1


def test_handling_is_learned_per_hour_of_the_day(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    for _ in range(10):  # the morning's visits take 12 minutes (10:00–12:00)
        hall.issue("b")
        serve(hall, 3, 12)
    hall.clock.advance(minutes=120)  # 14:00: the afternoon's take 2
    for _ in range(20):
        hall.issue("b")
        serve(hall, 3, 2)
    hall.clock.advance(hours=23, minutes=30)  # the next day, 14:10
    now_hour = read_hall(hall).handling["b"].mean_s
    whole_day = fc.handling_book(hall.ctx).estimates["b"].mean_s
    assert now_hour == pytest.approx(2 * 60, rel=0.1)  # the past days' 14:00–15:00
    assert whole_day > 2 * now_hour  # the day's mean, 12- and 2-minute visits together


def test_issues_in_a_row_are_told_what_a_fresh_read_would_tell(
    hall: HallRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    hall.act("staff1", 3, "open")
    hall.act("staff2", 2, "open")
    hall.issue("b")
    hall.act("staff1", 3, "call-next")  # window 3 busy, window 2 idle
    reads: list[str | None] = []
    real_read = fc.read_hall

    def counted(*args: Any, **kwargs: Any) -> fc.HallNow:
        reads.append(kwargs.get("for_service"))
        return real_read(*args, **kwargs)

    monkeypatch.setattr(fc, "read_hall", counted)
    answers = [hall.issue(service) for service in ("b", "a", "b", "b", "a", "b")]
    assert reads == ["b", "a"]  # one read per service; the other issues reuse it
    monkeypatch.setattr(fc, "read_hall", real_read)
    with hall.ctx.db.read() as session:
        lean = fc.read_hall(hall.ctx, session.connection(), hall.clock.now, for_service="b")
    last = answers[-1]
    me = next(c for c in lean.waiting if c.id == last["id"])
    fresh = told(hall, fc.forecast_ticket(lean, me, hall.ctx))
    assert {k: last[k] for k in fresh} == fresh
    # a call in between is a change the reused read did not see: the next issue reads again
    hall.act("staff2", 2, "call-next")
    after = hall.issue("b")
    with hall.ctx.db.read() as session:
        lean = fc.read_hall(hall.ctx, session.connection(), hall.clock.now, for_service="b")
    me = next(c for c in lean.waiting if c.id == after["id"])
    fresh = told(hall, fc.forecast_ticket(lean, me, hall.ctx))
    assert {k: after[k] for k in fresh} == fresh


def test_before_anyone_came_today_the_past_days_arrivals_are_expected(hall: HallRig) -> None:
    # the past days brought 12 green-channel visitors an hour to b at 10:00–11:00
    past = {("b", True, 10): 12 / 3600}
    with hall.ctx.db.read() as session:
        day = fc.business_day(hall.clock.now, hall.ctx.layout.tz)
        rates = fc._arrival_rates(session.connection(), hall.ctx.hall_id, day,
                                  hall.ctx.layout, hall.clock.now, past)  # fmt: skip
    assert rates[("b", True)] == pytest.approx(12 / 3600)
    # and a normal b visitor is told the green channel may go first: later than without
    hall.act("staff1", 3, "open")
    hall.issue("b")
    hall.act("staff1", 3, "call-next")
    waiting = read_hall(hall)
    me = fc.new_ticket("b", hall.clock.now)
    plain = fc.forecast_ticket(waiting, me, hall.ctx)
    waiting.rates = rates
    expecting = fc.forecast_ticket(waiting, me, hall.ctx)
    assert plain is not None and expecting is not None
    assert expecting.high_s > plain.high_s


def test_a_paused_window_is_expected_back_after_the_hall_s_usual_pause(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    for _ in range(3):  # this hall's pauses last 40 minutes
        hall.act("staff1", 3, "pause", reason="会议")
        hall.clock.advance(minutes=40)
        hall.act("staff1", 3, "resume")
        hall.clock.advance(minutes=5)
    hall.act("staff1", 3, "pause", reason="会议")
    hall.clock.advance(minutes=10)
    waiting = hall.issue("b")  # window 3 is the only one serving b that is not closed
    assert waiting["eta_s"] == pytest.approx(30 * 60, abs=60)  # 40 min less the 10 gone
    book = fc.handling_book(hall.ctx).pauses
    assert book.lengths == [2400.0, 2400.0, 2400.0]
    assert book.mean_s() == pytest.approx((3 * 15 + 3 * 40) / 6 * 60)
