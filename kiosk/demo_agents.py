"""``hall demo``'s kiosks: one ``hall kiosk-agent`` process per kiosk with a fake printer.

Each agent prints every ticket as a PNG under ``var/printed/<kiosk>/<number>.png`` and logs
to ``var/logs/<kiosk>.log``, as a real kiosk PC would run it next to its browser.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from hall_server.settings import Settings


def fake_printer_kiosks(settings: Settings) -> list[str]:
    """Return the kiosks whose configured printer is the fake one."""
    return [
        d.name
        for d in settings.hall.devices
        if d.kind == "kiosk" and (d.options.get("printer") or {}).get("type") == "fake"
    ]


def start_kiosk_agents(
    settings: Settings, base_url: str, devices: Mapping[str, tuple[str, str]]
) -> list[tuple[str, Path]]:
    """Start one agent per fake-printer kiosk; return (kiosk, folder of its printed tickets)."""
    var = settings.server.var_path
    logs, printed = var / "logs", var / "printed"
    logs.mkdir(parents=True, exist_ok=True)
    started = []
    for name in fake_printer_kiosks(settings):
        if name not in devices:
            continue
        env = {**os.environ, "HALL_DEVICE_TOKEN": devices[name][1]}  # not on the command line
        command = [sys.executable, "-m", "hall_server", "kiosk-agent", "--server", base_url,
                   "--out-dir", str(printed)]  # fmt: skip
        with (logs / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       preexec_fn=_die_with_parent)  # fmt: skip
        atexit.register(_stop, process)
        started.append((name, printed / name))
    return started


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
