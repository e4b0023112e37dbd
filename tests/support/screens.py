"""Whether a screen (a Python hall client) shows what the hall holds."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from hall_server.client.hall import HallClient

from .polling import until


def in_step(screen: HallClient, snapshot: Callable[[], dict[str, Any]], timeout_s: float) -> bool:
    """Whether the screen comes to the hall's seq and queue lengths within ``timeout_s``;
    ``snapshot`` reads the hall's (staff) snapshot, again each round in case a message was
    still on its way."""

    def same() -> bool:
        hall = snapshot()
        waiting = {q["service"]: q["waiting"] for q in hall["queues"]}
        return screen.wait_for(
            lambda s: (
                s.seq == hall["seq"] and {c: q["waiting"] for c, q in s.queues.items()} == waiting
            ),
            2,
        )

    with contextlib.suppress(AssertionError):
        return bool(until(same, timeout_s, what="the screen in step with the hall"))
    return False
