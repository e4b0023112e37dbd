"""The OpenAPI 3 document of /api/v1, built from the route table and the body schemas.

``ROUTES`` is the one list of the API: every route of the app under /api/v1 has a row, and
each row says who may call it (``x-roles`` in the document). A caller not named gets 401
without a staff or device token and 403 with one (tests/hall_server/security/test_role_matrix.py
tries every pair on the running app).
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any, NamedTuple

from .. import contract
from ..contract import API_PREFIX
from . import schemas

ERROR = {"$ref": "#/components/schemas/Error"}
WINDOW_ACTIONS = list(contract.WINDOW_ACTIONS)

# Who may call: the nine callers of the hall. "ticket" is a visitor holding a ticket token
# (in the path of /public/tickets/{token}…); "anonymous" sends no token at all.
CALLERS = ("anonymous", "ticket", "kiosk", "display", "agent", "evaluator", "staff",
           "supervisor", "admin")  # fmt: skip
ANYONE = CALLERS
DEVICES = ("kiosk", "display", "agent", "evaluator")
STAFF = ("staff", "supervisor", "admin")
SUPERVISOR = ("supervisor", "admin")
ADMIN = ("admin",)
STAFF_AND_DEVICES = (*DEVICES, *STAFF)


class Route(NamedTuple):
    """One operation: method, path, summary, body schema, success status, who may call."""

    method: str
    path: str
    summary: str
    body: str | None
    status: int
    roles: tuple[str, ...]


ROUTES: list[Route] = [Route(*row) for row in [
    ("get", "/health", "This server process answers and reads the database: {status, seq, process, worker, leader}", None, 200, ANYONE),
    ("get", "/openapi.json", "This document", None, 200, ANYONE),
    ("post", "/auth/login", "Staff login → {token, role}", "LoginBody", 200, ANYONE),
    ("post", "/auth/logout", "End this staff token", None, 200, STAFF),
    ("post", "/staff/{login}/unlock", "Lift a login's lock (锁定) after too many wrong passwords (supervisor, admin)", None, 200, SUPERVISOR),
    ("get", "/staff/me", "Who is logged in, and their window", None, 200, STAFF),
    ("post", "/staff/logout", "End this staff token; the window pauses or closes per policy", None, 200, STAFF),
    ("get", "/services", "Services with waiting count, ETA, hours, guide", None, 200, STAFF_AND_DEVICES),
    ("post", "/tickets", "Issue a ticket (Idempotency-Key honoured); priority only from staff", "IssueBody", 201, ("kiosk", *STAFF)),
    ("get", "/tickets/{ticket_id}", "One ticket with its place in the queue", None, 200, STAFF_AND_DEVICES),
    ("post", "/tickets/{ticket_id}/requeue", "Re-queue a no-show, or return a held ticket", None, 200, ("agent", *STAFF)),
    ("post", "/tickets/{ticket_id}/cancel", "Cancel a ticket (staff)", None, 200, STAFF),
    ("post", "/tickets/{ticket_id}/evaluation", "Record a rating: the serving window's evaluator, or a supervisor", "EvaluationBody", 201, ("evaluator", *SUPERVISOR)),
    ("get", "/public/tickets/{token}", "Mobile ticket: status, people ahead, ETA", None, 200, ANYONE),
    ("post", "/public/tickets/{token}/cancel", "Visitor cancels a waiting ticket", None, 200, ANYONE),
    ("post", "/public/tickets/{token}/evaluation", "Visitor rates their own finished visit", "EvaluationBody", 201, ANYONE),
    ("post", "/windows/{number}/{action}", "Window action: " + ", ".join(WINDOW_ACTIONS), "WindowActionBody", 200, ("agent", *STAFF)),
    ("get", "/windows/{number}/desk", "What the window page shows: the window, its ticket, its queue", None, 200, ("agent", *STAFF)),
    ("get", "/keypads/me", "The calling keypad's window and settings", None, 200, ("agent",)),
    ("get", "/snapshot", "The hall at one seq: windows, queues, recent calls, alarms, notices", None, 200, STAFF_AND_DEVICES),
    ("get", "/events", "Hall log after a seq (?after=SEQ), or snapshot_required", None, 200, STAFF_AND_DEVICES),
    ("post", "/devices/status", "A device reports a part's health (printer, LED …)", "DeviceStatusBody", 200, DEVICES),
    ("post", "/appointments", "Create an appointment (预约)", "AppointmentBody", 201, SUPERVISOR),
    ("post", "/appointments/import", "Import appointments from CSV (UTF-8 or GBK)", "csv", 201, SUPERVISOR),
    ("get", "/kiosk/state", "What the calling kiosk shows: services, printer, notices", None, 200, ("kiosk",)),
    ("get", "/kiosk/config", "The calling kiosk's device options", None, 200, ("kiosk",)),
    ("post", "/kiosk/tickets", "Issue a ticket at this kiosk (printed; Idempotency-Key honoured)", "KioskIssueBody", 201, ("kiosk",)),
    ("get", "/display/config", "What the calling display (or, for a supervisor, ?device=) shows", None, 200, ("display", "agent", *SUPERVISOR)),
    ("get", "/display/voice", "The announcement WAV of one call", None, 200, ("display", "agent", *STAFF)),
    ("get", "/display/voice/chime", "The chime alone, played once before a batch of calls", None, 200, ("display", "agent", *STAFF)),
    ("get", "/alarms", "Alarms (预警), open ones unless ?all=1", None, 200, SUPERVISOR),
    ("post", "/alarms/{alarm_id}/ack", "Acknowledge an alarm", None, 200, SUPERVISOR),
    ("get", "/reports", "Report of a period as JSON, CSV or XLSX", None, 200, SUPERVISOR),
    ("get", "/reports/today", "Today's figures (KPIs, by hour)", None, 200, SUPERVISOR),
    ("get", "/staffing/plan", "Staffing advice (排班建议) for a day (default tomorrow): windows per service group and hour, Erlang's figures, the simulated check with ?check_days=", None, 200, SUPERVISOR),
    ("get", "/admin/config", "The hall's layout and settings", None, 200, ADMIN),
    ("get", "/admin/config.toml", "The layout as a hall TOML file", None, 200, ADMIN),
    ("post", "/admin/config.toml", "Replace the layout by a TOML hall file", "toml", 200, ADMIN),
    ("post", "/admin/services", "Add a service", "NewServiceBody", 201, ADMIN),
    ("post", "/admin/windows", "Add a window", "NewWindowBody", 201, ADMIN),
    ("post", "/admin/devices", "Add a device (its token is shown once)", "NewDeviceBody", 201, ADMIN),
    ("put", "/admin/services/{code}", "Change a service", "ServiceEditBody", 200, ADMIN),
    ("delete", "/admin/services/{code}", "Remove a service (history kept)", None, 200, ADMIN),
    ("put", "/admin/windows/{number}", "Change a window", "WindowEditBody", 200, ADMIN),
    ("delete", "/admin/windows/{number}", "Remove a window (history kept)", None, 200, ADMIN),
    ("get", "/admin/devices", "Devices with their state", None, 200, ADMIN),
    ("put", "/admin/devices/{name}", "Change a device", "DeviceEditBody", 200, ADMIN),
    ("post", "/admin/devices/{name}/rotate", "Give a device a new token (shown once)", None, 200, ADMIN),
    ("post", "/admin/devices/{name}/revoke", "Stop a device's token", None, 200, ADMIN),
    ("put", "/admin/notices", "Replace the hall's notices", "NoticesBody", 200, ADMIN),
    ("put", "/admin/settings", "Change names, policy, voice, alarms, issuing", "SettingsBody", 200, ADMIN),
    ("get", "/admin/staff", "Staff logins", None, 200, ADMIN),
    ("post", "/admin/staff", "Add a staff login", "NewStaffBody", 201, ADMIN),
    ("put", "/admin/staff/{login}", "Change a login's name, role, password, active", "StaffEditBody", 200, ADMIN),
    ("get", "/admin/webhooks", "Webhook subscriptions and the event names", None, 200, ADMIN),
    ("post", "/admin/webhooks", "Add a webhook subscription", "NewWebhookBody", 201, ADMIN),
    ("put", "/admin/webhooks/{subscription_id}", "Change a webhook subscription", "WebhookEditBody", 200, ADMIN),
    ("get", "/admin/webhooks/deliveries", "Webhook deliveries", None, 200, ADMIN),
    ("get", "/admin/audit", "The hall log's admin changes, newest first", None, 200, ADMIN),
]]  # fmt: skip

ID = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}  # ids fit a BIGINT
TEXT = {"type": "string", "minLength": 1, "maxLength": 64}
PARAMS = {
    "ticket_id": {"name": "ticket_id", "in": "path", "required": True, "schema": ID},
    "alarm_id": {"name": "alarm_id", "in": "path", "required": True, "schema": ID},
    "subscription_id": {"name": "subscription_id", "in": "path", "required": True, "schema": ID},
    "token": {"name": "token", "in": "path", "required": True, "schema": TEXT},
    "number": {"name": "number", "in": "path", "required": True, "schema": ID},
    "login": {"name": "login", "in": "path", "required": True, "schema": TEXT},
    "code": {"name": "code", "in": "path", "required": True, "schema": TEXT},
    "name": {"name": "name", "in": "path", "required": True, "schema": TEXT},
    "action": {
        "name": "action",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": WINDOW_ACTIONS},
    },
}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


DAY = {"type": "string", "format": "date"}
QUERIES: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("get", "/events"): [_query("after", ID), _query("limit", ID)],
    ("get", "/reports"): [
        _query("start", DAY),
        _query("end", DAY),
        _query("period", {"type": "string", "enum": ["range", "day", "week", "month"]}),
        _query("group", {"type": "string", "enum": ["hall", "service", "window", "staff", "hour"]}),
        _query("format", {"type": "string", "enum": ["json", "csv", "xlsx"]}),
    ],
    ("get", "/alarms"): [_query("all", {"type": "string", "enum": ["1", "true", "yes", "0"]})],
    ("get", "/staffing/plan"): [
        _query("day", DAY),
        _query("weeks", {"type": "integer", "minimum": 1, "maximum": 52}),
        _query("check_days", {"type": "integer", "minimum": 0, "maximum": 3}),
    ],
    ("get", "/admin/audit"): [_query("after", ID)],
    ("get", "/admin/webhooks/deliveries"): [
        _query("subscription", ID),
        _query("state", {"type": "string", "maxLength": 20}),
    ],
    ("get", "/display/config"): [_query("device", TEXT)],
    ("get", "/display/voice"): [
        _query("number", {"type": "string", "pattern": "^[A-Z]{0,3}[0-9]{1,6}$"}),
        _query("window", {"type": "integer", "minimum": 1, "maximum": 9999}),
        _query("floor", {"type": "integer", "minimum": 0, "maximum": 999}),
        _query("form", {"type": "string", "enum": ["full", "once", "brief"]}),
    ],
}
IDEMPOTENT = {("post", "/tickets"), ("post", "/windows/{number}/{action}"),
              ("post", "/kiosk/tickets")}  # fmt: skip
# Answers that are not JSON, and second success statuses.
CONTENT: dict[tuple[str, str], list[str]] = {
    ("get", "/admin/config.toml"): ["application/toml"],
    ("get", "/reports"): [
        "application/json",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ],
    ("get", "/display/voice"): ["audio/wav"],
    ("get", "/display/voice/chime"): ["audio/wav"],
}
ALSO: dict[tuple[str, str], dict[int, str]] = {
    ("post", "/appointments/import"): {200: "nothing new in the file"},
    ("get", "/display/voice"): {503: "the voice clips cannot be made on this server"},
    ("get", "/display/voice/chime"): {503: "the voice clips cannot be made on this server"},
}
# Bodies that are not a JSON object: a TOML file, a CSV file.
RAW_BODIES: dict[str, dict[str, Any]] = {
    "toml": {
        "application/toml": {"schema": {"type": "string", "minLength": 1}},
        "application/json": {"schema": {"$ref": "#/components/schemas/TomlImportBody"}},
    },
    "csv": {
        "text/csv": {"schema": {"type": "string", "minLength": 1}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
    },
}
# What the main answers hold (the fuzzer checks every answer against these).
_INT, _STR, _BOOL = {"type": "integer"}, {"type": "string"}, {"type": "boolean"}
_TICKET_FIELDS = {
    "id": _INT, "number": _STR, "service": _STR, "status": {"type": "string", "enum": [
        "waiting", "called", "serving", "held", "no_show", "done", "cancelled", "expired"]},
    "priority": _BOOL, "window": {"type": ["integer", "null"]},
}  # fmt: skip
# Where a waiting ticket stands (services/forecast.py): its place in the call order and the
# wait, median and 80 % range in seconds (null when it is not waiting or no window will call),
# and whether the median ends after the service's last ticket period today (eta_past_closing).
_ETA_RANGE = {"anyOf": [{"type": "array", "items": _INT, "minItems": 2, "maxItems": 2},
                        {"type": "null"}]}  # fmt: skip
_ETA_FIELDS = {"people_ahead": {"type": "integer", "minimum": 0},
               "eta_s": {"type": ["integer", "null"], "minimum": 0}, "eta_range_s": _ETA_RANGE,
               "eta_past_closing": _BOOL}  # fmt: skip
ANSWERS: dict[str, dict[str, Any]] = {
    "Health": {
        "type": "object",
        "required": ["status", "hall", "seq", "process", "worker", "leader"],
        "properties": {
            "status": {"const": "ok"},
            "hall": _STR,
            "seq": _INT,
            "leader": {"type": "boolean", "description": "this process runs the background duties"},
        },
    },
    "Ticket": {
        "type": "object",
        "required": list(_TICKET_FIELDS),
        "properties": _TICKET_FIELDS | _ETA_FIELDS,
    },
    "PublicTicket": {
        "description": "A visitor's view: never a phone or ID number, staff or case number.",
        "type": "object",
        "required": list(_TICKET_FIELDS),
        "properties": _TICKET_FIELDS | _ETA_FIELDS,
        "not": {
            "anyOf": [
                {"required": [name]}
                for name in ("phone", "id_number", "staff_id", "case_no", "actor")
            ]
        },
    },
    "WindowResult": {
        "type": "object",
        "required": ["window", "ticket"],
        "properties": {
            "window": {"type": "object", "required": ["number", "state"]},
            "ticket": {"anyOf": [{"$ref": "#/components/schemas/Ticket"}, {"type": "null"}]},
        },
    },
    "Evaluation": {
        "type": "object",
        "required": ["id", "ticket_id", "number", "window", "score", "score_name", "reasons"],
        "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}},
    },
    "Snapshot": {
        "type": "object",
        "required": ["seq", "windows", "queues", "recent_calls", "alarms", "notices"],
        "properties": {
            "seq": _INT,
            "windows": {"type": "array"},
            "queues": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["service", "waiting", "eta_s", "eta_range_s", "eta_past_closing"],
                    "properties": {"service": _STR, "waiting": _INT} | _ETA_FIELDS,
                },
            },
        },
    },
    "Events": {
        "type": "object",
        "required": ["events", "last_seq", "snapshot_required"],
        "properties": {
            "events": {"type": "array"},
            "last_seq": _INT,
            "snapshot_required": _BOOL,
        },
    },
    "Services": {
        "type": "object",
        "required": ["services"],
        "properties": {
            "services": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "waiting", "eta_s", "eta_range_s", "eta_past_closing"],
                    "properties": {"code": _STR, "waiting": _INT} | _ETA_FIELDS,
                },
            }
        },
    },
}
ANSWER_OF: dict[tuple[str, str], str] = {
    ("get", "/health"): "Health",
    ("get", "/services"): "Services",
    ("post", "/tickets"): "Ticket",
    ("post", "/kiosk/tickets"): "Ticket",
    ("get", "/tickets/{ticket_id}"): "Ticket",
    ("post", "/tickets/{ticket_id}/requeue"): "Ticket",
    ("post", "/tickets/{ticket_id}/cancel"): "Ticket",
    ("post", "/tickets/{ticket_id}/evaluation"): "Evaluation",
    ("get", "/public/tickets/{token}"): "PublicTicket",
    ("post", "/public/tickets/{token}/cancel"): "PublicTicket",
    ("post", "/public/tickets/{token}/evaluation"): "Evaluation",
    ("post", "/windows/{number}/{action}"): "WindowResult",
    ("get", "/snapshot"): "Snapshot",
    ("get", "/events"): "Events",
}
ERRORS = (
    (400, "malformed request"),
    (401, "missing or invalid token"),
    (403, "role or window not allowed"),
    (404, "not found"),
    (405, "method not allowed"),
    (409, "not allowed in the current state"),
    (413, "request too large"),
    (422, "invalid values"),
    (429, "rate limited"),
)


def openapi_path(rule: str) -> str:
    """``/tickets/<int:ticket_id>`` -> ``/tickets/{ticket_id}``."""
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule)


def openapi_document() -> dict[str, Any]:
    """The document of every route in ``ROUTES`` (a copy: callers may change it)."""
    return copy.deepcopy(_document())


def _operation(route: Route) -> dict[str, Any]:
    key = (route.method, route.path)
    answer = (
        {"schema": {"$ref": f"#/components/schemas/{ANSWER_OF[key]}"}} if key in ANSWER_OF else {}
    )
    success = {
        str(route.status): {
            "description": "OK",
            "content": {kind: answer for kind in CONTENT.get(key, ["application/json"])},
        }
    }
    for code, text in ALSO.get(key, {}).items():
        success[str(code)] = {
            "description": text,
            "content": {"application/json": {"schema": ERROR} if code >= 400 else {}},
        }
    operation: dict[str, Any] = {
        "summary": route.summary,
        "x-roles": list(route.roles),
        "parameters": [PARAMS[p] for p in PARAMS if "{" + p + "}" in route.path]
        + QUERIES.get(key, []),
        "responses": success
        | {
            str(code): {"description": text, "content": {"application/json": {"schema": ERROR}}}
            for code, text in ERRORS
        },
    }
    if key in IDEMPOTENT:
        operation["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "schema": {"type": "string", "maxLength": 100},
            }
        )
    if route.body in RAW_BODIES:
        operation["requestBody"] = {"required": True, "content": RAW_BODIES[route.body]}
    elif route.body:
        model = getattr(schemas, route.body)
        operation["requestBody"] = {
            "required": bool(model.model_json_schema().get("required")),
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{route.body}"}}
            },
        }
    if "anonymous" not in route.roles:
        operation["security"] = [{"bearer": []}]
    return operation


@cache
def _document() -> dict[str, Any]:
    """Build the document once."""
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
    components.update(copy.deepcopy(ANSWERS))
    for model in schemas.SCHEMAS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    paths: dict[str, Any] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Smart Service Hall (智慧大厅) API",
            "version": "1.0.0",
            "description": "Tickets, windows, the hall log and snapshots. Errors are "
            '{"error": {"code", "message"}}. Realtime: Socket.IO namespace /hall. '
            "x-roles on each operation names who may call it: " + ", ".join(CALLERS) + ".",
        },
        "servers": [{"url": API_PREFIX}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
