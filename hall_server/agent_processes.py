"""Device agents run by ``hall demo`` as child processes, as they would run on a real site."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
from pathlib import Path


def start_agent(args: list[str], token: str, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``hall <args…>`` with the device's token; stop it when the demo ends."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HALL_DEVICE_TOKEN": token}  # not on the command line
    with log_path.open("ab") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "hall_server", *args],
            env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        )  # fmt: skip
    atexit.register(_stop, process)
    return process


def _die_with_parent() -> None:
    """Have Linux stop the agent when the demo dies, even by SIGKILL (no atexit then)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: atexit still stops the agents on a normal exit


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
