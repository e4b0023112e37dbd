"""Issuing rules: daily limits per ID card and phone, the green channel by age, the kiosk rate."""

from __future__ import annotations

from typing import Any

from tests.hall_server.hall import HallRig

from .conftest import printer_reports

ELDERLY = "11010519491231002X"  # born 1949-12-31: 76 on the test Monday
YOUNG = "11010519900307881X"  # born 1990-03-07


def take(hall: HallRig, who: str = "kiosk-1", path: str = "/kiosk/tickets", **body: Any) -> Any:
    return hall.post(who, path, {"service": "b", **body})


def test_an_id_card_takes_at_most_the_daily_limit_per_service(hall: HallRig, agent: Any) -> None:
    for _ in range(3):  # per_id_daily_limit = 3 (committed default)
        assert take(hall, id_number=YOUNG).status_code == 201
    refused = take(hall, id_number=YOUNG)
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "id_daily_limit" and "已达上限" in error["message"]
    assert take(hall, id_number=YOUNG, service="a").status_code == 201  # another service
    hall.clock.advance(days=1)
    printer_reports(hall, "kiosk-1", "ok")  # the agent's heartbeat of the new day
    assert take(hall, id_number=YOUNG).status_code == 201  # a new business day


def test_the_contract_endpoint_applies_the_id_limit_too(hall: HallRig) -> None:
    for _ in range(3):
        hall.issue("b", id_number=YOUNG)
    assert take(hall, path="/tickets", id_number=YOUNG).status_code == 429


def test_a_phone_number_takes_at_most_the_daily_limit_per_service(
    hall: HallRig, agent: Any
) -> None:
    for _ in range(3):
        assert take(hall, phone="13812345678").status_code == 201
    refused = take(hall, phone="13812345678")
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "phone_daily_limit"
    assert take(hall, phone="13912345678").status_code == 201


def test_staff_issuing_for_a_visitor_is_not_limited(hall: HallRig) -> None:
    for _ in range(4):
        assert take(hall, who="staff1", path="/tickets", id_number=YOUNG).status_code == 201


def test_an_elderly_id_card_takes_the_green_channel_and_a_young_one_does_not(
    hall: HallRig, agent: Any
) -> None:
    old = take(hall, id_number=ELDERLY).get_json()
    young = take(hall, id_number=YOUNG).get_json()
    assert old["priority"] is True and old["priority_kind"] == "老年人"
    assert young["priority"] is False and young["priority_kind"] == ""


def test_a_wrong_id_number_is_refused_with_the_reason(hall: HallRig, agent: Any) -> None:
    response = take(hall, id_number="110105199003078812")  # wrong check character
    assert response.status_code == 422 and "校验位" in response.get_json()["error"]["message"]


def test_a_kiosk_over_its_rate_gets_429_and_a_retry_of_an_answered_tap_does_not(
    hall: HallRig, agent: Any
) -> None:
    state = hall.app.extensions["hall"]
    server = state.settings.server.model_copy(update={"kiosk_rate_per_min": 3})
    state.settings = state.settings.model_copy(update={"server": server})
    for n in range(3):
        assert hall.post("kiosk-1", "/kiosk/tickets", {"service": "b"},
                         **{"Idempotency-Key": f"tap-{n}"}).status_code == 201  # fmt: skip
    refused = take(hall)
    assert (
        refused.status_code == 429 and refused.get_json()["error"]["code"] == "kiosk_rate_limited"
    )
    retry = hall.post("kiosk-1", "/kiosk/tickets", {"service": "b"}, **{"Idempotency-Key": "tap-2"})
    assert retry.status_code == 201 and retry.get_json()["number"] == "B003"
    assert take(hall, who="kiosk-2").status_code != 429  # the limit is per kiosk
    hall.clock.advance(minutes=1, seconds=1)
    assert take(hall).status_code == 201
