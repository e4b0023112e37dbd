"""Read-only views of the hall for kiosks and pages."""

from __future__ import annotations

from typing import Any

from .context import HallContext
from .snapshot import queue_table


def list_services(ctx: HallContext) -> list[dict[str, Any]]:
    """Every service with its waiting count, ETA, hours and guide (办事指南)."""
    queues = {q["service"]: q for q in queue_table(ctx)}
    result = []
    for service in ctx.layout.services.values():
        queue = queues[service.code]
        result.append(
            {
                "code": service.code,
                **service.label(),
                "hours": [list(p) for p in service.hours_text],
                "guide": service.guide,
                "waiting": queue["waiting"],
                "people_ahead": queue["people_ahead"],
                "eta_s": queue["eta_s"],
                "eta_range_s": queue["eta_range_s"],
                "open": queue["open"],
                "windows_open": queue["windows_open"],
            }
        )
    return result
