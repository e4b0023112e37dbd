"""The kiosk's pages: the touch screen /kiosk/<device>, the mobile ticket /t/<token>.

Voice guidance (kiosk/voice.py), played by the kiosk page with an <audio> (no token: an
<audio> cannot send one; what they say is public, and espeak-ng runs only for the hall's own
service names, zones and phrases, so nobody can make the server speak arbitrary text):

- ``GET /kiosk/voice/service/<code>.wav`` — "您选择的是 社会保障，请点击取号";
- ``GET /kiosk/voice/say/<phrase>.wav`` — a fixed sentence (``elderly``, ``voice``);
- ``GET /t/<token>/voice.wav`` — "您的号码是 B001 号，前面还有 3 人，请到 2 楼 B区 等候叫号".

Without espeak-ng they answer 503 with the reason, and the page offers no voice.
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path
from typing import Any

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from display.voice import VoiceError
from hall_server.domain.errors import DomainError, NotFound
from hall_server.services.tickets import public_ticket
from kiosk.voice import (
    PHRASES,
    Guide,
    Piece,
    Words,
    guidance_available,
    service_sentence,
    ticket_sentence,
)

HERE = Path(__file__).resolve().parent
VOICE_DIR = "voice"  # the clip bank the TVs use too, under the server's var/
log = logging.getLogger(__name__)

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


class GuidanceUnavailable(DomainError):
    """The kiosk cannot speak (no espeak-ng, an unreadable clip bank): HTTP 503."""

    code = "voice_unavailable"


@kiosk_pages.get("/kiosk/<device>")
def kiosk_page(device: str) -> Any:
    layout = _hall().ctx.current_layout()
    voice, why = guidance_available()
    if not voice:
        _warn_once(why)
    return render_template("kiosk/kiosk.html", device=device, hall=layout, voice=voice)


@kiosk_pages.get("/kiosk/voice/service/<code>.wav")
def service_voice(code: str) -> Response:
    service = _hall().ctx.current_layout().services.get(code)
    if service is None:
        raise NotFound(f"没有这个事项：{code[:20]} (no such service).")
    return _wav(service_sentence(service.name))


@kiosk_pages.get("/kiosk/voice/say/<phrase>.wav")
def phrase_voice(phrase: str) -> Response:
    if phrase not in PHRASES:
        raise NotFound(f"没有这句引导语：{phrase[:20]} (no such phrase).")
    return _wav([Words(PHRASES[phrase])])


@kiosk_pages.get("/t/<token>")
def mobile_ticket(token: str) -> Any:
    return render_template("kiosk/mobile.html", token=token, hall=_hall().ctx.current_layout())


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


@kiosk_pages.get("/t/<token>/voice.wav")
def ticket_voice(token: str) -> Response:
    """The ticket read aloud, with the people ahead as they are now."""
    ticket = public_ticket(_hall().ctx, token)
    waiting = ticket.get("status") == "waiting"
    said = ticket_sentence(
        str(ticket["number"]),
        ahead=int(ticket.get("people_ahead") or 0) if waiting else None,
        floor=ticket.get("floor"),
        zone=str(ticket.get("zone") or ""),
    )
    response = _wav(said)
    response.headers["Cache-Control"] = "no-store"  # the people ahead change
    return response


@kiosk_pages.errorhandler(GuidanceUnavailable)
def _guidance_unavailable(error: GuidanceUnavailable) -> Any:
    return jsonify({"error": {"code": error.code, "message": error.message}}), 503


def _wav(pieces: list[Piece]) -> Response:
    available, why = guidance_available()
    if not available:
        _warn_once(why)
        raise GuidanceUnavailable(why)
    try:
        data = guide().wav(pieces)
    except VoiceError as error:
        _warn_once(str(error))
        raise GuidanceUnavailable(str(error)) from None
    response = Response(data, mimetype="audio/wav")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


_guide_lock = threading.Lock()


def guide() -> Guide:
    """Return this app's guide (one per app; it keeps the sentences it made)."""
    extensions = current_app.extensions
    with _guide_lock:
        if "kiosk_guide" not in extensions:
            bank = Path(_hall().settings.server.var_path) / VOICE_DIR
            extensions["kiosk_guide"] = Guide(bank)
        found: Guide = extensions["kiosk_guide"]
    return found


def _warn_once(why: str) -> None:
    """Say in the server log, once per process, why the kiosks do not speak."""
    extensions = current_app.extensions
    if extensions.get("kiosk_guide_warned") != why:
        extensions["kiosk_guide_warned"] = why
        log.warning("kiosk voice guidance off: %s", why)
