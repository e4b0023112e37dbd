"""A device on the far side of a pseudo-terminal: the code under test opens ``path`` as its
serial port; the test's peer reads what it sends in the background and may answer."""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable

# Given the bytes read so far (not yet consumed), handle whole messages and return the rest.
Consume = Callable[[bytes], bytes]


class PtyPeer:
    """The master side of a pty, read by a background thread that hands bytes to ``consume``."""

    def __init__(self, consume: Consume, *, poll_s: float = 0.05) -> None:
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        self._consume, self._poll_s = consume, poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        """Send ``data`` to the code under test."""
        os.write(self.master, data)

    def _run(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], self._poll_s)
            if not ready:
                continue
            try:
                buffer += os.read(self.master, 4096)
            except OSError:
                return
            buffer = self._consume(buffer)

    def close(self, *, close_fds: bool = True) -> None:
        """Stop reading; close both ends unless the caller owns them."""
        self._stop.set()
        self._thread.join(5)
        if close_fds:
            os.close(self.master)
            os.close(self.slave)
