"""The OpenAPI 3 document of /api/v1, built from the route table and the body schemas."""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

from flask import current_app

from ..contract import API_PREFIX
from . import schemas

ERROR = {"$ref": "#/components/schemas/Error"}
WINDOW_ACTIONS = [
    "open",
    "pause",
    "resume",
    "close",
    "call-next",
    "call",
    "recall",
    "start",
    "finish",
    "no-show",
    "transfer",
    "hold",
]

# (method, path, summary, body schema name or None, success status, auth?)
ROUTES: list[tuple[str, str, str, str | None, int, bool]] = [
    ("get", "/health", "This server process answers and reads the database: {status, seq, process, worker}", None, 200, False),
    ("post", "/auth/login", "Staff login → {token, role}", "LoginBody", 200, False),
    ("post", "/auth/logout", "End this staff token", None, 200, True),
    ("get", "/services", "Services with waiting count, ETA, hours, guide", None, 200, True),
    ("post", "/tickets", "Issue a ticket (Idempotency-Key honoured)", "IssueBody", 201, True),
    ("get", "/tickets/{ticket_id}", "One ticket with its place in the queue", None, 200, True),
    ("post", "/tickets/{ticket_id}/requeue", "Re-queue a no-show, or return a held ticket", None, 200, True),
    ("post", "/tickets/{ticket_id}/cancel", "Cancel a ticket (staff)", None, 200, True),
    ("post", "/tickets/{ticket_id}/evaluation", "Record the visitor's rating", "EvaluationBody", 201, True),
    ("get", "/public/tickets/{token}", "Mobile ticket: status, people ahead, ETA", None, 200, False),
    ("post", "/public/tickets/{token}/cancel", "Visitor cancels a waiting ticket", None, 200, False),
    ("post", "/windows/{number}/{action}", "Window action: " + ", ".join(WINDOW_ACTIONS),
     "WindowActionBody", 200, True),
    ("get", "/snapshot", "The hall at one seq: windows, queues, recent calls, alarms, notices",
     None, 200, True),
    ("get", "/events", "Hall log after a seq (?after=SEQ), or snapshot_required", None, 200, True),
    ("post", "/devices/status", "A device reports a part's health (printer, LED …)", "DeviceStatusBody", 200, True),
    ("post", "/appointments", "Create an appointment (预约)", "AppointmentBody", 201, True),
]  # fmt: skip

PARAMS = {
    "ticket_id": {
        "name": "ticket_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    },
    "token": {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}},
    "number": {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}},
    "action": {
        "name": "action",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": WINDOW_ACTIONS},
    },
}


def openapi_path(rule: str) -> str:
    """``/tickets/<int:ticket_id>`` -> ``/tickets/{ticket_id}``."""
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule)


def _other_routes(described: set[tuple[str, str]]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every /api/v1 route of the app the table above does not describe, from its docstring."""
    found = []
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX + "/"):
            continue
        path = openapi_path(rule.rule.removeprefix(API_PREFIX))
        view = current_app.view_functions[rule.endpoint]
        summary = (view.__doc__ or rule.endpoint).strip().splitlines()[0]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (method.lower(), path) in described:
                continue
            params = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"{([a-z_]+)}", path)
            ]
            found.append((method.lower(), path, summary, {"parameters": params}))
    return found


def openapi_document() -> dict[str, Any]:
    """Build the document: the described contract, then every other route of the app."""
    document = copy.deepcopy(_contract_document())
    described = {(m, p) for p, methods in document["paths"].items() for m in methods}
    for method, path, summary, extra in _other_routes(described):
        operation = {
            "summary": summary,
            "security": [{"bearer": []}],
            "responses": {"200": {"description": "OK"}, "default": {"description": "error",
                          "content": {"application/json": {"schema": ERROR}}}},
            **extra,
        }  # fmt: skip
        document["paths"].setdefault(path, {})[method] = operation
    return document


@cache
def _contract_document() -> dict[str, Any]:
    """The public contract's routes, described by hand (built once)."""
    components: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        }
    }
    for model in schemas.SCHEMAS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    paths: dict[str, Any] = {}
    for method, path, summary, body, status, secured in ROUTES:
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": [PARAMS[p] for p in PARAMS if "{" + p + "}" in path],
            "responses": {
                str(status): {"description": "OK", "content": {"application/json": {}}},
                **{
                    str(code): {
                        "description": text,
                        "content": {"application/json": {"schema": ERROR}},
                    }
                    for code, text in (
                        (400, "malformed request"),
                        (401, "missing or invalid token"),
                        (403, "role or window not allowed"),
                        (404, "not found"),
                        (409, "not allowed in the current state"),
                        (422, "invalid values"),
                        (429, "rate limited"),
                    )
                },
            },
        }
        if path == "/events":
            operation["parameters"].append(
                {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}}
            )
        if method == "post" and path in {"/tickets", "/windows/{number}/{action}"}:
            operation["parameters"].append(
                {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}
            )
        if body:
            operation["requestBody"] = {
                "required": body != "WindowActionBody",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}
                },
            }
        if secured:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Smart Service Hall (智慧大厅) API",
            "version": "1.0.0",
            "description": "Tickets, windows, the hall log and snapshots. Errors are "
            '{"error": {"code", "message"}}. Realtime: Socket.IO namespace /hall.',
        },
        "servers": [{"url": API_PREFIX}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
