"""Read-only views of the hall for kiosks and pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.numbering import format_hhmm
from .context import HallContext
from .snapshot import queue_table


def list_services(ctx: HallContext, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every service with its waiting count, ETA, hours (the usual ones and today's) and
    guide (办事指南)."""
    now = now or ctx.clock()
    queues = {q["service"]: q for q in queue_table(ctx, now)}
    weekday = now.astimezone(ctx.layout.tz).isoweekday()
    result = []
    for service in ctx.layout.services.values():
        queue = queues[service.code]
        hours_today = [[format_hhmm(a), format_hhmm(b)] for a, b in service.hours.on(weekday)]
        result.append(
            {
                "code": service.code,
                **service.label(),
                "hours": [list(p) for p in service.hours_text],
                "hours_today": hours_today,
                "guide": service.guide,
                "waiting": queue["waiting"],
                "people_ahead": queue["people_ahead"],
                "eta_s": queue["eta_s"],
                "eta_range_s": queue["eta_range_s"],
                "eta_past_closing": queue["eta_past_closing"],
                "open": queue["open"],
                "windows_open": queue["windows_open"],
            }
        )
    return result
