"""Both issue endpoints answer bad input alike: 400 for a body that is not a JSON object,
422 for one that parses but asks for nothing valid (docs/API.md, errors)."""

from __future__ import annotations

import pytest

from tests.hall_server.hall import HallRig

ISSUE_PATHS = ("/tickets", "/kiosk/tickets")


@pytest.mark.parametrize("path", ISSUE_PATHS)
@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"a"'])
def test_a_body_that_is_not_a_json_object_is_400(hall: HallRig, path: str, raw: str) -> None:
    response = hall.client.post(f"/api/v1{path}", data=raw, headers=hall.headers(
        "kiosk-1", **{"Content-Type": "application/json"}))  # fmt: skip
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("path", ISSUE_PATHS)
@pytest.mark.parametrize("body", [{}, {"service": ""}, {"service": 5}, {"nonsense": True}])
def test_a_json_body_that_fails_the_schema_is_422(
    hall: HallRig, path: str, body: dict[str, object]
) -> None:
    response = hall.post("kiosk-1", path, body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input" and " (" in error["message"]


def test_both_endpoints_say_the_same_when_no_service_is_chosen(hall: HallRig) -> None:
    answers = [hall.post("kiosk-1", path, {}).get_json()["error"] for path in ISSUE_PATHS]
    assert answers[0] == answers[1]
    assert answers[0]["message"] == "请选择事项 (choose a service, or give a booking code)."
