"""The supervisor's pages: live dashboard (/dashboard), reports (/reports), admin (/admin).

The pages are static shells: they log in over the API and read everything from it and
from the hall log (Socket.IO), so the server renders no data into them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template

HERE = Path(__file__).resolve().parent

supervisor_pages = Blueprint("supervisor_pages", __name__, template_folder=str(HERE / "templates"))


def _hall() -> Any:
    return current_app.extensions["hall"].ctx.current_layout()


@supervisor_pages.get("/dashboard")
def dashboard() -> Any:
    return render_template("dashboard.html", hall=_hall())


@supervisor_pages.get("/reports")
def reports() -> Any:
    return render_template("reports.html", hall=_hall())


@supervisor_pages.get("/admin")
def admin() -> Any:
    return render_template("admin.html", hall=_hall())
