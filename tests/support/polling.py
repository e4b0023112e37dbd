"""Wait for a condition with a deadline: the tests' one polling loop (no fixed sleeps)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(
    check: Callable[[], T], timeout_s: float = 30.0, *, interval_s: float = 0.1, what: str = ""
) -> T:
    """Call ``check`` until it returns something truthy and return that; fail at the deadline.

    ``check`` may raise ``OSError`` while what it polls is not up yet (a port, a file): that
    counts as not yet. The error names ``what`` was awaited.
    """
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()  # cooperative under gevent, unlike a bare time.sleep
    while True:
        result: T | None
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what or 'the condition'}: not met after {timeout_s} s")
        pause.wait(interval_s)  # the awaited process works meanwhile
