"""The kiosk's JSON API under /api/v1/kiosk, and appointment import for supervisors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from ..contract import API_PREFIX
from ..domain.errors import InvalidInput
from ..realtime.kiosk import init_kiosk_realtime, send_print_job
from ..services import appointments, kiosk
from ..services.notify import TurnNotices, remember_contact
from ..services.tickets import IssueRequest
from .bodies import large_body
from .common import actor, body, hall, idempotency_key, require_service_or_booking
from .schemas import KioskIssueBody

kiosk_api = Blueprint("kiosk_api", __name__, url_prefix=API_PREFIX)

KIOSK = "device:kiosk"
MAX_CSV_BYTES = 2 * 1024 * 1024


def qr_base() -> str:
    """The base of the mobile ticket link: the configured public URL, else this server."""
    return hall().settings.server.public_base_url or request.host_url


@kiosk_api.get("/kiosk/state")
def state() -> Any:
    who = actor(KIOSK)
    return jsonify(kiosk.kiosk_state(hall().ctx, who))


@kiosk_api.get("/kiosk/config")
def config() -> Any:
    """The kiosk's device options (printer, id_reader) for its agent."""
    who = actor(KIOSK)
    with hall().db.read() as session:
        device = kiosk.kiosk_row(session, hall().ctx, who)
        return jsonify({"name": device.name, "options": dict(device.options or {})})


@kiosk_api.post("/kiosk/tickets")
def issue() -> Any:
    who = actor(KIOSK)
    data = body(KioskIssueBody)
    require_service_or_booking(data.service, data.appointment_code)
    state = hall()
    ticket = kiosk.issue_at_kiosk(
        state.ctx,
        who,
        IssueRequest(
            service=data.service,
            phone=data.phone or None,
            id_number=data.id_number or None,
            appointment_code=data.appointment_code or None,
        ),
        qr_base=qr_base(),
        rate_per_min=state.settings.server.kiosk_rate_per_min,
        idempotency_key=idempotency_key(),
    )
    job = ticket.get("print")
    if ticket.pop("dispatch") and job is not None:
        send_print_job(state.ctx, who.name, job)
    turns: TurnNotices | None = current_app.extensions.get("kiosk_turns")
    if data.phone and turns is not None:
        remember_contact(state.ctx, ticket, data.phone, turns.config.ahead, state.ctx.clock())
    ticket.pop("phone", None)
    ticket.pop("id_number", None)
    if job is not None:  # the page needs the job's state, not the paper's content again
        ticket["print"] = {k: v for k, v in job.items() if k != "ticket"}
    return jsonify(ticket), 201


@kiosk_api.post("/appointments/import")
@large_body(MAX_CSV_BYTES + 64 * 1024)  # the file and its multipart frame
def import_appointments() -> Any:
    """Import a CSV of appointments (text/csv body, or a multipart file field "file")."""
    who = actor("supervisor")
    upload = request.files.get("file")
    raw = upload.read(MAX_CSV_BYTES + 1) if upload is not None else request.get_data()
    if len(raw) > MAX_CSV_BYTES:
        raise InvalidInput("CSV 文件过大 (at most 2 MB per import).")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")  # Excel on Chinese Windows saves CSV in GBK
        except UnicodeDecodeError:
            raise InvalidInput("CSV 须为 UTF-8 或 GBK 编码 (CSV must be UTF-8 or GBK).") from None
    result = appointments.import_appointments(hall().ctx, who, text)
    return jsonify(result), 201 if result["created"] else 200


def init_kiosk(app: Flask) -> None:
    """Mount the kiosk (after Socket.IO is bound): pages, API, /kiosk."""
    from kiosk.web import kiosk_pages

    ctx = app.extensions["hall"].ctx
    app.register_blueprint(kiosk_api)
    app.register_blueprint(kiosk_pages)
    init_kiosk_realtime(ctx)
