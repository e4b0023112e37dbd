"""The JSON API under /api/v1: thin handlers that parse, call one service, serialise."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from ..contract import API_PREFIX, sees_staff_view
from ..domain.errors import Forbidden
from ..leader import leads_the_hall
from ..services import auth, devices, tickets, visits, windows
from ..services.actors import Actor
from ..services.hall_views import list_services
from ..services.snapshot import events_after, last_seq, snapshot
from . import schemas
from .common import actor, bearer, body, hall, idempotency_key, require_service_or_booking
from .errors import BadRequest
from .ids import int_arg
from .limiter import client_address, login_limits
from .openapi import openapi_document

api = Blueprint("api", __name__, url_prefix=API_PREFIX)

STAFF = "staff"
ANY_DEVICE = ("device:kiosk", "device:display", "device:agent", "device:evaluator")


@api.get("/health")
def health() -> Any:
    """For load balancers and supervisors: this process answers and reads the database."""
    return jsonify(
        {
            "status": "ok",
            "hall": hall().settings.hall.code,
            "seq": last_seq(hall().ctx),
            "process": os.getpid(),
            "worker": current_app.config.get("HALL_WORKER", 0),
            "leader": leads_the_hall(current_app),
        }
    )


@api.post("/auth/login")
def login() -> Any:
    data = body(schemas.LoginBody)
    return jsonify(
        auth.login(
            hall().ctx,
            data.login,
            data.password,
            ttl_h=hall().settings.server.token_ttl_h,
            address=client_address(),
            limits=login_limits(),
        )
    )


@api.post("/staff/<login>/unlock")
def unlock_login(login: str) -> Any:
    """Lift a login's lock (锁定) after too many wrong passwords (supervisor, admin)."""
    who = actor("supervisor")
    return jsonify(auth.unlock(hall().ctx, who, login, limits=login_limits()))


@api.post("/auth/logout")
def logout() -> Any:
    actor(STAFF)
    auth.logout(hall().ctx, bearer() or "")
    return jsonify({"ok": True})


@api.get("/services")
def services() -> Any:
    actor(STAFF, *ANY_DEVICE)
    return jsonify({"services": list_services(hall().ctx)})


@api.post("/tickets")
def issue() -> Any:
    who = actor(STAFF, "device:kiosk")
    data = body(schemas.IssueBody)
    require_service_or_booking(data.service, data.appointment_code)
    result = tickets.issue_ticket(
        hall().ctx,
        who,
        tickets.IssueRequest(
            service=data.service,
            priority=data.priority,
            priority_kind=data.priority_kind,
            phone=data.phone,
            id_number=data.id_number,
            appointment_code=data.appointment_code,
        ),
        idempotency_key=idempotency_key(),
    )
    return jsonify(result), 201


@api.get("/tickets/<int:ticket_id>")
def get_ticket(ticket_id: int) -> Any:
    who = actor(STAFF, *ANY_DEVICE)
    return jsonify(tickets.get_ticket(hall().ctx, ticket_id, staff=who.kind == "staff"))


@api.get("/public/tickets/<token>")
def public_ticket(token: str) -> Any:
    return jsonify(tickets.public_ticket(hall().ctx, token))


@api.post("/public/tickets/<token>/cancel")
def public_cancel(token: str) -> Any:
    visitor = Actor(kind="visitor", name="visitor")
    return jsonify(tickets.cancel_ticket(hall().ctx, visitor, token=token))


@api.post("/public/tickets/<token>/evaluation")
def public_evaluation(token: str) -> Any:
    """The visitor rates their own finished visit from the mobile ticket page."""
    visitor = Actor(kind="visitor", name="visitor")
    data = body(schemas.EvaluationBody)
    result = visits.record_evaluation(
        hall().ctx, visitor, token=token, score=data.score, reasons=data.reasons,
        comment=data.comment,
    )  # fmt: skip
    return jsonify(result), 201


@api.post("/tickets/<int:ticket_id>/requeue")
def requeue(ticket_id: int) -> Any:
    who = actor(STAFF, "device:agent")
    if who.kind == "device":  # a keypad brings back only the visitors of its own windows
        seen = tickets.get_ticket(hall().ctx, ticket_id, staff=False)
        if not {seen["window"], seen["target_window"]} & set(who.windows):
            raise Forbidden(
                f"{seen['number']} 不在此叫号器的窗口 (this keypad's windows did not serve "
                f"{seen['number']})."
            )
    return jsonify(tickets.requeue_ticket(hall().ctx, who, ticket_id))


@api.post("/tickets/<int:ticket_id>/cancel")
def cancel(ticket_id: int) -> Any:
    who = actor(STAFF)
    return jsonify(tickets.cancel_ticket(hall().ctx, who, ticket_id=ticket_id))


@api.post("/tickets/<int:ticket_id>/evaluation")
def evaluation(ticket_id: int) -> Any:
    """Record a rating: the serving window's evaluator, or a supervisor (audited)."""
    who = actor("supervisor", "device:evaluator")
    data = body(schemas.EvaluationBody)
    result = visits.record_evaluation(
        hall().ctx, who, ticket_id, score=data.score, reasons=data.reasons, comment=data.comment
    )
    return jsonify(result), 201


@api.post("/appointments")
def create_appointment() -> Any:
    who = actor("supervisor")
    data = body(schemas.AppointmentBody)
    try:
        start, end = (
            datetime.fromisoformat(data.slot_start),
            datetime.fromisoformat(data.slot_end),
        )
    except ValueError:
        raise BadRequest("预约时间格式应为 ISO 8601 (slot times must be ISO 8601).") from None
    result = visits.create_appointment(
        hall().ctx, who, service=data.service, code=data.code, slot_start=start, slot_end=end,
        name=data.name, phone=data.phone, id_number=data.id_number,
    )  # fmt: skip
    return jsonify(result), 201


@api.post("/windows/<int:number>/<action>")
def window_action(number: int, action: str) -> Any:
    who = actor(STAFF, "device:agent")
    if action not in windows.ACTIONS:
        raise BadRequest(
            f"没有此操作：{action} (unknown action; one of {', '.join(sorted(windows.ACTIONS))})."
        )
    data = body(schemas.WindowActionBody)
    command = windows.WindowCommand(action=action, **data.model_dump())
    return jsonify(
        windows.window_action(hall().ctx, who, number, command, idempotency_key=idempotency_key())
    )


@api.post("/devices/status")
def device_status() -> Any:
    who = actor(*ANY_DEVICE)
    data = body(schemas.DeviceStatusBody)
    return jsonify(
        devices.report_status(hall().ctx, who, part=data.part, status=data.status.model_dump())
    )


@api.get("/snapshot")
def get_snapshot() -> Any:
    who = actor(STAFF, *ANY_DEVICE)
    return jsonify(snapshot(hall().ctx, staff=sees_staff_view(who.kind, who.role)))


@api.get("/events")
def get_events() -> Any:
    who = actor(STAFF, *ANY_DEVICE)
    after = int_arg("after", 0)
    limit = min(int_arg("limit"), 5000) if request.args.get("limit") else None
    return jsonify(
        events_after(hall().ctx, after, staff=sees_staff_view(who.kind, who.role), limit=limit)
    )


@api.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())
