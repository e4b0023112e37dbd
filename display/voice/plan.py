"""What a speaker reads next in a rush: the plan of display/static/announce.js, in Python.

Pure (no sound, no network, no clock of its own): the display agent's speaker
(``display/agent.py``) pushes the calls of its windows and asks ``RushPlan.next`` what to
play each time the speaker is free; a test drives it with a virtual clock. The rules are the
TV page's (docs/DISPLAY.md, "How the page plays announcements: planned for a rush"):

- a batch is a run of calls read without the speaker falling idle; one chime opens it;
- each call is read once (``once``); when nothing waits behind it, the reading is repeated
  up to ``repeat`` times in all, ``repeat_gap_s`` apart, until another call comes;
- when reading the backlog once each would voice some waiting call later than ``within_s``
  after its call, the call is read in brief (``brief``);
- a recall is read next (after the recalls already waiting); a waiting call of the same
  ticket at the same window is dropped (``recalled``);
- when its turn comes, a call older than ``stale_s`` is not read (``stale``), nor one no
  longer current at its window (``done``, ``superseded``, ``at window``: ``window_reason``);
- the same event (seq) is never queued twice; otherwise calls are read in call order.

Mode ``sequential`` is the old player: each call's ``full`` WAV one after another, calls
already older than ``stale_s`` on arrival not read.
"""

from __future__ import annotations

import io
import wave
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

FORMS = ("full", "once", "brief")
GUESS_S = 5.5  # a once-reading's length before its WAV is known (espeak bank: 5.2-6.6 s)
READ_GAP_S = 0.3  # between two readings, as the page counts it
SEEN = 1000  # seqs remembered so an event delivered again is not read again
MODES = ("plan", "sequential")


@dataclass(frozen=True, slots=True)
class Call:
    """A call or recall to announce; times in seconds on the hall's clock (epoch)."""

    seq: int
    number: str
    window: int
    called_at: float
    kind: str = "call"  # "call" | "recall"
    ticket_id: int | None = None
    queued_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Settings:
    """How one speaker reads (the display config's ``voice`` part)."""

    mode: str = "plan"
    chime: bool = True
    repeat: int = 2
    repeat_gap_s: float = 0.7
    stale_s: float = 90.0
    within_s: float = 40.0

    @classmethod
    def from_config(cls, voice: Mapping[str, Any], options: Mapping[str, Any]) -> Settings:
        """Read ``/api/v1/display/config``'s ``voice``; the device's own options win."""
        mode = str(options.get("announce_mode", voice.get("mode", "plan")))
        if mode not in MODES:
            raise ValueError(f"announce_mode must be one of {', '.join(MODES)}, got {mode!r}")
        return cls(
            mode=mode,
            chime=bool(voice.get("chime", True)),
            repeat=max(1, int(voice.get("repeat", 2))),
            repeat_gap_s=float(voice.get("repeat_gap_ms", 700)) / 1000,
            stale_s=float(options.get("stale_s", voice.get("stale_s", 90))),
            within_s=float(options.get("voice_within_s", voice.get("within_s", 40))),
        )


@dataclass(frozen=True, slots=True)
class Idle:
    """Nothing to read: the batch is over."""


@dataclass(frozen=True, slots=True)
class Chime:
    """Play the chime: a batch opens."""


@dataclass(frozen=True, slots=True)
class Skip:
    """This call is shown, not read; ``reason`` says why."""

    call: Call
    reason: str


@dataclass(frozen=True, slots=True)
class Read:
    """Read this call in this form (``once``, ``brief``, or ``full`` in sequential mode)."""

    call: Call
    form: str


Step = Idle | Chime | Skip | Read
WhyNot = Callable[[Call], str | None]
Seconds = Callable[[Call], float | None]


def window_reason(call: Call, window: Mapping[str, Any] | None) -> str | None:
    """Why a call is no longer worth reading given its window now, or None (tv.js's rule).

    ``window`` is the hall state's window (``HallState.windows[n]``): its ``ticket`` is the
    one called or served there, or None.
    """
    if window is None or call.ticket_id is None:
        return None
    ticket = window.get("ticket")
    if not ticket:
        return "done"  # finished, no-show, transferred: the window is free
    if ticket.get("id") != call.ticket_id:
        return "superseded"  # the window has called someone else
    return "at window" if ticket.get("status") == "serving" else None


def wav_seconds(data: bytes) -> float | None:
    """Seconds of audio in a WAV, or None when it cannot be read."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            rate = wav.getframerate()
            return wav.getnframes() / rate if rate else None
    except (wave.Error, EOFError):
        return None


@dataclass
class RushPlan:
    """The waiting calls of one speaker and the open batch; decide what it plays next."""

    settings: Settings = field(default_factory=Settings)
    queue: list[Call] = field(default_factory=list)
    open: bool = False  # a batch is open: its chime was played (or there is none)
    batches: int = 0
    _seen: OrderedDict[int, None] = field(default_factory=OrderedDict)

    def push(self, call: Call, now: float) -> list[Skip]:
        """Queue a call; return the calls it leaves unread (itself if stale, or ``recalled``)."""
        if call.seq in self._seen:
            return []  # delivered again (a resync): read once only
        self._seen[call.seq] = None
        if len(self._seen) > SEEN:
            self._seen.popitem(last=False)
        call = replace(call, queued_at=now)
        if self.settings.mode == "sequential":
            if now - call.called_at > self.settings.stale_s:
                return [Skip(call, "stale")]
            self.queue.append(call)
            return []
        if call.kind != "recall":
            self.queue.append(call)
            return []
        # The recall reads this ticket now: a waiting call of it would say the same again.
        dropped = [c for c in self.queue if c.window == call.window and c.number == call.number]
        self.queue = [c for c in self.queue if c not in dropped]
        at = 0  # after the recalls already waiting at the head: recalls in their order
        while at < len(self.queue) and self.queue[at].kind == "recall":
            at += 1
        self.queue.insert(at, call)
        return [Skip(c, "recalled") for c in dropped]

    def why_not(self, call: Call, now: float, why_not: WhyNot | None = None) -> str | None:
        """Why a waiting call is no longer read when its turn comes, or None."""
        if now - call.called_at > self.settings.stale_s:
            return "stale"
        return why_not(call) if why_not is not None else None

    def late(self, call: Call, now: float, seconds: Seconds | None = None) -> bool:
        """Whether reading ``call`` and the calls waiting, once each, voices one too late."""
        total = now
        for each in [call, *self.queue]:
            length = seconds(each) if seconds is not None else None
            total += (length or GUESS_S) + READ_GAP_S
            if total > each.called_at + self.settings.within_s:
                return True
        return False

    def next(
        self, now: float, why_not: WhyNot | None = None, seconds: Seconds | None = None
    ) -> Step:
        """What the free speaker does now; a ``Read`` or ``Skip`` takes its call off the queue.

        ``why_not(call)``: a reason from the hall's state (``window_reason``) or None;
        ``seconds(call)``: the length of the call's ``once`` WAV, or None if not known yet.
        After a ``Chime`` ask again: a recall may have come while it played.
        """
        if not self.queue:
            self.open = False
            return Idle()
        call = self.queue[0]
        if self.settings.mode == "sequential":
            self.queue.pop(0)
            return Read(call, "full")
        reason = self.why_not(call, now, why_not)
        if reason:
            self.queue.pop(0)
            return Skip(call, reason)
        if not self.open:
            self.open = True
            self.batches += 1
            if self.settings.chime:
                return Chime()
        self.queue.pop(0)
        late = bool(self.queue) and self.late(call, now, seconds)
        return Read(call, "brief" if late else "once")

    def put_back(self, call: Call) -> None:
        """A call whose WAV could not be had yet is tried again first (until it is stale)."""
        self.queue.insert(0, call)

    def repeat_again(self, readings: int) -> bool:
        """Whether a call read ``readings`` times is read again: a quiet hall hears it twice."""
        return self.settings.mode == "plan" and readings < self.settings.repeat and not self.queue

    def done(self) -> None:
        """A reading (with its repetitions) ended: the batch closes when nothing waits."""
        if not self.queue:
            self.open = False
