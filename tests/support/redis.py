"""A throwaway Redis on 127.0.0.1: the Socket.IO queue between server processes."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from .polling import until
from .ports import free_port


@contextlib.contextmanager
def redis_server(workdir: Path, program: str = "redis-server") -> Iterator[str]:
    """Start a Redis that keeps nothing on disk; yield its URL; stop it at the end."""
    port = free_port()
    server = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def pongs() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")

    try:
        until(pongs, 20, what="redis-server answering PING")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)
