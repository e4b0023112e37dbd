"""Issuing and reading tickets over HTTP, as a kiosk and a visitor's phone see it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from hall_server.models import LogEvent, Ticket

from ..hall import HallRig


def count(hall: HallRig, model: type) -> int:
    with hall.ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_kiosk_issues_numbered_tickets_with_people_ahead(hall: HallRig) -> None:
    first = hall.issue("a")
    second = hall.issue("a")
    other = hall.issue("b")
    assert (first["number"], second["number"], other["number"]) == ("A001", "A002", "B001")
    assert (first["people_ahead"], second["people_ahead"]) == (0, 1)
    assert first["status"] == "waiting" and first["service"] == "a"
    assert len(first["token"]) >= 32 and first["token"] != second["token"]
    assert first["issued_at"].startswith("2026-11-23T02:00")


def test_eta_counts_open_windows_serving_the_service(hall: HallRig) -> None:
    # no window open yet: an answer from the hall's hours, not null (docs/SIMULATION.md)
    assert hall.issue("b")["eta_s"] is not None
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "call-next")  # window 3 is busy with B001
    first, second = hall.issue("b"), hall.issue("b")
    assert (first["people_ahead"], second["people_ahead"]) == (0, 1)
    assert 0 < first["eta_s"] < second["eta_s"]  # one window, 8 min prior: a visit further
    hall.act("staff2", 2, "open")  # a second window for b: it calls B002 at once
    third = hall.issue("b")
    assert third["people_ahead"] == 2 and third["eta_s"] < second["eta_s"]


def test_numbers_continue_across_range_and_stop_at_the_daily_cap(hall: HallRig) -> None:
    numbers = [hall.issue("c")["number"] for _ in range(5)]
    assert numbers == ["C100", "C101", "C102", "C103", "C104"]
    refused = hall.post("kiosk-1", "/tickets", {"service": "c"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "numbers_exhausted"
    assert "出入境" in refused.get_json()["error"]["message"]


def test_numbers_start_again_on_the_next_business_day_in_shanghai(hall: HallRig) -> None:
    assert hall.issue("b")["number"] == "B001"
    hall.clock.advance(hours=14)  # 00:00 Tuesday in Shanghai, still Monday in UTC
    assert hall.issue("b")["number"] == "B001"


def test_service_outside_its_hours_says_when_it_opens(hall: HallRig) -> None:
    hall.clock.advance(hours=2, minutes=30)  # 12:30 Shanghai: lunch break for service a
    response = hall.post("kiosk-1", "/tickets", {"service": "a"})
    assert response.status_code == 409
    assert response.get_json()["error"] == {
        "code": "service_closed",
        "message": "社会保障将于13:30开始取号 (tickets from 13:30).",
    }


def test_same_idempotency_key_returns_the_first_ticket_and_issues_nothing(hall: HallRig) -> None:
    key = {"Idempotency-Key": "kiosk-1-7f3a"}
    first = hall.post("kiosk-1", "/tickets", {"service": "a"}, **key)
    events = count(hall, LogEvent)
    again = hall.post("kiosk-1", "/tickets", {"service": "a"}, **key)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert count(hall, Ticket) == 1 and count(hall, LogEvent) == events
    assert hall.issue("a")["number"] == "A002"


@pytest.mark.parametrize(
    ("who", "body", "raw", "status", "code", "says"),
    [
        ("kiosk-1", {"service": "nope"}, None, 404, "not_found", "没有此事项"),
        ("kiosk-1", None, b"{not json", 400, "bad_request", "JSON"),
        ("kiosk-1", None, b"[1, 2]", 400, "bad_request", "JSON"),
        ("kiosk-1", {"service": "a", "colour": "red"}, None, 422, "invalid_input", "colour"),
        ("kiosk-1", {"service": "a", "phone": "12345"}, None, 422, "invalid_input", "手机号"),
        ("kiosk-1", {"service": "a", "id_number": "123"}, None, 422, "invalid_input", "身份证"),
        ("kiosk-1", {}, None, 422, "invalid_input", "service"),  # as at /kiosk/tickets
        ("tv-1", {"service": "a"}, None, 403, "forbidden", "无权"),
        (None, {"service": "a"}, None, 401, "unauthorized", "Bearer"),
        ("bad", {"service": "a"}, None, 401, "unauthorized", "invalid"),
    ],
    ids=["unknown-service", "malformed-json", "not-an-object", "unknown-field", "bad-phone",
         "bad-id", "no-service", "display-may-not-issue", "missing-token", "wrong-token"],
)  # fmt: skip
def test_bad_requests_get_a_clear_error_and_change_nothing(
    hall: HallRig,
    who: str | None,
    body: object,
    raw: bytes | None,
    status: int,
    code: str,
    says: str,
) -> None:
    hall.tokens["bad"] = "d.not-a-real-token"
    headers = {"Content-Type": "application/json"}
    if who:
        headers |= hall.headers(who)
    data = raw if raw is not None else json.dumps(body).encode()
    response = hall.client.post("/api/v1/tickets", data=data, headers=headers)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and says in error["message"]
    assert count(hall, Ticket) == 0 and count(hall, LogEvent) == 0


def test_phone_and_id_are_stored_masked_and_hashed_never_in_full(hall: HallRig) -> None:
    ticket = hall.issue("a", phone="13812345678", id_number="11010519491231002X")
    assert ticket["phone"] == "138****5678"
    assert ticket["id_number"] == "110105********002X"
    with hall.ctx.db.read() as session:
        row = session.get(Ticket, ticket["id"])
        assert row is not None
        stored = " ".join(str(v) for v in vars(row).values())
    assert "13812345678" not in stored and "11010519491231002X" not in stored


def test_visitor_phone_page_shows_status_place_and_window_without_login(hall: HallRig) -> None:
    hall.issue("b")
    mine = hall.issue("b", phone="13812345678")
    page = hall.client.get(f"/api/v1/public/tickets/{mine['token']}").get_json()
    assert (page["number"], page["status"], page["people_ahead"]) == ("B002", "waiting", 1)
    assert "phone" not in page and "staff_id" not in page
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "call-next")
    hall.act("staff1", 3, "finish")
    hall.act("staff1", 3, "call-next")
    page = hall.client.get(f"/api/v1/public/tickets/{mine['token']}").get_json()
    assert (page["status"], page["window"], page["state_name"]) == ("called", 3, "已叫号")
    assert hall.client.get("/api/v1/public/tickets/guess").status_code == 404


def test_visitor_cancels_a_waiting_ticket_and_the_queue_moves_up(hall: HallRig) -> None:
    mine = hall.issue("b")
    after = hall.issue("b")
    response = hall.client.post(f"/api/v1/public/tickets/{mine['token']}/cancel")
    assert response.get_json()["status"] == "cancelled"
    assert hall.get("boss", f"/tickets/{after['id']}").get_json()["people_ahead"] == 0
    again = hall.client.post(f"/api/v1/public/tickets/{mine['token']}/cancel")
    assert again.status_code == 403


def test_openapi_document_names_every_contract_path(hall: HallRig) -> None:
    doc = hall.client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/tickets", "/windows/{number}/{action}", "/snapshot", "/events",
                 "/public/tickets/{token}", "/auth/login", "/services"):  # fmt: skip
        assert path in doc["paths"]
    assert "IssueBody" in doc["components"]["schemas"]


def test_openapi_document_lists_every_route_of_the_api(hall: HallRig) -> None:
    from hall_server.api.openapi import openapi_path

    doc = hall.client.get("/api/v1/openapi.json").get_json()
    for rule in hall.app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = openapi_path(rule.rule.removeprefix("/api/v1"))
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                assert method.lower() in doc["paths"].get(path, {}), (method, path)
