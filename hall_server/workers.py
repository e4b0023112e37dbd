"""Several server processes on one port (``hall serve --workers N``): gunicorn.

gunicorn's master binds the port and keeps N worker processes on it; each worker is
gunicorn's gevent websocket worker (``geventwebsocket.gunicorn.workers``, the one
Flask-SocketIO documents) with the hall's own tuning carried over from ``server.py``: the
same handler (64 KB websocket messages and polling bodies, unread large bodies, one line for a
client's garbage, a switch after each response) and the same server (TCP_NODELAY), taking one
connection per wake-up so that an idle worker gets the next visitor.

What gunicorn's master adds over a plain supervisor: a worker whose event loop stops (stuck
in a loop, a blocking call) stops touching its heartbeat file and is killed after
``--timeout`` (30 s) and started again; ``kill -HUP`` of the master starts new workers with
the settings read again and stops the old ones gracefully; a dead worker is started again;
a worker whose master is gone ends within a second.

A worker's start (imports, the app, the leader election: 22 s on a loaded machine) is not
counted against ``--timeout``: before the fork its heartbeat is dated ``BOOT_TIMEOUT_S``
ahead, and its first real beat comes once it serves. From then on ``--timeout`` applies as
usual; a worker still starting after ``BOOT_TIMEOUT_S`` plus ``--timeout`` is killed as
hung. (gunicorn 27.0 happens to spare a starting worker, for ever: its heartbeat file is
dated by the wall clock when made and compared with the monotonic clock. gunicorn up to 21
counted the start, as would a release that dates the file by its own clock when made: a
slow start was killed as hung, again and again.)

A graceful stop (SIGTERM to the master, or the old workers of a HUP) stops accepting, waits
for the HTTP requests being answered (up to ``--graceful-timeout``), then ends: its
websockets close and their clients reconnect to another worker and resync by their last seq.
On a HUP gunicorn stops the old workers as soon as the new ones are forked, while these still
build the app (seconds): an old worker here goes on accepting until every newer worker
accepts too, so the hall does not pause (it did, 5.6 s, before). A marker file in a directory
of the master's, ``booting-AGE``, is written before a worker is forked and removed once it
accepts (or ends); gunicorn numbers its workers' ages in the order it starts them.

Each worker builds its own app (after the fork, once gevent has patched it) and runs a leader
election (``hall_server/leader.py``): one worker of all the hall's processes runs the
background jobs. They reach each other's screens through the Socket.IO message queue
(Redis, ``server.message_queue``).

gunicorn's own options may be added with ``GUNICORN_CMD_ARGS`` (its standard variable),
say ``GUNICORN_CMD_ARGS="--timeout 10 --graceful-timeout 20"``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from geventwebsocket.gunicorn.workers import GeventWebSocketWorker
from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)

WORKER_CONNECTIONS = 20_000
"""Sockets one worker holds at most (gunicorn's default, 1,000, is too few: every screen,
kiosk, window page and staff phone holds one all day)."""
BACKLOG = 2048
GRACEFUL_TIMEOUT_S = 10
"""How long a stopping worker waits for the requests it is answering (systemd's
TimeoutStopSec in docs/deploy/hall-workers.service is longer)."""
BOOT_TIMEOUT_S = 120.0
"""How long a worker may take to start before ``--timeout`` counts (the slowest start seen,
on a loaded 2-core machine, took 22 s)."""


_MARKERS: list[Path] = []  # the master's marker directory (set before the first fork)


def _marked(prefix: str, younger_than: int) -> bool:
    """Whether a worker younger than ``younger_than`` has a marker ``prefix-AGE``."""
    if not _MARKERS:
        return False
    with contextlib.suppress(OSError):
        for path in _MARKERS[0].iterdir():
            kind, _, age = path.name.partition("-")
            if kind == prefix and age.isdigit() and int(age) > younger_than:
                return True
    return False


def _mark(prefix: str, age: int, *, remove: bool = False) -> None:
    if _MARKERS:
        path = _MARKERS[0] / f"{prefix}-{age}"
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True) if remove else path.touch()


class HallWorker(GeventWebSocketWorker):  # type: ignore[misc]
    """gunicorn's gevent websocket worker with the hall's handler and server (server.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # in the master, before the fork
        # Its start does not count as a hang: the heartbeat, dated as gunicorn dates it, is
        # moved BOOT_TIMEOUT_S ahead; the first beat of ``run`` brings it back to now.
        self.tmp.notify()
        ahead = self.tmp.last_update() + BOOT_TIMEOUT_S
        os.utime(self.tmp.fileno(), (ahead, ahead))

    def load_wsgi(self) -> None:
        # Called once gevent has patched this worker (nothing of the app is imported before).
        from .server import gevent_classes

        self.wsgi_handler, self.server_class = gevent_classes()
        super().load_wsgi()  # HallApplication.load

    def run(self) -> None:
        import gevent
        from gevent.pool import Pool
        from gunicorn.http.wsgi import base_environ
        from gunicorn.workers.ggevent import VERSION

        from .server import requests_in_flight

        servers = []
        for listener in self.sockets:
            listener.setblocking(1)
            environ = base_environ(self.cfg)
            environ.update({"wsgi.multithread": True, "SERVER_SOFTWARE": VERSION})
            server = self.server_class(
                listener, application=self.wsgi, spawn=Pool(self.worker_connections),
                log=None, handler_class=self.wsgi_handler, environ=environ,
            )  # fmt: skip
            # The workers share the socket: one connection per wake-up, so an idle worker
            # gets the next one instead of a busy one taking the whole backlog.
            server.max_accept = 1
            server.start()
            servers.append(server)
        _mark("booting", self.age, remove=True)  # it accepts
        while self.alive:
            self.notify()  # the heartbeat the master's --timeout watches; ends if orphaned
            gevent.sleep(1.0)
        # Replaced (HUP): accept on until the newer workers do, so that nobody waits for them
        # (at most BOOT_TIMEOUT_S: the master kills a worker that takes longer to start).
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while _marked("booting", self.age) and time.monotonic() < deadline:
            self.notify()
            gevent.sleep(0.05)
        for server in servers:
            server.close()  # accept no more: the other (or the new) workers take them
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while requests_in_flight() and time.monotonic() < deadline:
            self.notify()
            gevent.sleep(0.05)
        if requests_in_flight():
            log.warning("worker %d: %d requests still open at the graceful timeout",
                        os.getpid(), requests_in_flight())  # fmt: skip
        # Websockets and long polls end with the process; their clients reconnect elsewhere.


class HallApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn run from ``hall serve --workers N`` (the master is this process)."""

    def __init__(self, command_line: dict[str, Any]) -> None:
        self.command_line = command_line  # the [server] keys given on the command line
        super().__init__()

    def settings(self) -> Any:
        from .settings import load_settings

        return load_settings(command_line={"server": self.command_line})

    def load_config(self) -> None:
        settings = self.settings()  # read again on HUP: new workers get the new settings
        server = settings.server
        host = self.command_line.get("host") or server.host
        port = self.command_line.get("port") or server.port
        options = {
            "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
            "workers": server.workers,
            "worker_class": HallWorker,
            "worker_connections": WORKER_CONNECTIONS,
            "backlog": BACKLOG,
            "graceful_timeout": GRACEFUL_TIMEOUT_S,
            "proc_name": f"hall-{settings.hall.code}",
            "pre_fork": _number_the_worker,
            "child_exit": _unmark,
            "on_exit": _remove_markers,
            # gunicorn's control socket is one path per user (~/.gunicorn/gunicorn.ctl), shared
            # by every hall server of the machine: signals do the same, per master.
            "control_socket_disable": True,
        }
        for key, value in options.items():
            self.cfg.set(key, value)
        if not _MARKERS:  # the master, once: kept across HUPs
            _MARKERS.append(Path(tempfile.mkdtemp(prefix="hall-workers-")))
        from_env = self.cfg.get_cmd_args_from_env()  # GUNICORN_CMD_ARGS: the operator's word
        if from_env:
            parsed = self.cfg.parser().parse_args(from_env)
            for key, value in vars(parsed).items():
                if value is not None and key in self.cfg.settings and key != "args":
                    self.cfg.set(key.lower(), value)

    def load(self) -> Any:
        """In each worker, after the fork: the hall's app and its leader election."""
        from . import create_app
        from .bootstrap import elect_leader
        from .server import settle_process

        app = create_app(settings=self.settings())
        app.config["HALL_WORKER"] = getattr(_number_the_worker, "current", 0)
        elect_leader(app)  # the worker holding the leader lock runs the background jobs, once
        settle_process()
        return app


def _number_the_worker(arbiter: Any, worker: Any) -> None:
    """Before a fork: the lowest number no live worker has (shown in /api/v1/health), so a
    worker started again in place of a dead one takes its number."""
    taken = {getattr(w, "hall_index", -1) for w in arbiter.WORKERS.values()}
    worker.hall_index = next(n for n in range(len(taken) + 1) if n not in taken)
    _number_the_worker.current = worker.hall_index  # type: ignore[attr-defined]  # forked
    _mark("booting", worker.age)


def _unmark(arbiter: Any, worker: Any) -> None:
    """A worker ended (in the master): a replaced worker waits for it no more."""
    _mark("booting", worker.age, remove=True)


def _remove_markers(arbiter: Any) -> None:
    if _MARKERS:
        shutil.rmtree(_MARKERS[0], ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """``python -m hall_server.workers --host H --port P --workers N``: the gunicorn master.

    ``hall serve`` starts it in a fresh interpreter (``os.execv``): the master must not be
    patched by gevent, which ``hall`` does for a server command before anything else runs.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="hall serve")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    command_line = {key: value for key, value in vars(args).items() if value is not None}
    HallApplication(command_line).run()
    sys.exit(0)


if __name__ == "__main__":
    main()
