"""The speaker's plan in a rush (display/voice/plan.py), on a virtual clock.

The same rules as the TV page's announce.js: one chime per batch, once while others wait,
brief when the backlog would run late, a recall next, stale or superseded calls not read,
nothing twice, call order kept per window; a quiet hall hears chime + sentence twice.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest

from display.voice.plan import (
    Call,
    Chime,
    Idle,
    Read,
    RushPlan,
    Settings,
    Skip,
    wav_seconds,
    window_reason,
)

# Lengths of the espeak bank's WAVs, roughly (benchmarks/announce_rush.py measures them).
ONCE_S, BRIEF_S, CHIME_S = 5.5, 3.6, 1.3
LENGTH = {"once": ONCE_S, "brief": BRIEF_S, "full": CHIME_S + 2 * ONCE_S + 0.7}


@dataclass
class Heard:
    """What the speaker played, in order, on the virtual clock."""

    parts: list[tuple[str, int | None, float, float]] = field(default_factory=list)
    read: list[tuple[Call, str, float]] = field(default_factory=list)  # call, form, voiced at
    skipped: list[tuple[Call, str]] = field(default_factory=list)

    def seqs(self) -> list[int]:
        return [c.seq for c, _, _ in self.read]


def play(
    plan: RushPlan,
    arrivals: list[tuple[float, Call]],
    *,
    why_not: Callable[[Call], str | None] | None = None,
) -> Heard:
    """Run the speaker: calls arrive at their times, each WAV takes its length."""
    heard = Heard()
    pending = sorted(arrivals, key=lambda pair: pair[0])
    now = 0.0

    def deliver(until: float) -> None:
        while pending and pending[0][0] <= until:
            _, call = pending.pop(0)
            heard.skipped += [(s.call, s.reason) for s in plan.push(call, now=until)]

    def part(what: str, seq: int | None, seconds: float) -> None:
        nonlocal now
        heard.parts.append((what, seq, now, now + seconds))
        now += seconds
        deliver(now)

    deliver(now)
    while pending or plan.queue:
        step = plan.next(now, why_not, seconds=lambda c: ONCE_S)
        if isinstance(step, Idle):
            now = pending[0][0]
            deliver(now)
        elif isinstance(step, Chime):
            part("chime", None, CHIME_S)
        elif isinstance(step, Skip):
            heard.skipped.append((step.call, step.reason))
        else:
            assert isinstance(step, Read)
            part(step.form, step.call.seq, LENGTH[step.form])
            heard.read.append((step.call, step.form, now))
            readings = 1
            while plan.repeat_again(readings):
                gap_end = now + plan.settings.repeat_gap_s
                if pending and pending[0][0] <= gap_end:  # a call comes: the repetition stops
                    now = pending[0][0]
                    deliver(now)
                    break
                now = gap_end
                part("repeat", step.call.seq, LENGTH[step.form])
                readings += 1
            plan.done()
    assert isinstance(plan.next(now), Idle)
    return heard


def rush(calls: int = 25, windows: int = 4, spread_s: float = 10.0) -> list[tuple[float, Call]]:
    """``calls`` calls within ``spread_s`` seconds, the windows taking turns."""
    step = spread_s / (calls - 1)
    return [
        (i * step, Call(seq=100 + i, number=f"A{i + 1:03d}", window=1 + i % windows,
                        called_at=i * step, ticket_id=i + 1))
        for i in range(calls)
    ]  # fmt: skip


def test_a_rush_of_25_calls_at_4_windows_is_read_once_each_in_order_with_one_chime() -> None:
    plan = RushPlan(Settings(stale_s=600))  # nothing goes stale: every call must be read
    heard = play(plan, rush())

    assert sorted(heard.seqs()) == list(range(100, 125))  # every call, none twice
    for window in range(1, 5):
        mine = [c.seq for c, _, _ in heard.read if c.window == window]
        assert mine == sorted(mine)  # in call order at each window
    assert heard.seqs() == sorted(heard.seqs())  # no recall: call order overall
    assert [p for p in heard.parts if p[0] == "chime"] == heard.parts[:1]  # one batch, one chime
    assert plan.batches == 1
    forms = [form for _, form, _ in heard.read]
    # The backlog would read the last calls late: they are read in brief; the last one is
    # alone at the end and said again (a quiet hall).
    assert set(forms) <= {"once", "brief"} and forms.count("brief") >= 20
    assert [p[0] for p in heard.parts if p[1] == 124] == [forms[-1], "repeat"]
    assert not [p for p in heard.parts if p[0] == "repeat" and p[1] != 124]
    # One speaker still cannot read 25 calls within 40 s: brief keeps the tail to ~100 s,
    # where the old player (12.6 s a call) took over five minutes.
    assert max(at - c.called_at for c, _, at in heard.read) < 100


def test_a_small_backlog_is_read_once_each_not_in_brief() -> None:
    plan = RushPlan(Settings())
    heard = play(plan, rush(calls=4, windows=4, spread_s=1.0))
    assert [form for _, form, _ in heard.read] == ["once"] * 4
    assert all(at - c.called_at <= 40 for c, _, at in heard.read)


def test_in_a_rush_the_calls_too_old_are_skipped_as_stale_never_read_twice() -> None:
    plan = RushPlan(Settings(stale_s=30))
    heard = play(plan, rush())
    read, skipped = heard.seqs(), [c.seq for c, _ in heard.skipped]
    assert set(skipped) == set(range(100, 125)) - set(read) and skipped
    assert {reason for _, reason in heard.skipped} == {"stale"}
    assert len(read) == len(set(read)) and read == sorted(read)
    # Every call read was said within stale_s of its call (then the next one begins).
    assert all(at - c.called_at <= 30 + BRIEF_S for c, _, at in heard.read)


def test_a_quiet_call_is_the_full_announcement_chime_then_twice() -> None:
    plan = RushPlan(Settings())
    call = Call(seq=1, number="A001", window=3, called_at=0.0, ticket_id=1)
    heard = play(plan, [(0.0, call)])
    assert [what for what, *_ in heard.parts] == ["chime", "once", "repeat"]
    assert heard.parts[2][2] - heard.parts[1][3] == pytest.approx(0.7)  # the repeat gap
    # Later, a second quiet call opens a new batch: its own chime.
    heard = play(plan, [(60.0, Call(seq=2, number="A002", window=3, called_at=60.0))])
    assert [what for what, *_ in heard.parts] == ["chime", "once", "repeat"]
    assert plan.batches == 2


def test_a_call_during_the_repetition_stops_it_and_joins_the_batch() -> None:
    plan = RushPlan(Settings())
    first = Call(seq=1, number="A001", window=3, called_at=0.0)
    second = Call(seq=2, number="A002", window=4, called_at=CHIME_S + ONCE_S + 0.3)
    heard = play(plan, [(0.0, first), (second.called_at, second)])
    assert [(what, seq) for what, seq, *_ in heard.parts] == [
        ("chime", None), ("once", 1), ("once", 2), ("repeat", 2)
    ]  # fmt: skip


def test_a_recall_is_read_next_and_drops_the_waiting_call_of_its_ticket() -> None:
    plan = RushPlan(Settings(stale_s=600))
    calls = rush(calls=6, windows=6, spread_s=1.0)  # windows 1..6 call within a second
    recall = Call(seq=200, number="A004", window=4, called_at=2.0, kind="recall", ticket_id=4)
    again = Call(seq=201, number="A005", window=5, called_at=2.5, kind="recall", ticket_id=5)
    heard = play(plan, [*calls, (2.0, recall), (2.5, again)])
    # While window 1's call is read, both recalls come: read next, in their order; the waiting
    # calls of A004 and A005 are not read again (the recall reads them).
    assert heard.seqs() == [100, 200, 201, 101, 102, 105]
    assert sorted((c.seq, reason) for c, reason in heard.skipped) == [
        (103, "recalled"), (104, "recalled")
    ]  # fmt: skip


def test_an_event_delivered_again_is_not_queued_again() -> None:
    plan = RushPlan(Settings())
    call = Call(seq=7, number="A001", window=1, called_at=0.0)
    assert plan.push(call, now=0.0) == [] and plan.push(call, now=1.0) == []
    assert [c.seq for c in plan.queue] == [7]


def test_a_call_no_longer_current_at_its_window_is_skipped_with_the_reason() -> None:
    windows = {
        1: None,  # the window is free: finished or no-show
        2: {"ticket": {"id": 99, "status": "called"}},  # called someone else since
        3: {"ticket": {"id": 3, "status": "serving"}},  # the visitor is being served
        4: {"ticket": {"id": 4, "status": "called"}},  # still the one called: read it
    }
    plan = RushPlan(Settings(chime=False))
    for n in range(1, 5):
        plan.push(Call(seq=n, number=f"A00{n}", window=n, called_at=0.0, ticket_id=n), now=0.0)

    def why_not(call: Call) -> str | None:
        window = windows[call.window]
        return window_reason(call, {"ticket": None} if window is None else window)

    steps = [plan.next(1.0, why_not) for _ in range(5)]
    assert steps == [
        Skip(plan_call(1), "done"), Skip(plan_call(2), "superseded"),
        Skip(plan_call(3), "at window"), Read(plan_call(4), "once"), Idle(),
    ]  # fmt: skip
    assert window_reason(plan_call(1), None) is None  # a window the state does not know


def plan_call(n: int) -> Call:
    return Call(seq=n, number=f"A00{n}", window=n, called_at=0.0, ticket_id=n, queued_at=0.0)


def test_sequential_mode_plays_each_full_wav_and_drops_only_calls_stale_on_arrival() -> None:
    plan = RushPlan(Settings(mode="sequential", stale_s=30))
    old = Call(seq=1, number="A001", window=1, called_at=0.0)
    assert plan.push(old, now=31.0) == [Skip(replace(old, queued_at=31.0), "stale")]
    heard = play(plan, rush(calls=6, windows=2, spread_s=1.0))
    assert [form for _, form, _ in heard.read] == ["full"] * 6
    assert not [p for p in heard.parts if p[0] in ("chime", "repeat")]  # inside the full WAV


def test_settings_come_from_the_display_config_and_the_devices_options_win() -> None:
    voice = {"chime": False, "repeat": 1, "repeat_gap_ms": 500, "stale_s": 90, "within_s": 40,
             "mode": "plan"}  # fmt: skip
    assert Settings.from_config(voice, {}) == Settings(
        chime=False, repeat=1, repeat_gap_s=0.5, stale_s=90, within_s=40
    )
    options = {"stale_s": 20, "voice_within_s": 15, "announce_mode": "sequential"}
    settings = Settings.from_config(voice, options)
    assert (settings.mode, settings.stale_s, settings.within_s) == ("sequential", 20, 15)
    with pytest.raises(ValueError, match="announce_mode"):
        Settings.from_config(voice, {"announce_mode": "loud"})


def test_wav_seconds_reads_the_length_from_the_header() -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(b"\0\0" * 8000)
    assert wav_seconds(buffer.getvalue()) == 0.5
    assert wav_seconds(b"not a wav") is None
