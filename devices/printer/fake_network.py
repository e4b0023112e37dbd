"""A pretend network printer on 127.0.0.1: records what arrives, answers DLE EOT like one."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from types import TracebackType
from typing import Literal, get_args

from devices.printer.status import (
    REPLY_OFFLINE,
    REPLY_ONLINE,
    REPLY_PAPER_LOW,
    REPLY_PAPER_OK,
    REPLY_PAPER_OUT,
)

NetworkPaper = Literal["ok", "low", "out", "offline", "silent"]

# (answer to DLE EOT 1, answer to DLE EOT 4); a real printer goes offline when paper ends.
_REPLIES: dict[str, tuple[int, int]] = {
    "ok": (REPLY_ONLINE, REPLY_PAPER_OK),
    "low": (REPLY_ONLINE, REPLY_PAPER_LOW),
    "out": (REPLY_OFFLINE, REPLY_PAPER_OUT),
    "offline": (REPLY_OFFLINE, REPLY_PAPER_OK),
}


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    owner: FakeNetworkPrinter


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        owner: FakeNetworkPrinter = self.server.owner  # type: ignore[attr-defined]
        sock: socket.socket = self.request
        index = owner._connection_opened(sock)
        tail = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            owner._received(index, chunk)
            # A query may straddle two reads: keep the last two bytes for the next scan.
            window = tail + chunk
            start = 0
            while (found := window.find(b"\x10\x04", start)) != -1 and found + 2 < len(window):
                reply = owner._reply_to(window[found + 2])
                if reply is not None:
                    try:
                        sock.sendall(bytes([reply]))
                    except OSError:
                        break
                start = found + 3
            tail = window[max(start, len(window) - 2) :]
        owner._connection_closed(index)


class FakeNetworkPrinter:
    """Listen on 127.0.0.1 like a port-9100 printer; ``paper`` sets what it answers."""

    def __init__(self, paper: NetworkPaper = "ok") -> None:
        """Bind a free port on 127.0.0.1; ``start()`` begins serving."""
        self.paper = paper
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._changed = threading.Condition()
        self._connections: list[bytearray] = []
        self._open: set[int] = set()
        self._sockets: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self.queries_answered = 0

    @property
    def paper(self) -> NetworkPaper:
        """Return what the printer answers: ok, low, out, offline, or silent (no answer)."""
        return self._paper

    @paper.setter
    def paper(self, state: NetworkPaper) -> None:
        if state not in get_args(NetworkPaper):
            raise ValueError(f"paper must be one of {get_args(NetworkPaper)}, not {state!r}")
        self._paper = state

    @property
    def port(self) -> int:
        """Return the port it listens on."""
        return int(self._server.server_address[1])

    def start(self) -> FakeNetworkPrinter:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop every connection."""
        self._server.shutdown()
        with self._changed:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # the client may have left already
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeNetworkPrinter:
        """Start serving."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving."""
        self.stop()

    @property
    def connections(self) -> list[bytes]:
        """Return the bytes received on each connection so far, oldest first."""
        with self._changed:
            return [bytes(data) for data in self._connections]

    def wait_for_closed_connection(self, index: int, timeout_s: float = 5.0) -> bytes:
        """Wait until connection ``index`` (0 = first) has closed; return all it carried."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not (index < len(self._connections) and index not in self._open):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"connection {index} did not close in {timeout_s} s")
                self._changed.wait(remaining)
            return bytes(self._connections[index])

    # Called from the handler threads -------------------------------------------------
    def _connection_opened(self, sock: socket.socket) -> int:
        with self._changed:
            self._connections.append(bytearray())
            index = len(self._connections) - 1
            self._open.add(index)
            self._sockets.append(sock)
            self._changed.notify_all()
            return index

    def _received(self, index: int, chunk: bytes) -> None:
        with self._changed:
            self._connections[index] += chunk
            self._changed.notify_all()

    def _connection_closed(self, index: int) -> None:
        with self._changed:
            self._open.discard(index)
            self._changed.notify_all()

    def _reply_to(self, n: int) -> int | None:
        state = self._paper
        if state == "silent" or n not in (1, 4):
            return None
        self.queries_answered += 1
        online, paper = _REPLIES[state]
        return online if n == 1 else paper
