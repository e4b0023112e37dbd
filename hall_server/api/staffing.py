"""Staffing advice (排班建议) for supervisors: a day's plan per service group and hour."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, jsonify, request

from ..contract import API_PREFIX
from ..simulation.staffing import cached_advice
from .common import actor, hall
from .errors import BadRequest
from .ids import int_arg

staffing_api = Blueprint("staffing_api", __name__, url_prefix=API_PREFIX)


@staffing_api.get("/staffing/plan")
def plan() -> Any:
    actor("supervisor")
    ctx = hall().ctx
    raw = request.args.get("day", "").strip()
    if raw:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise BadRequest(
                f"day 应为日期 YYYY-MM-DD (day must be a date, got {raw[:40]!r})."
            ) from None
    else:
        day = ctx.layout.local(ctx.clock()).date() + timedelta(days=1)
    weeks = int_arg("weeks", 4, low=1, high=52)
    check_days = int_arg("check_days", 0, low=0, high=3)
    return jsonify(cached_advice(ctx, day, weeks=weeks, check_days=check_days))
