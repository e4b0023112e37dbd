"""The role × route matrix, from the OpenAPI document: each operation's ``x-roles`` says who
may call it; every caller is tried on every operation of the running app with a real token.

A caller named in ``x-roles`` must get past the role checks (any answer but 401/403); any
other caller gets 401 when it has no staff or device token and 403 when it has one. A new
route without a decision, or missing from the document, fails here.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs  # schemathesis's JSON Schema validator
import pytest

from hall_server.api.openapi import CALLERS, openapi_document, openapi_path

from ..hall import PASSWORD, HallRig

DOCUMENT = openapi_document()
COMPONENTS = {"components": DOCUMENT["components"]}
OPERATIONS = [(method, path) for path, ops in DOCUMENT["paths"].items() for method in ops]
TOKEN_OF = {"kiosk": "kiosk-1", "display": "tv-1", "agent": "keypad-2", "evaluator": "eval-3",
            "staff": "staff1", "supervisor": "boss", "admin": "root"}  # fmt: skip
NO_TOKEN = ("anonymous", "ticket")  # a ticket token is no login: it only opens its own ticket
# Bodies that pass validation, so a check made after the body is read is reached too.
BODIES: dict[str, Any] = {
    "LoginBody": {"login": "staff2", "password": PASSWORD},
    "IssueBody": {"service": "b"},
    "KioskIssueBody": {"service": "b"},
    "EvaluationBody": {"score": 5},
    "DeviceStatusBody": {"part": "printer", "status": {"health": "ok"}},
    "NoticesBody": {"notices": ["今日14:00系统维护"]},
}


def test_every_operation_has_a_decision_for_every_caller() -> None:
    for method, path in OPERATIONS:
        roles = DOCUMENT["paths"][path][method].get("x-roles")
        assert roles, f"{method.upper()} {path} has no x-roles: add it to ROUTES with its roles"
        assert set(roles) <= set(CALLERS), (method, path, roles)


def test_the_document_and_the_app_have_the_same_routes(hall: HallRig) -> None:
    served = {
        (method.lower(), openapi_path(rule.rule.removeprefix("/api/v1")))
        for rule in hall.app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert served - set(OPERATIONS) == set(), "routes of the app missing from ROUTES"
    assert set(OPERATIONS) - served == set(), "ROUTES names routes the app does not have"


def served_at_window_3(hall: HallRig) -> dict[str, Any]:
    """A visit finished at window 3 (staff1's), and a ticket still waiting behind it."""
    ticket = hall.issue("b")
    waiting = hall.issue("b")
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "call-next")
    hall.act("staff1", 3, "finish")
    at_2 = hall.issue("a")  # and one the keypad of window 2 served
    hall.act("keypad-2", 2, "open")
    hall.act("keypad-2", 2, "call-next")
    hall.act("keypad-2", 2, "finish")
    return ticket | {"waiting_token": waiting["token"], "agent_ticket_id": at_2["id"]}


def request_as(hall: HallRig, caller: str, method: str, path: str, ticket: dict[str, Any]) -> Any:
    """Call one operation as ``caller`` with path values that are the caller's own."""
    operation = DOCUMENT["paths"][path][method]
    token = ticket["waiting_token"] if path.endswith("/cancel") else ticket["token"]
    ticket_id = ticket["agent_ticket_id"] if caller == "agent" else ticket["id"]
    values = {"ticket_id": ticket_id, "token": token, "alarm_id": 1,
              "subscription_id": 1, "number": 2 if caller == "agent" else 3, "action": "recall",
              "code": "b", "name": "tv-1", "login": "staff2"}  # fmt: skip
    url = "/api/v1" + path.format(**{k: v for k, v in values.items() if "{" + k + "}" in path})
    headers = {}
    if caller == "ticket":
        headers["Authorization"] = f"Bearer {ticket['token']}"
    elif caller != "anonymous":
        headers["Authorization"] = f"Bearer {hall.tokens[TOKEN_OF[caller]]}"
    kwargs: dict[str, Any] = {"headers": headers}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        kwargs["json"] = BODIES.get(name, {})
    elif content:
        kwargs.update(data=b"x", content_type=next(iter(content)))
    return hall.client.open(url, method=method.upper(), **kwargs)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_each_caller_gets_what_the_matrix_says(hall: HallRig, method: str, path: str) -> None:
    allowed = DOCUMENT["paths"][path][method]["x-roles"]
    ticket = served_at_window_3(hall)
    wrong = []
    for caller in CALLERS:
        if path == "/public/tickets/{token}/cancel":  # a cancelled ticket answers 403 after
            ticket["waiting_token"] = hall.issue("b")["token"]
        response = request_as(hall, caller, method, path, ticket)
        status = response.status_code
        expected = "allowed" if caller in allowed else 401 if caller in NO_TOKEN else 403
        declared = DOCUMENT["paths"][path][method]["responses"].get(str(status))
        assert declared, f"{method.upper()} {path}: {caller} got undeclared {status}"
        answer = declared.get("content", {}).get("application/json", {}).get("schema")
        if answer and response.is_json:  # the answer is what the document says it is
            jsonschema_rs.validate({**answer, **COMPONENTS}, response.get_json())
        if (expected == "allowed" and status in (401, 403)) or (
            expected != "allowed" and status != expected
        ):
            wrong.append(f"{caller}: expected {expected}, got {status}")
    assert not wrong, f"{method.upper()} {path}: " + "; ".join(wrong)
