"""What the display agent takes from its device's settings (``GET /api/v1/display/config``).

Read when the agent starts and again whenever the hall says they may have changed (a
``config.changed`` event: an admin changed the hall's voice, a window or this device's
options), so a running agent shows and reads the next call the new way. Pure: the server's
answer and the agent's ``--options`` file (which replaces the device's options) in, what the
agent applies out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from display.led_content import strip_texts
from display.voice.plan import Settings

OPTION_KEYS = frozenset({
    "strips", "board", "texts", "audio", "voice", "recent_calls",
    "stale_s", "voice_within_s", "announce", "announce_mode",  # the speaker's (docs/DISPLAY.md)
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """One reading of the device's settings, as the agent applies them."""

    answer: Mapping[str, Any]  # the server's answer as it came (window_floors, server_time …)
    options: Mapping[str, Any]  # the device's options, or the --options file's
    windows: frozenset[int]  # the windows whose calls it shows: the device's and its strips'
    texts: Mapping[str, str]  # what a strip says in each window state
    voice: Settings  # how its speaker plans and reads
    voice_windows: frozenset[int]  # the windows whose calls its speaker reads
    voice_on: bool
    voice_message: str

    @property
    def floors(self) -> dict[str, int | None]:
        """The floor a call to each window names (``window_floors``)."""
        return dict(self.answer.get("window_floors") or {})

    @property
    def signs(self) -> tuple[Any, Any]:
        """The signs it drives: set up at start, a change needs a restart of the agent."""
        return self.options.get("strips"), self.options.get("board")


def check_options(options: Mapping[str, Any]) -> None:
    """Refuse an option the agent does not know (a typo must not pass unnoticed)."""
    unknown = sorted(set(options) - OPTION_KEYS)
    if unknown:
        raise ValueError(f"显示代理配置项未知 / unknown display agent option: {', '.join(unknown)}")


def read_settings(
    answer: Mapping[str, Any], override: Mapping[str, Any] | None = None
) -> AgentSettings:
    """Read ``/api/v1/display/config``'s answer; ``override`` replaces the device's options.

    Raise ValueError for an unknown option or announce mode.
    """
    options = dict(override) if override is not None else dict(answer.get("options") or {})
    check_options(options)
    windows = {int(n) for n in answer.get("windows") or []}
    for strip in options.get("strips") or []:
        if isinstance(strip, Mapping) and "window" in strip:
            windows.add(int(strip["window"]))
    voice = dict(answer.get("voice") or {})
    # The windows of the device's ``announce`` area (display.scope.voice_windows, worked out
    # by the server); by default every window it shows.
    voice_windows = frozenset(int(n) for n in voice.get("windows", windows))
    return AgentSettings(
        answer=dict(answer),
        options=options,
        windows=frozenset(windows),
        texts=strip_texts(options),
        voice=Settings.from_config(voice, options),
        voice_windows=voice_windows,
        voice_on=bool(voice.get("enabled", True)) and options.get("voice") is not False,
        voice_message=str(voice.get("message", "")),
    )
