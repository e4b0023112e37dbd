"""The display agent (``hall display-agent``): LED signs and an optional speaker, by device token.

It asks the server which windows it serves and which signs it drives (the device's
``options``, e.g. the demo hall's ``led-agent-1f``: a strip per window and a hall board),
keeps the hall's state with ``HallClient`` (reconnects, resyncs by ``last_seq``), writes
each sign when what it should show changes, reads call announcements on a local speaker
when asked (planned for a rush like the TV page: ``display/voice/plan.py``), and reports
the signs' health to ``POST /api/v1/devices/status``.

Sign writes run in one worker thread, so a slow RS-485 bus never holds up the Socket.IO
client; a call or recall is always written again, even when the text is the same.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from devices.base import DeviceError, Health
from devices.led import LedSign, build_led_sign
from display.led_content import StripContent, board_lines, strip_content, strip_texts
from display.voice.plan import (
    Call,
    Chime,
    Idle,
    Read,
    RushPlan,
    Settings,
    Skip,
    Step,
    wav_seconds,
    window_reason,
)
from hall_server.client.api import ApiError, HallApi, Unreachable
from hall_server.client.hall import HallClient
from hall_server.client.state import HallState
from hall_server.client.status import StatusReporter

log = logging.getLogger(__name__)

OPTION_KEYS = frozenset({
    "strips", "board", "texts", "audio", "voice", "recent_calls",
    "stale_s", "voice_within_s", "announce", "announce_mode",  # the speaker's (docs/DISPLAY.md)
})  # fmt: skip
HEALTH_ORDER = {"ok": 0, "unknown": 1, "warning": 2, "fault": 3}
PLAYERS = (["aplay", "-q"], ["paplay"], ["play", "-q"])  # ALSA, PulseAudio, SoX
Player = Callable[[bytes], None]
CALLS = ("ticket.called", "ticket.recalled")
MAX_KEPT = 200  # entries kept in each list of the speaker's log
LENGTH_WAIT_S = 2.0  # how long the plan waits for the waiting calls' WAVs to know their lengths


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
        self._threads: list[threading.Thread] = []
        self._texts: dict[str, str] = {}
        self.speaker: Speaker | None = None
        self.voice_windows: set[int] = set()

    # Life ------------------------------------------------------------------------------

    def start(self, connect_timeout_s: float | None = None) -> None:
        """Read the device's settings (retrying until the server answers), then run."""
        self.settings = self._fetch_settings(connect_timeout_s)
        options = self._options_override or dict(self.settings.get("options") or {})
        self.slots = build_slots(options)
        self._texts = strip_texts(options)
        self.windows = set(self.settings.get("windows") or [])
        self.windows |= {s.window for s in self.slots if s.window is not None}
        voice = dict(self.settings.get("voice") or {})
        audio = dict(options.get("audio") or {})
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
            # The windows whose calls it reads (the device's ``announce`` area, worked out by
            # the server: display.scope.voice_windows); by default every window it shows.
            self.voice_windows = set(voice.get("windows", self.windows))
            enabled = bool(voice.get("enabled", True)) and options.get("voice") is not False
            if not enabled:
                log.warning("语音播报已关闭 / voice off: %s", voice.get("message", ""))
            self.speaker = Speaker(
                HallApi(self.server_url, self.token),
                self._player,
                Settings.from_config(voice, options),
                floors=self.settings.get("window_floors") or {},
                windows=self._windows_now,
                clock=_hall_clock(self.settings.get("server_time")),
                enabled=enabled,
                stats=self.stats,
            )
            loops.append((self.speaker.run, "speaker"))
        self.client.on("snapshot", lambda _: self._mark_all(force=False))
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


@dataclass
class VoiceLog:
    """What the speaker did, like the TV page's ``window.hallAudio`` (times: hall clock, s).

    ``played`` entries carry ``form``, ``readings``, ``called_at``, ``queued_at``,
    ``started_at``, ``voiced_at`` (the first reading ended), ``ended_at`` and ``batch``;
    ``skipped`` a ``reason`` (stale, done, superseded, at window, recalled, voice off);
    ``parts`` every WAV played (chime, once, brief, repeat, full) with its bytes' length.
    """

    played: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)
    chimes: int = 0
    batches: int = 0

    @staticmethod
    def keep(entries: list[dict[str, Any]], entry: dict[str, Any]) -> None:
        entries.append(entry)
        del entries[:-MAX_KEPT]


class Speaker:
    """Read the calls of the agent's windows on its local speaker, planned for a rush.

    The plan is the TV page's (``display/voice/plan.py``; docs/DISPLAY.md): one chime per
    batch, each call once while others wait (twice when the hall is quiet), in brief when the
    backlog would read a call too late, a recall next, a stale or superseded call not read.
    One announcement plays at a time, in the thread running ``run``; the WAVs are fetched
    ahead in one worker thread (the waiting calls' readings, whose lengths the plan adds up).
    """

    def __init__(
        self,
        api: HallApi,
        player: Player,
        settings: Settings,
        *,
        floors: Mapping[str, int | None],
        windows: Callable[[], Mapping[int, Mapping[str, Any]]],
        clock: Callable[[], float],
        enabled: bool = True,
        stats: AgentStats | None = None,
    ) -> None:
        self.api = api
        self.player = player
        self.plan = RushPlan(settings)
        self.floors = dict(floors)
        self.windows = windows  # the hall's windows now: whether a call is still current
        self.clock = clock
        self.enabled = enabled
        self.stats = stats or AgentStats()
        self.log = VoiceLog()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._fetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="display-agent-wav")
        self._wavs: dict[tuple[int, str], Future[bytes]] = {}
        self._chime: bytes | None = None
        self._busy = False  # a batch is being read

    @property
    def form(self) -> str:
        """The form each call is fetched in ahead: ``once``, or ``full`` in sequential mode."""
        return "full" if self.plan.settings.mode == "sequential" else "once"

    def push(self, event: Mapping[str, Any]) -> None:
        """Queue a ``ticket.called`` or ``ticket.recalled`` event (quick: the client's thread)."""
        now = self.clock()
        call = Call(
            seq=int(event["seq"]),
            number=str(event["number"]),
            window=int(event["window"]),
            called_at=_epoch(event.get("at"), now),
            kind="recall" if event.get("type") == "ticket.recalled" else "call",
            ticket_id=event.get("ticket_id"),
        )
        with self._cond:
            if not self.enabled:
                self._skipped(Skip(call, "voice off"))
                return
            for skip in self.plan.push(call, now):
                self._skipped(skip)
            if any(c.seq == call.seq for c in self.plan.queue):
                self._fetch(call, self.form)
            self._cond.notify_all()

    def idle(self) -> bool:
        """Nothing waits and nothing plays."""
        with self._cond:
            return not self.plan.queue and not self._busy

    def stop(self) -> None:
        """Stop after the WAV playing now; drop the fetches not begun."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._fetcher.shutdown(wait=False, cancel_futures=True)

    def run(self) -> None:
        """Play until stopped: wait for calls, read each batch out."""
        try:
            while not self._stop.is_set():
                with self._cond:
                    self._cond.wait_for(lambda: self.plan.queue or self._stop.is_set(), 1.0)
                    if self._stop.is_set() or not self.plan.queue:
                        continue
                    self._busy = True
                try:
                    self._batch()
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
        finally:
            self._fetcher.shutdown(wait=True, cancel_futures=True)
            self.api.close()

    def _batch(self) -> None:
        while not self._stop.is_set():
            step = self._next()
            if isinstance(step, Idle):
                return
            if isinstance(step, Chime):
                self._play_chime()
            elif isinstance(step, Read):
                self._read(step)

    def _next(self) -> Step:
        """Ask the plan what to play now, with the hall's windows and the WAVs' lengths."""
        windows = self.windows()
        lengths = self._lengths()
        with self._cond:
            step = self.plan.next(
                self.clock(),
                lambda call: window_reason(call, windows.get(call.window)),
                lambda call: lengths.get(call.seq),
            )
            self.log.batches = self.plan.batches
            if isinstance(step, Skip):
                self._skipped(step)
        return step

    def _lengths(self) -> dict[int, float]:
        """The lengths of the waiting calls' readings (the plan needs them only in a backlog)."""
        with self._cond:
            planned = self.plan.settings.mode == "plan"
            waiting = list(self.plan.queue) if planned and len(self.plan.queue) > 1 else []
            futures = [(c.seq, self._fetch(c, "once")) for c in waiting]
        lengths = {}
        deadline = time.monotonic() + LENGTH_WAIT_S  # a slow server: guess the rest (GUESS_S)
        for seq, future in futures:
            with contextlib.suppress(Exception):
                wav = future.result(timeout=max(0.0, deadline - time.monotonic()))
                seconds = wav_seconds(wav)
                if seconds is not None:
                    lengths[seq] = seconds
        return lengths

    def _play_chime(self) -> None:
        if self._chime is None:
            with contextlib.suppress(ApiError, Unreachable, RuntimeError, CancelledError):
                self._chime = self._fetcher.submit(self._get_chime).result()
        if self._chime is None:
            return  # no chime this batch; tried again at the next one
        if self._part("chime", None, self._chime) is None:
            with self._cond:
                self.log.chimes += 1

    def _read(self, step: Read) -> None:
        call, form = step.call, step.form
        with self._cond:
            wanted = self._fetch(call, form)
        try:
            wav = wanted.result()
        except (ApiError, Unreachable, RuntimeError, CancelledError) as failure:
            with self._cond:
                self._forget(call)
                # A fresh install makes its clip bank on the first call, which can outlast
                # one request: try again (first in line) until the call is too old to read.
                again = not isinstance(failure, ApiError) or failure.status >= 500
                if again and self.clock() - call.called_at <= self.plan.settings.stale_s:
                    log.warning("announcement of %s not ready (%s)", call.number, failure)
                    self.plan.put_back(call)
                else:
                    self._failed(call, form, str(failure))
            self._stop.wait(1.0 if again else 0)
            return
        started = self.clock()
        error = self._part(form, call, wav)
        voiced = self.clock()
        readings = 0 if error else 1
        while not error:
            with self._cond:
                # A quiet hall: the sentence again, as long as no other call has come.
                if not self.plan.repeat_again(readings):
                    break
                gap = self.plan.settings.repeat_gap_s
                if self._cond.wait_for(lambda: self.plan.queue or self._stop.is_set(), gap):
                    break
            if self._part("repeat", call, wav) is not None:
                break
            readings += 1
        with self._cond:
            self.plan.done()
            self._forget(call)
            if error:
                self._failed(call, form, error)
                return
            if form == "full":
                readings = self.plan.settings.repeat
            VoiceLog.keep(self.log.played, _summary(call) | {
                "form": form, "readings": readings, "called_at": call.called_at,
                "queued_at": call.queued_at, "started_at": started, "voiced_at": voiced,
                "ended_at": self.clock(), "batch": self.plan.batches,
            })  # fmt: skip
        self.stats.announcements += 1

    def _part(self, what: str, call: Call | None, wav: bytes) -> str | None:
        """Play one WAV to its end (the player blocks); log it; return the error or None."""
        entry: dict[str, Any] = {"what": what, "seq": call.seq if call else None,
                                 "bytes": len(wav), "started_at": self.clock()}  # fmt: skip
        error = None
        try:
            self.player(wav)
        except (subprocess.SubprocessError, OSError) as failure:
            error = entry["error"] = str(failure) or type(failure).__name__
            log.warning("speaker: %s failed: %s", what, error)
        entry["ended_at"] = self.clock()
        with self._cond:
            VoiceLog.keep(self.log.parts, entry)
        return error

    def _fetch(self, call: Call, form: str) -> Future[bytes]:
        """The WAV of a call in a form, fetched once (under ``_cond``)."""
        key = (call.seq, form)
        if key not in self._wavs:
            try:
                self._wavs[key] = self._fetcher.submit(self._get, call, form)
            except RuntimeError as error:  # stopping: the fetcher is shut down
                failed: Future[bytes] = Future()
                failed.set_exception(error)
                return failed
        return self._wavs[key]

    def _forget(self, call: Call) -> None:
        for form in ("once", "brief", "full"):
            self._wavs.pop((call.seq, form), None)

    def _get(self, call: Call, form: str) -> bytes:
        params = {"number": call.number, "window": str(call.window), "form": form}
        floor = self.floors.get(str(call.window))
        if floor is not None:
            params["floor"] = str(floor)  # "请D001号到2楼16号窗口办理"
        return self.api.request("GET", "/display/voice", params=params, timeout_s=30).content

    def _get_chime(self) -> bytes:
        return self.api.request("GET", "/display/voice/chime", timeout_s=30).content

    def _skipped(self, skip: Skip) -> None:
        """Log a call shown but not read (under ``_cond``)."""
        self._forget(skip.call)
        VoiceLog.keep(self.log.skipped, _summary(skip.call) | {"reason": skip.reason,
                                                               "at": self.clock()})  # fmt: skip
        log.info("speaker: %s not read (%s)", skip.call.number, skip.reason)

    def _failed(self, call: Call, form: str, error: str) -> None:
        log.warning("announcement of %s failed: %s", call.number, error)
        VoiceLog.keep(self.log.failed, _summary(call) | {"form": form, "error": error})


def _summary(call: Call) -> dict[str, Any]:
    return {"seq": call.seq, "number": call.number, "window": call.window, "kind": call.kind}


def _epoch(at: object, default: float) -> float:
    """An event's ISO time as seconds since the epoch, or ``default``."""
    try:
        return datetime.fromisoformat(str(at)).timestamp()
    except ValueError:
        return default


def _hall_clock(server_time: object) -> Callable[[], float]:
    """The hall's clock (seconds since the epoch): this machine's, set by the server's time."""
    offset = _epoch(server_time, time.time()) - time.time() if server_time else 0.0
    return lambda: time.time() + offset


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
