"""Reports (效能监察) for supervisors: figures as JSON, CSV or XLSX, and today's KPIs."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..contract import API_PREFIX
from ..domain.numbering import business_day
from ..services import report_files
from ..services.reports import ReportQuery, build_report, today_figures
from .common import actor, hall
from .errors import BadRequest

reports_api = Blueprint("reports_api", __name__, url_prefix=API_PREFIX)
FORMATS = {
    "csv": ("text/csv; charset=utf-8", report_files.to_csv),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        report_files.to_xlsx,
    ),
}


def _day(name: str, default: date) -> date:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(
            f"{name} 应为日期 YYYY-MM-DD ({name} must be a date, got {raw!r})."
        ) from None


@reports_api.get("/reports")
def report() -> Any:
    actor("supervisor")
    ctx = hall().ctx
    today = business_day(ctx.clock(), ctx.layout.tz)
    start = _day("start", today)
    query = ReportQuery(
        start=start,
        end=_day("end", start),
        period=request.args.get("period", "range"),
        group=request.args.get("group", "service"),
    )
    data = build_report(ctx, query)
    fmt = request.args.get("format", "json")
    if fmt == "json":
        return jsonify(data)
    if fmt not in FORMATS:
        raise BadRequest(f"format 应为 json/csv/xlsx (got {fmt!r}).")
    mimetype, render = FORMATS[fmt]
    name = report_files.filename(data, fmt)
    return Response(
        render(data),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@reports_api.get("/reports/today")
def today() -> Any:
    actor("supervisor")
    return jsonify(today_figures(hall().ctx))
