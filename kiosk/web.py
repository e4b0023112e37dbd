"""The kiosk's pages: the touch screen /kiosk/<device>, the mobile ticket /t/<token>."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, current_app, render_template, request

from hall_server.services.tickets import public_ticket

HERE = Path(__file__).resolve().parent

kiosk_pages = Blueprint(
    "kiosk_pages",
    __name__,
    static_folder=str(HERE / "static"),
    static_url_path="/kiosk/static",
    template_folder=str(HERE / "templates"),
)


def _hall() -> Any:
    return current_app.extensions["hall"]


def ticket_url(token: str) -> str:
    """The mobile ticket's address as printed and shown in the QR code."""
    base = _hall().settings.server.public_base_url or request.host_url
    return f"{base.rstrip('/')}/t/{token}"


@kiosk_pages.get("/kiosk/<device>")
def kiosk_page(device: str) -> Any:
    layout = _hall().ctx.layout
    return render_template("kiosk/kiosk.html", device=device, hall=layout)


@kiosk_pages.get("/t/<token>")
def mobile_ticket(token: str) -> Any:
    return render_template("kiosk/mobile.html", token=token, hall=_hall().ctx.layout)


@kiosk_pages.get("/t/<token>/qr.svg")
def ticket_qr(token: str) -> Response:
    """The QR code of a ticket's mobile page (404 for a token that is no ticket)."""
    public_ticket(_hall().ctx, token)
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(ticket_url(token))
    out = io.BytesIO()
    code.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    response = Response(out.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
