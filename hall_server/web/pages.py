"""The hall's shared web assets (/static) and the landing page (/) with links to its pages."""

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
    # The same static page for everyone: device names come from GET /api/v1/admin/devices,
    # fetched by the page's script after an admin logs in (static/index.js).
    return render_template("index.html", hall=current_app.extensions["hall"].ctx.current_layout())
