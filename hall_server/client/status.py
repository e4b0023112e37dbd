"""A device's health told to the hall: ``POST /api/v1/devices/status`` with the device token.

One reporter per agent. A part's status is sent when it changed, and again after
``heartbeat_s`` even if it did not (0: every time), so the hall sees the device is alive::

    reporter = StatusReporter(api, heartbeat_s=60)
    reporter.report("printer", {"health": "ok", "online": True, "detail": {}, "message": ""})
    reporter.forget()   # after a reconnect: the server may have lost what it was told
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .api import ApiError, HallApi, Unreachable

log = logging.getLogger(__name__)


class StatusReporter:
    """Send each part's status to the hall when it changed or the heartbeat is due."""

    def __init__(
        self,
        api: HallApi,
        *,
        heartbeat_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Report through ``api``; ``heartbeat_s`` None sends a status only when it changed."""
        self.api = api
        self.heartbeat_s = heartbeat_s
        self.sent = 0  # reports the server answered (accepted or not)
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, tuple[dict[str, Any], float]] = {}  # part -> (status, when)

    def report(self, part: str, status: dict[str, Any]) -> bool:
        """Send ``status`` of ``part`` if due; return whether the hall has it now."""
        with self._lock:
            last = self._last.get(part)
        if last is not None and last[0] == status and not self._heartbeat_due(last[1]):
            return True
        try:
            self.api.call("POST", "/devices/status", {"part": part, "status": status})
        except Unreachable as error:
            log.warning("could not report %s status: %s", part, error)
            return False
        except ApiError as error:
            self.sent += 1
            log.warning("the hall refused the %s status: %s", part, error)
            return False
        self.sent += 1
        with self._lock:
            self._last[part] = (status, self._clock())
        return True

    def forget(self) -> None:
        """Send every part again on its next report (the server may have lost them)."""
        with self._lock:
            self._last.clear()

    def _heartbeat_due(self, sent_at: float) -> bool:
        if self.heartbeat_s is None:
            return False
        return self._clock() - sent_at >= self.heartbeat_s
