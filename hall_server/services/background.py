"""One loop for every background job: run a round, survive its errors, wait, again.

The jobs themselves and their periods are listed in ``hall_server/bootstrap.py``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def repeat(
    round_: Callable[[], Any],
    period_s: float,
    *,
    name: str,
    sleep: Callable[[float], Any] = time.sleep,
    wake: threading.Event | None = None,
    min_gap_s: float = 0.0,
    stop: threading.Event | None = None,
) -> None:
    """Run ``round_`` every ``period_s`` until ``stop`` is set (never, when there is none).

    With ``wake``, a round also starts as soon as it is set, but rounds start at most every
    ``min_gap_s``. A failed round is logged and the next one runs as usual.
    """
    stop = stop or threading.Event()
    while not stop.is_set():
        if wake is not None:
            wake.clear()
        started = time.monotonic()
        try:
            round_()
        except Exception:  # keep going: one failed round must not stop the job
            log.exception("%s failed", name)
        if wake is None:
            sleep(period_s)
            continue
        wake.wait(period_s)
        stop.wait(max(0.0, started + min_gap_s - time.monotonic()))
