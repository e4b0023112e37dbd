"""One Socket.IO connection to a namespace of the hall server, kept up in a background thread.

It connects straight by websocket (one connection, so a server of several workers keeps the
session on one), retries with a growing delay while the server is away, connects again after
every disconnect, and records why the last attempt failed — the server's own reason when it
gave one (a refused token), for the agent's status line::

    link = Connection(url, "/kiosk", {"token": token, "role": "agent"})
    link.on("print", on_print)
    link.watch(lambda change: log.info("%s", change))
    link.start()
    link.emit("print_result", {"job_id": 7, "ok": True})

``auth`` may be a callable, asked at each attempt (the hall client sends its last seq).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import socketio

log = logging.getLogger(__name__)

Auth = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
# "connected", "disconnected" or "error": told to the watchers under the connection's lock
# (re-entrant: a watcher may read ``connected`` and ``error``), so they must be quick.
Watcher = Callable[[str], None]


class Connection:
    """Keep one namespace of the hall server connected until ``stop``."""

    def __init__(
        self,
        url: str,
        namespace: str,
        auth: Auth,
        *,
        retry_delay_s: float = 0.5,
        retry_delay_max_s: float = 5.0,
        connect_timeout_s: float = 5.0,
        name: str = "hall-connection",
    ) -> None:
        self.url = url.rstrip("/")
        self.namespace = namespace
        self._auth = auth
        self._retry = (retry_delay_s, retry_delay_max_s)
        self._connect_timeout_s = connect_timeout_s
        self._name = name
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._watchers: list[Watcher] = []
        self._lock = threading.RLock()
        self._connected = False
        self._error = ""
        self._stop = threading.Event()
        self._down = threading.Event()
        self._thread: threading.Thread | None = None
        self._sio: Any = None

    @property
    def connected(self) -> bool:
        """Whether the namespace is connected now."""
        with self._lock:
            return self._connected

    @property
    def error(self) -> str:
        """Why the last connection attempt failed ("" once connected)."""
        with self._lock:
            return self._error

    def on(self, message: str, handler: Callable[..., Any]) -> None:
        """Call ``handler(data)`` for each ``message`` the server sends (set before ``start``).

        Socket.IO runs each message's handler in a thread of its own.
        """
        self._handlers[message] = handler

    def watch(self, watcher: Watcher) -> None:
        """Tell ``watcher`` each change: "connected", "disconnected" or "error"."""
        self._watchers.append(watcher)

    def start(self) -> None:
        """Connect in the background and keep reconnecting until ``stop``."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Disconnect and stop reconnecting."""
        self._stop.set()
        self._down.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def emit(self, message: str, data: Any) -> bool:
        """Send ``message`` if connected; say whether it went out."""
        sio = self._sio
        if sio is None or not sio.connected:
            return False
        try:
            sio.emit(message, data, namespace=self.namespace)
        except socketio.exceptions.SocketIOError as error:
            log.warning("could not send %s: %s", message, error)
            return False
        return True

    # The loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        delay, delay_max = self._retry
        while not self._stop.is_set():
            self._down.clear()
            sio = self._new_socket()
            try:
                sio.connect(
                    self.url,
                    auth=self._auth,
                    namespaces=[self.namespace],
                    transports=["websocket"],
                    wait_timeout=self._connect_timeout_s,
                )
            except (socketio.exceptions.ConnectionError, ValueError) as error:
                self._set_error(str(error), keep=True)
                log.info("hall server %s not reachable (%s); retrying in %.1f s",
                         self.url, self.error, delay)  # fmt: skip
                self._close(sio)
                if self._stop.wait(delay):
                    break
                delay = min(delay * 2, delay_max)
                continue
            delay = self._retry[0]
            self._down.wait()
            self._close(sio)

    def _new_socket(self) -> Any:
        sio = socketio.Client(reconnection=False)  # reconnecting is this class's job
        sio.on("connect", self._on_connect, namespace=self.namespace)
        sio.on("connect_error", self._on_connect_error, namespace=self.namespace)
        sio.on("disconnect", self._on_disconnect, namespace=self.namespace)
        for message, handler in self._handlers.items():
            sio.on(message, handler, namespace=self.namespace)
        self._sio = sio
        return sio

    def _close(self, sio: Any) -> None:
        try:
            sio.disconnect()
        except Exception:  # already gone: nothing to close
            log.debug("closing the hall connection", exc_info=True)
        with self._lock:
            was, self._connected = self._connected, False
            self._tell("disconnected")
        if was:
            log.warning("disconnected from %s%s", self.url, self.namespace)

    def _on_connect(self) -> None:
        with self._lock:
            if self._down.is_set():  # its thread ran late: this socket is already closed
                return
            self._connected, self._error = True, ""
            self._tell("connected")
        log.info("connected to %s%s", self.url, self.namespace)

    def _on_connect_error(self, data: Any = None) -> None:
        message = data.get("message") if isinstance(data, dict) else data
        self._set_error(str(message or "connection refused"))

    def _set_error(self, message: str, *, keep: bool = False) -> None:
        """Record why connecting failed; ``keep`` leaves the server's own reason in place."""
        with self._lock:
            if not (keep and self._error):
                self._error = message
            self._tell("error")

    def _on_disconnect(self, *_: Any) -> None:
        self._down.set()

    def _tell(self, change: str) -> None:
        for watcher in self._watchers:
            try:
                watcher(change)
            except Exception:  # a broken watcher must not stop the connection
                log.exception("connection watcher failed on %s", change)
