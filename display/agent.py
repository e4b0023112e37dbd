"""The display agent (``hall display-agent``): LED signs and an optional speaker, by device token.

It asks the server which windows it serves and which signs it drives (the device's
``options``, e.g. the demo hall's ``led-agent-1f``: a strip per window and a hall board),
keeps the hall's state with ``HallClient`` (reconnects, resyncs by ``last_seq``), writes
each sign when what it should show changes, plays call announcements on a local speaker
when asked, and reports the signs' health to ``POST /api/v1/devices/status``.

Sign writes run in one worker thread, so a slow RS-485 bus never holds up the Socket.IO
client; a call or recall is always written again, even when the text is the same.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devices.base import DeviceError, Health
from devices.led import LedSign, build_led_sign
from display.led_content import StripContent, board_lines, strip_content, strip_texts
from hall_server.client.api import ApiError, HallApi, Unreachable
from hall_server.client.hall import HallClient
from hall_server.client.state import HallState
from hall_server.client.status import StatusReporter

log = logging.getLogger(__name__)

OPTION_KEYS = frozenset({"strips", "board", "texts", "audio", "voice", "recent_calls", "stale_s"})
HEALTH_ORDER = {"ok": 0, "unknown": 1, "warning": 2, "fault": 3}
PLAYERS = (["aplay", "-q"], ["paplay"], ["play", "-q"])  # ALSA, PulseAudio, SoX
Player = Callable[[bytes], None]


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
    last_write: dict[str, float] = field(default_factory=dict)  # key -> time.monotonic()


def build_slots(options: Mapping[str, Any]) -> list[SignSlot]:
    """Build the signs named in a device's options: ``strips`` and ``board``."""
    unknown = sorted(set(options) - OPTION_KEYS)
    if unknown:
        raise ValueError(f"显示代理配置项未知 / unknown display agent option: {', '.join(unknown)}")
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


def command_player(command: list[str]) -> Player:
    """Return a player that writes the WAV to a temporary file and runs ``command`` on it."""

    def play(wav: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "call.wav"
            path.write_bytes(wav)
            subprocess.run([*command, str(path)], check=True, capture_output=True, timeout=120)

    return play


def default_player() -> Player | None:
    """Return a player for the first of aplay, paplay, play found, or None."""
    for command in PLAYERS:
        if shutil.which(command[0]):
            return command_player(command)
    return None


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
        self.settings: dict[str, Any] = {}
        self.slots: list[SignSlot] = []
        self.windows: set[int] = set()
        self.stats = AgentStats()
        self.client: HallClient | None = None
        self.api = HallApi(self.server_url, token)
        # The signs' health goes out every round, changed or not: it is the agent's heartbeat.
        self.status = StatusReporter(self.api, heartbeat_s=0)
        self._cond = threading.Condition()
        self._dirty: dict[str, bool] = {}  # slot key -> forced (a call: write even if same)
        self._stop = threading.Event()
        self._report_now = threading.Event()
        self._io_lock = threading.Lock()
        self._audio: queue.Queue[tuple[str, int] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._texts: dict[str, str] = {}
        self._stale_s = 90.0
        self._audio_on = False

    # Life ------------------------------------------------------------------------------

    def start(self, connect_timeout_s: float | None = None) -> None:
        """Read the device's settings (retrying until the server answers), then run."""
        self.settings = self._fetch_settings(connect_timeout_s)
        options = self._options_override or dict(self.settings.get("options") or {})
        self.slots = build_slots(options)
        self._texts = strip_texts(options)
        self.windows = set(self.settings.get("windows") or [])
        self.windows |= {s.window for s in self.slots if s.window is not None}
        self._stale_s = float(options.get("stale_s", self.settings["voice"]["stale_s"]))
        audio = dict(options.get("audio") or {})
        play = self._play_audio if self._play_audio is not None else bool(audio.get("play"))
        if play and self._player is None:
            command = audio.get("command")
            self._player = command_player(list(command)) if command else default_player()
            if self._player is None:
                log.warning("没有可用的播放程序 (aplay/paplay/play) / no audio player found")
        self._audio_on = bool(play and self._player is not None)
        self.client = HallClient(
            self.server_url, token=self.token, retry_delay_s=self.retry_delay_s
        )
        self.client.on("snapshot", lambda _: self._mark_all(force=False))
        self.client.on("*", self._on_event)
        for target, name in ((self._render_loop, "led-writer"), (self._report_loop, "status"),
                             (self._audio_loop, "speaker")):  # fmt: skip
            thread = threading.Thread(target=target, name=f"display-agent-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.client.start()
        log.info(
            "display agent %s: %d signs, windows %s, audio %s",
            self.settings.get("device"), len(self.slots), sorted(self.windows),
            "on" if self._audio_on else "off",
        )  # fmt: skip

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the client and the worker threads."""
        self._stop.set()
        self._report_now.set()
        self._audio.put(None)
        with self._cond:
            self._cond.notify_all()
        if self.client is not None:
            self.client.stop(timeout_s)
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()
        self.api.close()

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

    # Events -> signs ---------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", ""))
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
        if called and isinstance(window, int) and self._audio_on and not self._stale(event):
            self._audio.put((str(event["number"]), window))

    def _stale(self, event: dict[str, Any]) -> bool:
        try:
            at = datetime.fromisoformat(str(event["at"]))
        except (KeyError, ValueError):
            return False
        return (datetime.now(UTC) - at).total_seconds() > self._stale_s

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

    # Speaker -----------------------------------------------------------------------------

    def _audio_loop(self) -> None:
        while True:
            item = self._audio.get()
            if item is None or self._stop.is_set():
                return
            number, window = item
            # The server makes its clip bank on the first call of a fresh install, which can
            # outlast one request: try again until the call is too old to announce.
            give_up = time.monotonic() + self._stale_s
            while not self._announce(number, window) and time.monotonic() < give_up:
                if self._stop.wait(1.0):
                    return

    def _announce(self, number: str, window: int) -> bool:
        """Fetch and play one call's WAV; say whether it was played."""
        try:
            response = self.api.request(
                "GET", "/display/voice", params={"number": number, "window": str(window)},
                timeout_s=30,
            )  # fmt: skip
            assert self._player is not None
            self._player(response.content)  # blocks: announcements never overlap
        except (ApiError, Unreachable, subprocess.SubprocessError, OSError) as error:
            log.warning("announcement of %s failed: %s", number, error)
            return False
        self.stats.announcements += 1
        return True


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
