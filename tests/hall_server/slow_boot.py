"""A gunicorn master for tests whose workers start slowly, or hang while starting.

Run in place of ``hall serve --workers N``'s master, from the project's folder::

    python -m tests.hall_server.slow_boot --host 127.0.0.1 --port P --workers 2

Test-only: the product never imports it, and it is not reachable from a request. What it
changes, by environment variable:

- ``SLOW_BOOT_S``: each worker spins this long (busy, without yielding, like imports on a
  loaded machine) before it builds its app;
- ``SLOW_BOOT_HANG``: a file path; the first worker to find it missing writes its pid there
  and never finishes starting;
- ``SLOW_BOOT_TIMEOUT_S``: replaces ``hall_server.workers.BOOT_TIMEOUT_S``.

Every worker's heartbeat file is dated when it is made, by the clock its beats use, so that
the start counts against ``--timeout`` as it did in gunicorn up to 21 (27.0 dates the file
by the wall clock, which its master never finds late): the tests check the hall's own
rule, not that leniency.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from gunicorn.workers.workertmp import WorkerTmp

from hall_server import workers

_made = WorkerTmp.__init__


def _dated_when_made(self: WorkerTmp, cfg: Any) -> None:
    _made(self, cfg)
    self.notify()


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(range(1000))


_load = workers.HallApplication.load


def _slow_load(self: workers.HallApplication) -> Any:
    hang = os.environ.get("SLOW_BOOT_HANG")
    if hang:
        try:
            with open(hang, "x", encoding="utf-8") as first:
                first.write(str(os.getpid()))
        except FileExistsError:
            pass
        else:
            while True:  # stuck while starting: never serves, never beats
                _spin(1.0)
    _spin(float(os.environ.get("SLOW_BOOT_S", "0")))
    return _load(self)


if __name__ == "__main__":
    WorkerTmp.__init__ = _dated_when_made
    workers.HallApplication.load = _slow_load  # type: ignore[method-assign]
    if os.environ.get("SLOW_BOOT_TIMEOUT_S"):
        workers.BOOT_TIMEOUT_S = float(os.environ["SLOW_BOOT_TIMEOUT_S"])
    workers.main(sys.argv[1:])
