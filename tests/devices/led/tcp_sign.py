"""A small TCP stand-in for an RS-485-to-Ethernet converter with a sign behind it."""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Callable

from devices.led import generic

Reply = Callable[[generic.Frame], bytes | None]


class TcpSign:
    """Accept connections on 127.0.0.1, decode generic frames, answer with ``reply``."""

    def __init__(self, reply: Reply, port: int = 0) -> None:
        self.reply = reply
        self.frames: queue.Queue[generic.Frame] = queue.Queue()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", port))
        self._server.listen(4)
        self._server.settimeout(0.1)
        self.port: int = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def next_frame(self, timeout_s: float = 5.0) -> generic.Frame:
        return self.frames.get(timeout=timeout_s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.1)
                buffer = b""
                while not self._stop.is_set():
                    try:
                        chunk = conn.recv(4096)
                    except TimeoutError:
                        continue
                    if not chunk:
                        break
                    buffer += chunk
                    while generic.ETX in buffer:
                        raw, _, buffer = buffer.partition(bytes([generic.ETX]))
                        frame = generic.decode_frame(raw + bytes([generic.ETX]))
                        self.frames.put(frame)
                        answer = self.reply(frame)
                        if answer is not None:
                            conn.sendall(answer)
