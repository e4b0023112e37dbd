"""The display agent's speaker: reads its windows' calls on a local speaker, planned for a rush.

The plan is the TV page's (``display/voice/plan.py``; docs/DISPLAY.md): ``Speaker`` pushes
each call to a ``RushPlan`` and asks it what to play each time the speaker is free, fetches
the WAVs from the server (``/api/v1/display/voice``) and plays them one at a time with a
``Player`` (aplay, paplay or SoX ``play``; a test's fake sound card). ``configure`` takes new
settings while it runs (an admin changed the hall's voice or the device's options).
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
from typing import Any, Protocol

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

log = logging.getLogger(__name__)

PLAYERS = (["aplay", "-q"], ["paplay"], ["play", "-q"])  # ALSA, PulseAudio, SoX
Player = Callable[[bytes], None]
MAX_KEPT = 200  # entries kept in each list of the speaker's log
LENGTH_WAIT_S = 2.0  # how long the plan waits for the waiting calls' WAVs to know their lengths


class Counts(Protocol):
    """Where the speaker counts its announcements (the agent's ``AgentStats``)."""

    announcements: int


@dataclass
class SpeakerStats:
    """The speaker's own count when it runs without an agent (tests)."""

    announcements: int = 0


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
        stats: Counts | None = None,
    ) -> None:
        self.api = api
        self.player = player
        self.plan = RushPlan(settings)
        self.floors = dict(floors)
        self.windows = windows  # the hall's windows now: whether a call is still current
        self.clock = clock
        self.enabled = enabled
        self.stats: Counts = stats or SpeakerStats()
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

    def configure(
        self, settings: Settings, *, floors: Mapping[str, int | None], enabled: bool
    ) -> None:
        """Take new settings while running: the next call is planned and read by them.

        A reading under way ends as it began. The WAVs fetched ahead are fetched again (a
        floor named differently, a full reading with another repeat count); turned off, the
        speaker drops the calls waiting (``voice off``), as it does the calls that follow.
        """
        with self._cond:
            self.plan.settings = settings
            self.floors = dict(floors)
            self._wavs.clear()
            self.enabled = enabled
            if not enabled:
                waiting, self.plan.queue = self.plan.queue, []
                for call in waiting:
                    self._skipped(Skip(call, "voice off"))
            self._cond.notify_all()

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


def hall_clock(server_time: object) -> Callable[[], float]:
    """The hall's clock (seconds since the epoch): this machine's, set by the server's time."""
    offset = _epoch(server_time, time.time()) - time.time() if server_time else 0.0
    return lambda: time.time() + offset
