"""The supervisor's background work in a serving process: alarm checks, daily report
aggregates and webhook deliveries — each off the request threads, each surviving errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..domain.numbering import business_day
from .aggregates import refresh_planner_stats, refresh_stats
from .alarms import check_alarms, watch_alarms
from .context import HallContext
from .webhooks import start_webhooks

log = logging.getLogger(__name__)
ALARM_CHECK_S = 15  # thresholds are whole minutes: a check every 15 s is at most that late
STATS_EVERY_S = 300  # past days' aggregates: built after midnight, re-checked for late changes


def start_supervision(
    ctx: HallContext, spawn: Callable[..., Any], sleep: Callable[[float], Any]
) -> None:
    """Start the loops with the server's ``spawn`` and ``sleep`` (gevent or threads)."""
    watch_alarms(ctx, spawn, sleep)
    start_webhooks(ctx, spawn)

    def alarms_loop() -> None:
        while True:
            try:
                check_alarms(ctx)
            except Exception:  # keep checking: one failed round must not stop the alarms
                log.exception("alarm check failed")
            sleep(ALARM_CHECK_S)

    def stats_loop() -> None:
        backfill = True  # the first round builds every day never built (after an upgrade)
        analysed_on = None
        while True:
            try:
                built = refresh_stats(ctx, backfill=backfill)
                if built:
                    log.info("built the report aggregates of %d days", built)
                today = business_day(ctx.clock(), ctx.layout.tz)
                if analysed_on != today:  # at start, then after midnight's build
                    refresh_planner_stats(ctx)
                    analysed_on = today
                backfill = False
            except Exception:  # keep going: reports read raw rows for days not built
                log.exception("building report aggregates failed")
            sleep(STATS_EVERY_S)

    spawn(alarms_loop)
    spawn(stats_loop)
