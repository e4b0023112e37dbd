"""``hall demo``'s kiosks: one ``hall kiosk-agent`` process per kiosk with a fake printer.

Each agent prints every ticket as a PNG under ``var/printed/<kiosk>/<number>.png`` and logs
to ``var/logs/<kiosk>.log``, as a real kiosk PC would run it next to its browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hall_server.agent_processes import start_agent
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
        start_agent(["kiosk-agent", "--server", base_url, "--out-dir", str(printed)],
                    devices[name][1], logs / f"{name}.log")  # fmt: skip
        started.append((name, printed / name))
    return started
