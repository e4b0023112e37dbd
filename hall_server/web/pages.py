"""The hall's shared web assets (/static) and the landing page that lists every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template

HERE = Path(__file__).resolve().parent

web = Blueprint(
    "web",
    __name__,
    static_folder=str(HERE / "static"),
    static_url_path="/static",
    template_folder=str(HERE / "templates"),
)


@web.get("/")
def index() -> Any:
    state = current_app.extensions["hall"]
    layout = state.ctx.layout
    with state.db.read() as session:
        from sqlalchemy import select

        from ..models import Device

        devices = session.execute(
            select(Device.name, Device.kind).where(Device.hall_id == state.ctx.hall_id)
        ).all()
    return render_template(
        "index.html",
        hall=layout,
        kiosks=[n for n, k in devices if k == "kiosk"],
        displays=[n for n, k in devices if k == "display"],
        evaluators=[n for n, k in devices if k == "evaluator"],
        windows=sorted(layout.windows),
    )
