"""A gunicorn worker's start is not counted against ``--timeout`` (hall_server/workers.py).

The master judges a worker by the time of its heartbeat file; a new worker's is dated
``BOOT_TIMEOUT_S`` ahead, and its first beat (once it serves) brings it back to now. The
live behaviour (a slow start comes up, a hang is still killed) is in
test_standard_server.py; this pins the mechanism against a gunicorn upgrade.
"""

from __future__ import annotations

import os
import time

from gunicorn.config import Config

from hall_server.workers import BOOT_TIMEOUT_S, HallWorker


def test_a_new_workers_heartbeat_is_dated_its_starts_allowance_ahead_until_it_beats() -> None:
    worker = HallWorker(1, os.getpid(), [], None, 15, Config(), None)
    try:
        # What the master's check (arbiter.murder_workers) computes: how late the beat is.
        late = time.monotonic() - worker.tmp.last_update()
        assert -BOOT_TIMEOUT_S <= late < -BOOT_TIMEOUT_S + 5
        worker.tmp.notify()  # its first beat, from run(): --timeout counts from now on
        assert 0 <= time.monotonic() - worker.tmp.last_update() < 5
    finally:
        worker.tmp.close()
