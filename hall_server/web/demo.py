"""``hall demo``'s own page, /demo (演示台): the SMS outbox and the fake printers' paper.

Registered only by ``hall demo`` (hall_server/demo.py, ``install_demo``), never by a site's
server. It shows the turn-near messages the demo sent (phones masked), each fake-printer
kiosk with what its printer reports, and the hall's open device alarms; a button sets a
kiosk's paper to ok / low / out / offline, so a newcomer can follow a fault through the
kiosk's banner and the dashboard's alarms and back.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, redirect, render_template, request

from ..services.alarms import DEVICE_FAULT, list_alarms
from ..services.devices import device_views

demo_pages = Blueprint("demo", __name__, template_folder="templates")

PAPER_BUTTONS = (  # state, Chinese, English
    ("ok", "有纸", "Paper OK"),
    ("low", "纸将尽", "Paper low"),
    ("out", "缺纸", "Out of paper"),
    ("offline", "离线", "Offline"),
)


@demo_pages.get("/demo")
@demo_pages.get("/demo/outbox")
def desk() -> Any:
    hall = current_app.extensions["hall"]
    demo = current_app.extensions["hall_demo"]
    ctx = hall.ctx
    tz = ctx.layout.tz
    with ctx.db.read() as session:
        devices = {d["name"]: d for d in device_views(ctx, session)}
    kiosks = [_kiosk_view(devices.get(name) or {"name": name}) for name in demo.kiosks]
    alarms = [a for a in list_alarms(ctx) if a["kind"] == DEVICE_FAULT]
    messages = [
        {"at": m.at.astimezone(tz).strftime("%H:%M:%S"), "phone": m.phone, "message": m.message}
        for m in demo.outbox.latest()
    ]
    return render_template(
        "demo.html",
        hall=ctx.layout,
        ahead=current_app.extensions["kiosk_turns"].config.ahead,
        messages=messages,
        kiosks=kiosks,
        alarms=alarms,
        buttons=PAPER_BUTTONS,
        sent=_sent(request.args.get("sent", ""), kiosks),
    )


def _sent(arg: str, kiosks: list[dict[str, Any]]) -> dict[str, str] | None:
    """What the last button pressed asked ("kiosk:paper"), in words; None when nothing."""
    kiosk, _, paper = arg.partition(":")
    words = {state: (zh, en) for state, zh, en in PAPER_BUTTONS}
    places = {k["name"]: k["place"] or k["name"] for k in kiosks}
    if kiosk not in places or paper not in words:
        return None
    return {"place": places[kiosk], "zh": words[paper][0], "en": words[paper][1]}


@demo_pages.post("/demo/printers/<kiosk>")
def set_paper(kiosk: str) -> Any:
    if not _same_site():
        abort(403)  # a form posted from another site's page
    demo = current_app.extensions["hall_demo"]
    paper = request.form.get("paper", "")
    if kiosk not in demo.kiosks or paper not in {b[0] for b in PAPER_BUTTONS}:
        abort(404)
    demo.set_paper(kiosk, paper)
    return redirect(f"/demo?{urlencode({'sent': f'{kiosk}:{paper}'})}#printers", 303)


def _kiosk_view(device: dict[str, Any]) -> dict[str, Any]:
    status = device.get("status") or {}
    printer, agent = status.get("printer") or {}, status.get("agent") or {}
    place = device.get("label") or " ".join(
        p for p in (f"{device['floor']}楼" if device.get("floor") else "", device.get("zone")) if p
    )
    return {
        "name": device["name"],
        "place": place,
        "connected": bool(agent.get("online")),
        "health": printer.get("health", "unknown"),
        "paper": (printer.get("detail") or {}).get("paper", ""),
        "message": printer.get("message") or "打印机尚未报告 / no report from the printer yet",
    }


def _same_site() -> bool:
    """Whether the form came from this server's own page. Browsers say so in Sec-Fetch-Site;
    the Origin of a form is "null" here (Referrer-Policy: no-referrer), so it is asked only
    when it names a site; a client without either (curl) is a person at the demo."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin in (None, "null") or origin.rstrip("/") == request.host_url.rstrip("/")
