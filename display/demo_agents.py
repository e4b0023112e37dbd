"""``hall demo``'s display side: the LED agents as child processes, and the voice bank.

Each agent device whose options name LED signs (``strips``/``board``; fake in the demo
hall) runs as ``hall display-agent`` in its own process, like on a real site, logging what
its signs show to ``var/logs/<device>.log``. The clip bank is made in the background so the
first call is announced without waiting for espeak-ng.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from display.voice import VoiceError, generate_clip_bank
from display.web import VOICE_DIR
from hall_server.agent_processes import start_agent
from hall_server.settings import Settings

log = logging.getLogger(__name__)


def led_agent_names(settings: Settings) -> list[str]:
    """Return the agent devices of the hall that drive LED signs."""
    return [
        d.name
        for d in settings.hall.devices
        if d.kind == "agent" and ("strips" in d.options or "board" in d.options)
    ]


def start_display_agents(
    settings: Settings, base_url: str, devices: Mapping[str, tuple[str, str]]
) -> list[tuple[str, Path]]:
    """Start one ``hall display-agent`` per LED agent; return (name, log file) pairs."""
    logs = settings.server.var_path / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = []
    for name in led_agent_names(settings):
        if name not in devices:
            continue
        path = logs / f"{name}.log"
        start_agent(["display-agent", "--server", base_url], devices[name][1], path)
        started.append((name, path))
    return started


def prepare_voice(settings: Settings) -> None:
    """Make the clip bank in the background; without espeak-ng the hall runs silent."""

    def make() -> None:
        try:
            generate_clip_bank(settings.server.var_path / VOICE_DIR)
        except VoiceError as error:
            log.warning("%s", error)

    threading.Thread(target=make, name="voice-bank", daemon=True).start()
