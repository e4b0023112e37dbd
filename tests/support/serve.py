"""The one way tests and benchmarks start ``hall serve``: a real process on 127.0.0.1.

server = start_hall_serve(env, tmp_path / "server.log")   # waits until it answers
requests.get(server.url("/api/v1/health"))
server.stop()
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .polling import until
from .ports import free_port

ROOT = Path(__file__).resolve().parents[2]
READY_S = 30.0


@dataclass
class HallServe:
    """One running ``hall serve`` (with ``--workers``: the process manager and its workers)."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str) -> str:
        return self.base_url + path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM (to its whole session when it has one), SIGKILL after ``grace_s``."""
        if self.process.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Stop it at once, as a crash or a power cut would."""
        if self.process.poll() is None:
            self._signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(self.process.pid) == self.process.pid:  # its own session
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)


def answers(base_url: str) -> bool:
    """Whether a hall server answers its OpenAPI document at ``base_url``."""
    with urllib.request.urlopen(base_url + "/api/v1/openapi.json", timeout=2) as response:
        return bool(response.status == 200)


def start_hall_serve(
    env: Mapping[str, str],
    log_path: Path,
    *,
    port: int | None = None,
    args: Sequence[str] = (),
    own_session: bool = False,
    ready_s: float = READY_S,
) -> HallServe:
    """Start ``hall serve`` on 127.0.0.1 (``port``, else a free one) with ``env``; append its
    output to ``log_path``; return once it answers HTTP. ``own_session`` puts it in a process
    group of its own, so ``stop`` ends its workers too. A server that exits or does not answer
    in ``ready_s`` fails with its log."""
    port = port or free_port()
    command = [sys.executable, "-m", "hall_server", "serve", "--host", "127.0.0.1",
               "--port", str(port), *args]  # fmt: skip
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=own_session,
        )
    server = HallServe(process, port, log_path)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"hall serve exited with {process.returncode}:\n{server.log()}")
        return answers(server.base_url)

    try:
        until(ready, ready_s, interval_s=0.05, what="hall serve answering HTTP")
    except AssertionError:
        server.stop()
        raise RuntimeError(f"hall serve not ready after {ready_s} s:\n{server.log()}") from None
    return server
