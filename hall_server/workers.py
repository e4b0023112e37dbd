"""Several server processes on one port (``hall serve --workers N``).

The process manager binds the port once and starts N worker processes that accept on the
same socket: the kernel hands each new connection to a worker that is waiting for one, so a
busy worker takes no new visitors while another is idle. The workers elect a leader through
the database (``hall_server/leader.py``): only it runs the background jobs
(``hall_server/bootstrap.py``), so each runs once per hall, and if it dies another takes over.
The workers share the database (its lock keeps numbers and claims right across processes)
and reach each other's screens through the Socket.IO message queue (Redis).

A worker that dies is started again; SIGTERM or Ctrl-C stops them all.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
CRASH_WINDOW_S = 10.0  # a worker that dies this soon after starting counts as a crash loop
MAX_QUICK_CRASHES = 5
POLL_S = 0.2


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    quick_crashes: int = 0
    started: float = field(default_factory=time.monotonic)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker accepts on, inheritable by the workers."""
    listener = socket.create_server((host, port), backlog=2048)
    listener.set_inheritable(True)
    return listener


def run_workers(listener: socket.socket, count: int) -> int:
    """Start ``count`` workers on ``listener`` and keep them running; return the exit code."""
    stopping = False
    failed = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers.values():
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)

    workers = {index: _start(listener, index) for index in range(count)}
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while workers:
            time.sleep(POLL_S)  # the process manager only watches: a few wake-ups a second
            for worker in [w for w in workers.values() if w.process.poll() is not None]:
                if stopping:
                    del workers[worker.index]
                    continue
                quick = time.monotonic() - worker.started < CRASH_WINDOW_S
                crashes = worker.quick_crashes + 1 if quick else 0
                if crashes >= MAX_QUICK_CRASHES:
                    log.error("worker %d keeps dying at start: stopping the server", worker.index)
                    failed = True
                    stop(signal.SIGTERM, None)
                    del workers[worker.index]
                    continue
                log.warning(
                    "worker %d (pid %d) ended with %s: starting it again",
                    worker.index, worker.process.pid, worker.process.returncode,
                )  # fmt: skip
                if quick:
                    time.sleep(RESTART_DELAY_S)  # a crash loop must not spin the CPU
                workers[worker.index] = _start(listener, worker.index, crashes)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        listener.close()
    return 1 if failed else 0


PARENT_CHECK_S = 1.0


def end_with_the_process_manager(index: int) -> None:
    """End this worker soon after its process manager is gone (killed with SIGKILL, say).

    An orphaned worker would go on holding the shared port and answering as part of a
    server that no longer restarts or stops it.
    """
    from .extensions import socketio

    manager = os.getppid()

    def watch() -> None:
        while True:
            socketio.sleep(PARENT_CHECK_S)
            if os.getppid() != manager:
                log.warning("worker %d: the process manager (pid %d) is gone: ending", index,
                            manager)  # fmt: skip
                logging.shutdown()
                os._exit(0)

    socketio.start_background_task(watch)


def _start(listener: socket.socket, index: int, quick_crashes: int = 0) -> _Worker:
    fd = listener.fileno()
    command = [sys.executable, "-m", "hall_server", "serve", "--listen-fd", str(fd),
               "--worker-index", str(index)]  # fmt: skip
    process = subprocess.Popen(command, pass_fds=(fd,))
    log.info("worker %d started (pid %d)", index, process.pid)
    return _Worker(index, process, quick_crashes=quick_crashes)
