"""The display agent (``hall display-agent``): LED signs and an optional speaker, by device token.

It asks the server which windows it serves and which signs it drives (the device's
``options``, e.g. the demo hall's ``led-agent-1f``: a strip per window and a hall board),
keeps the hall's state with ``HallClient`` (reconnects, resyncs by ``last_seq``), writes
each sign when what it should show changes, reads call announcements on a local speaker
when asked (``display/speaker.py``, planned for a rush like the TV page), and reports the
signs' health to ``POST /api/v1/devices/status``. When an admin changes the hall's voice or
the device's options (``config.changed``), it reads its settings again and applies them to
the next call, without a restart (``display/agent_settings.py``).

Sign writes run in one worker thread, so a slow RS-485 bus never holds up the Socket.IO
client; a call or recall is always written again, even when the text is the same.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.base import DeviceError, Health
from devices.led import LedSign, build_led_sign
from display.agent_settings import AgentSettings, check_options, read_settings
from display.led_content import StripContent, board_lines, strip_content
from display.speaker import Player, Speaker, command_player, default_player, hall_clock
from hall_server.client.api import ApiError, HallApi, Unreachable
from hall_server.client.hall import HallClient
from hall_server.client.state import HallState
from hall_server.client.status import StatusReporter

log = logging.getLogger(__name__)

HEALTH_ORDER = {"ok": 0, "unknown": 1, "warning": 2, "fault": 3}
CALLS = ("ticket.called", "ticket.recalled")
CONFIG_CHANGED = "config.changed"  # an admin changed the hall's layout or settings
SETTINGS_TIMEOUT_S = 5.0  # reading the settings again after a change (the socket waits for it)


@dataclass
class SignSlot:
    """One sign the agent drives and what it last wrote there."""

    key: str  # "w3" for the strip above window 3, "board" for the hall board
    label: str
    sign: LedSign
    window: int | None = None
    lines: int = 0
    shown: Any = None  # the StripContent or lines written last; None = write again
    health: str = "unknown"
    error: str = ""
    writes: int = 0


@dataclass
class AgentStats:
    """Counters for tests, benchmarks and the log."""

    writes: int = 0
    write_errors: int = 0
    reports: int = 0
    announcements: int = 0
    settings_reads: int = 0  # the settings read again after a change
    last_write: dict[str, float] = field(default_factory=dict)  # key -> time.monotonic()


def build_slots(options: Mapping[str, Any]) -> list[SignSlot]:
    """Build the signs named in a device's options: ``strips`` and ``board``."""
    check_options(options)
    slots = []
    for index, strip in enumerate(options.get("strips") or []):
        if not isinstance(strip, Mapping) or "window" not in strip or "sign" not in strip:
            raise ValueError(f"strips[{index}] needs a window and a sign, got {strip!r}")
        window = int(strip["window"])
        sign_options = dict(strip["sign"])
        if sign_options.get("type") == "fake":
            sign_options.setdefault("name", f"strip-{window}")
        sign = build_led_sign(sign_options)
        slots.append(SignSlot(f"w{window}", f"{window}号窗口条屏", sign, window=window))
    board = options.get("board")
    if board:
        if not isinstance(board, Mapping) or "sign" not in board:
            raise ValueError(f"board needs a sign, got {board!r}")
        sign_options = dict(board["sign"])
        if sign_options.get("type") == "fake":
            sign_options.setdefault("name", "board")
        slots.append(
            SignSlot("board", "大厅综合屏", build_led_sign(sign_options),
                     lines=int(board.get("lines", 4)))
        )  # fmt: skip
    return slots


class DisplayAgent:
    """Drive one agent device's LED signs (and speaker) from the hall's live state."""

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        options: Mapping[str, Any] | None = None,
        player: Player | None = None,
        play_audio: bool | None = None,
        status_interval_s: float = 30.0,
        retry_delay_s: float = 0.5,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.token = token
        self._options_override = dict(options) if options is not None else None
        self._player = player
        self._play_audio = play_audio
        self.status_interval_s = status_interval_s
        self.retry_delay_s = retry_delay_s
        self.settings: dict[str, Any] = {}  # the server's last answer (/display/config)
        self.config: AgentSettings | None = None  # what the agent took from it
        self.slots: list[SignSlot] = []
        self.windows: set[int] = set()
        self.stats = AgentStats()
        self.client: HallClient | None = None
        self.api = HallApi(self.server_url, token)
        # The signs' health goes out every round, changed or not: it is the agent's heartbeat.
        self.status = StatusReporter(self.api, heartbeat_s=0)
        self._settings_api = HallApi(self.server_url, token, timeout_s=SETTINGS_TIMEOUT_S)
        self._cond = threading.Condition()
        self._dirty: dict[str, bool] = {}  # slot key -> forced (a call: write even if same)
        self._stop = threading.Event()
        self._report_now = threading.Event()
        self._io_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._texts: dict[str, str] = {}
        self._snapshots = 0
        self._confirm_settings = False  # read the settings once more at the next message
        self.speaker: Speaker | None = None
        self.voice_windows: set[int] = set()

    # Life ------------------------------------------------------------------------------

    def start(self, connect_timeout_s: float | None = None) -> None:
        """Read the device's settings (retrying until the server answers), then run."""
        answer = self._fetch_settings(connect_timeout_s)
        config = read_settings(answer, self._options_override or None)
        self.slots = build_slots(config.options)
        self._take(config)
        audio = dict(config.options.get("audio") or {})
        play = self._play_audio if self._play_audio is not None else bool(audio.get("play"))
        if play and self._player is None:
            command = audio.get("command")
            self._player = command_player(list(command)) if command else default_player()
            if self._player is None:
                log.warning("没有可用的播放程序 (aplay/paplay/play) / no audio player found")
        self.client = HallClient(
            self.server_url, token=self.token, retry_delay_s=self.retry_delay_s
        )
        loops: list[tuple[Callable[[], None], str]] = [
            (self._render_loop, "led-writer"), (self._report_loop, "status")
        ]  # fmt: skip
        if play and self._player is not None:
            self.voice_windows = set(config.voice_windows)
            if not config.voice_on:
                log.warning("语音播报已关闭 / voice off: %s", config.voice_message)
            self.speaker = Speaker(
                HallApi(self.server_url, self.token),
                self._player,
                config.voice,
                floors=config.floors,
                windows=self._windows_now,
                clock=hall_clock(self.settings.get("server_time")),
                enabled=config.voice_on,
                stats=self.stats,
            )
            loops.append((self.speaker.run, "speaker"))
        self.client.on("snapshot", self._on_snapshot)
        self.client.on("*", self._on_event)
        for target, name in loops:
            thread = threading.Thread(target=target, name=f"display-agent-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.client.start()
        log.info(
            "display agent %s: %d signs, windows %s, audio %s",
            self.settings.get("device"), len(self.slots), sorted(self.windows),
            f"on (reads windows {sorted(self.voice_windows)})" if self.speaker else "off",
        )  # fmt: skip

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the client and the worker threads."""
        self._stop.set()
        self._report_now.set()
        if self.speaker is not None:
            self.speaker.stop()
        with self._cond:
            self._cond.notify_all()
        if self.client is not None:
            self.client.stop(timeout_s)
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()
        self.api.close()
        self._settings_api.close()

    def run_forever(self) -> None:
        """Run until interrupted (the ``hall display-agent`` command)."""
        self.start()
        try:
            while not self._stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _fetch_settings(self, timeout_s: float | None) -> dict[str, Any]:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay = self.retry_delay_s
        while True:
            try:
                return self.api.call("GET", "/display/config")
            except Unreachable as error:
                reason = str(error)
            except ApiError as error:
                if error.refused:
                    raise DeviceError(
                        f"服务器拒绝了本设备的令牌 / the server refused this device's token: "
                        f"{error.status} {error.message[:200]}"
                    ) from None
                reason = f"HTTP {error.status}"
            if deadline is not None and time.monotonic() > deadline:
                raise DeviceError(f"无法连接服务器 / cannot reach the hall server: {reason}")
            log.warning("hall server not reachable (%s); retrying in %.1f s", reason, delay)
            if self._stop.wait(delay):
                raise DeviceError("stopped")
            delay = min(delay * 2, 10.0)

    # Settings changed while running ------------------------------------------------------

    def _take(self, config: AgentSettings) -> None:
        """Apply a reading of the settings: what the signs show, how the speaker reads."""
        self.config, self.settings = config, dict(config.answer)
        self._texts = dict(config.texts)
        self.windows = set(config.windows)
        if self.speaker is not None:
            self.voice_windows = set(config.voice_windows)
            self.speaker.configure(config.voice, floors=config.floors, enabled=config.voice_on)

    def reload_settings(self) -> bool:
        """Read the device's settings again and apply them; return whether the server answered.

        Runs in the client's thread, before the events after the change are handled: the
        next call is shown and read by the new settings. The signs and the audio player
        themselves are set up at start; a change to them waits for a restart.
        """
        try:
            answer = self._settings_api.call("GET", "/display/config")
        except (ApiError, Unreachable) as error:
            log.warning("设置未能重新读取 / settings not read again: %s", error)
            return False
        try:
            config = read_settings(answer, self._options_override or None)
        except ValueError as error:  # an option this agent does not know: keep the old ones
            log.warning("新设置未采用 / new settings not taken: %s", error)
            return True
        before = self.config
        self._take(config)
        self.stats.settings_reads += 1
        if before is not None and before.signs != config.signs:
            log.warning("LED 屏的更改在重启代理后生效 / sign changes take effect at restart")
        if before is not None and before.voice_on != config.voice_on and self.speaker:
            log.info("语音播报%s / voice %s", "已开启" if config.voice_on else "已关闭",
                     "on" if config.voice_on else f"off: {config.voice_message}")  # fmt: skip
        self._mark_all(force=False)  # new texts or windows: the signs compare and rewrite
        return True

    def _on_snapshot(self, _: Any) -> None:
        # A snapshot after the first (a reconnect too far behind) may skip a config.changed.
        self._snapshots += 1
        if self._snapshots > 1:
            self.reload_settings()
        self._mark_all(force=False)

    # Events -> signs ---------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", ""))
        if kind == CONFIG_CHANGED:
            # The device's options are read fresh at once, but the server answers the hall's
            # voice settings from its layout in memory, which it reads again at its next write
            # or count of the queues: read once more at the next message, sent after that.
            self.reload_settings()
            self._confirm_settings = True
            return
        if self._confirm_settings:
            self._confirm_settings = not self.reload_settings()
        if not (kind.startswith("ticket.") or kind.startswith("window.")):
            return
        window = event.get("window")
        called = kind in ("ticket.called", "ticket.recalled") and window in self.windows
        with self._cond:
            for slot in self.slots:
                # A ticket moving (transfer, finish) may change any strip; unchanged ones are
                # compared and skipped, so marking them all costs nothing on the bus.
                forced = called and (slot.window == window or slot.key == "board")
                self._dirty[slot.key] = self._dirty.get(slot.key, False) or forced
            self._cond.notify_all()
        if self.speaker is not None and kind in CALLS and window in self.voice_windows:
            self.speaker.push(event)

    def _windows_now(self) -> dict[int, dict[str, Any]]:
        """The hall's windows as the agent knows them now (empty before the first snapshot)."""
        if self.client is None:
            return {}
        state = self.client.state
        return state.windows if state.ready else {}

    def _mark_all(self, *, force: bool) -> None:
        with self._cond:
            for slot in self.slots:
                self._dirty[slot.key] = self._dirty.get(slot.key, False) or force
            self._cond.notify_all()

    def _render_loop(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                while not self._dirty and not self._stop.is_set():
                    self._cond.wait(1.0)
                dirty, self._dirty = self._dirty, {}
            if self._stop.is_set() or self.client is None:
                return
            state = self.client.state
            if not state.ready:
                continue
            for slot in self.slots:
                if slot.key in dirty:
                    self._render(slot, state, force=dirty[slot.key])

    def _render(self, slot: SignSlot, state: HallState, *, force: bool) -> None:
        content: Any
        if slot.window is not None:
            window = state.windows.get(slot.window)
            if window is None:
                return
            content = strip_content(window, self._texts)
        else:
            floors = self.settings.get("window_floors") or {}
            content = tuple(board_lines(state.recent_calls, self.windows, slot.lines, floors))
        if content == slot.shown and not force:
            return
        try:
            with self._io_lock:
                if isinstance(content, StripContent):
                    if content.is_call:
                        slot.sign.show_call(content.number, content.window)
                    else:
                        slot.sign.show_state(content.text)
                else:
                    slot.sign.show_lines(list(content))
        except DeviceError as error:
            slot.shown = None  # written again on the next status round
            self.stats.write_errors += 1
            if slot.health != "fault" or slot.error != str(error):
                log.warning("%s: %s", slot.label, error)
                slot.health, slot.error = "fault", str(error)
                self._report_now.set()
            return
        slot.shown = content
        slot.writes += 1
        self.stats.writes += 1
        self.stats.last_write[slot.key] = time.monotonic()
        if slot.health == "fault":
            slot.health, slot.error = "ok", ""
            self._report_now.set()
        log.info("%s: %s", slot.label, _describe(content))

    # Status ------------------------------------------------------------------------------

    def _report_loop(self) -> None:
        while not self._stop.is_set():
            self.report_status()
            # Signs that failed get their content again (a sign back from a power cut).
            with self._cond:
                for slot in self.slots:
                    if slot.shown is None:
                        self._dirty.setdefault(slot.key, False)
                self._cond.notify_all()
            self._report_now.wait(self.status_interval_s)
            self._report_now.clear()

    def sign_health(self) -> dict[str, Any]:
        """Ask every sign for its status; return the part status sent to the server."""
        detail: dict[str, str] = {}
        worst = "ok"
        for slot in self.slots:
            try:
                with self._io_lock:
                    status = slot.sign.status()
                health = status.health.value
            except DeviceError as error:
                health, slot.error = Health.FAULT.value, str(error)
            if slot.health == "fault":  # the last write failed: that outranks a ping
                health = "fault"
            detail[slot.key] = health
            if HEALTH_ORDER[health] > HEALTH_ORDER[worst]:
                worst = health
        faults = [s.label for s in self.slots if detail.get(s.key) == "fault"]
        message = (
            f"LED 屏故障：{'、'.join(faults)} / LED signs failing: {len(faults)}"
            if faults
            else f"LED 屏 {len(self.slots)} 块 / {len(self.slots)} LED signs"
        )
        online = None if worst == "unknown" else worst != "fault"
        return {"health": worst, "online": online, "detail": detail, "message": message[:200]}

    def report_status(self) -> bool:
        """Send the signs' health to the server; return whether it was accepted."""
        if not self.slots:
            return False
        sent = self.status.sent
        accepted = self.status.report("led", self.sign_health())
        self.stats.reports += self.status.sent - sent
        return accepted


def _describe(content: Any) -> str:
    if isinstance(content, StripContent):
        return f"{content.number} 请到{content.window}号窗口" if content.is_call else content.text
    return " | ".join(content) or "(空 / blank)"


def run_agent(server_url: str, token: str, *, options_file: Path | None = None,
              play_audio: bool | None = None) -> None:  # fmt: skip
    """Run the agent until interrupted; ``options_file`` (TOML) replaces the server's options."""
    options = None
    if options_file is not None:
        import tomllib

        options = tomllib.loads(options_file.read_text(encoding="utf-8"))
    agent = DisplayAgent(server_url, token, options=options, play_audio=play_audio)
    with contextlib.suppress(KeyboardInterrupt):
        agent.run_forever()
