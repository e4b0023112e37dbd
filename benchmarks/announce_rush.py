"""Announcements in a rush: 25 windows on one floor call within 10 s; how late is each call read?

A real ``hall serve`` on 127.0.0.1, the real espeak-ng clip bank (made before the run), and
real headless Chromium TV pages (Debian's /usr/bin/chromium via Playwright) that play the WAVs
with <audio> elements. The floor (1楼) has 25 windows in four zones (A区 7, B区..D区 6 each),
one TV per zone (layout "zone"); ``--floor-tv`` adds one TV reading the whole floor
(layout "floor") in the same run.

The 25 windows call in a shuffled order (seed 8), one every 10/24 s. Each TV's
``window.hallAudio`` gives, per call, when it was made (the event's time), when its reading
started and ended (the hall's clock, corrected by the page); from that: called→started and
called→ended latency, order within each window, duplicates, skipped calls, forms and chimes.

Baseline, same run: the old announcer played each call's full WAV (chime + sentence twice)
strictly one after another. Its plan is computed from the same calls' full WAV lengths (asked
from the same server) and the same gap between two WAVs the pages showed: start = max(call,
previous end + gap), end = start + length. Playing it for real would take 5 minutes.

Also checked: that headless Chromium plays the WAVs for their real length (each part's
started→ended against the WAV's length).

``--agent``: the same rush read by display agents' speakers instead of TV pages — one
``DisplayAgent`` per zone (an agent device bound to the zone's windows, ``hall display-agent
--play``) in this process, its sound card a sink that takes each WAV for the WAV's length
(``wave`` header; this machine has no sound card), so its figures are made of the real
clip lengths plus what the agent spends between two WAVs (fetching, planning). Its
``speaker.log`` gives the same per-call times as ``window.hallAudio``; the baseline is the
same sequential plan from the same full WAV lengths.

    .venv/bin/python benchmarks/announce_rush.py [--floor-tv | --agent] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.live_hall import (
    check_hall_open,
    device_token,
    http_json,
    load_average,
    machine,
    run_hall,
    sigterm_as_exit,
    terminate_group,
)
from display.voice.bank import generate_clip_bank
from tests.live import CHROMIUM_ARGS
from tests.support.serve import start_hall_serve

WINDOWS = 25
SPREAD_S = 10.0
TARGET_S = 40.0
ZONES = {"A区": range(1, 8), "B区": range(8, 14), "C区": range(14, 20), "D区": range(20, 26)}
SEED = 8
PASSWORD = "bench-password-1"
CHROMIUM = "/usr/bin/chromium"


def hall_toml() -> str:
    """One floor, 25 windows in four zones, a TV and a speaker agent per zone, a floor TV."""
    windows = "".join(
        f'\n[[hall.windows]]\nnumber = {n}\nzone = "{zone}"\nfloor = 1\nservices = {{ a = 1 }}\n'
        for zone, numbers in ZONES.items()
        for n in numbers
    )
    tvs = "".join(
        f'\n[[hall.devices]]\nname = "tv-{zone[0].lower()}"\nkind = "display"\nzone = "{zone}"'
        f'\nfloor = 1\nlayout = "zone"\n'
        for zone in ZONES
    )
    tvs += "".join(
        f'\n[[hall.devices]]\nname = "speaker-{zone[0].lower()}"\nkind = "agent"\nfloor = 1'
        f"\nwindows = {list(numbers)}\n"
        for zone, numbers in ZONES.items()
    )
    return f"""
[server]
kiosk_rate_per_min = 100000

[hall]
code = "rush"
name = "早高峰大厅"
name_en = "Rush Hall"

[hall.issuing]
per_id_daily_limit = 0
per_phone_daily_limit = 0

[[hall.services]]
code = "a"
name = "综合受理"
name_en = "General Services"
category = "综合"
prefix = "A"
zone = "A区"
floor = 1
hours = [["00:00", "24:00"]]
weekdays = [1, 2, 3, 4, 5, 6, 7]
{windows}
[[hall.devices]]
name = "kiosk-1"
kind = "kiosk"

[[hall.devices]]
name = "tv-floor"
kind = "display"
floor = 1
layout = "floor"
{tvs}"""


class Hall:
    def __init__(self, base_url: str, tokens: dict[str, str]) -> None:
        self.base_url, self.tokens = base_url, tokens

    def post(self, who: str, path: str, body: Any = None) -> dict[str, Any]:
        status, answer = http_json(
            "POST", self.base_url + "/api/v1" + path, token=self.tokens[who], body=body
        )
        if status not in (200, 201):
            raise RuntimeError(f"POST {path}: {status} {answer}")
        return dict(answer)

    def wav_seconds(self, path: str) -> float:
        request = urllib.request.Request(self.base_url + "/api/v1" + path)
        request.add_header("Authorization", f"Bearer {self.tokens['tv-floor']}")
        with urllib.request.urlopen(request, timeout=30) as answer:
            data: bytes = answer.read()
        with wave.open(io.BytesIO(data)) as wav:
            return float(wav.getnframes() / wav.getframerate())


@contextmanager
def rush_hall() -> Iterator[Hall]:
    """A fresh hall with the real clip bank, served on 127.0.0.1; stopped on exit."""
    import os

    with tempfile.TemporaryDirectory(prefix="hall-rush-") as tmp:
        work = Path(tmp)
        config = work / "rush.toml"
        config.write_text(hall_toml(), encoding="utf-8")
        var = work / "var"
        var.mkdir()
        env = {
            **os.environ,
            "HALL_CONFIG": str(config),
            "HALL_DATABASE_URL": f"sqlite:///{var / 'hall.db'}",
            "HALL_VAR_DIR": str(var),
            "HALL_ASYNC_MODE": "gevent",
            "HALL_SECRET_KEY": "bench-secret-" + "x" * 32,
        }
        started = time.monotonic()
        generate_clip_bank(var / "voice")  # espeak-ng, before the clock of the rush starts
        print(f"clip bank made with espeak-ng in {time.monotonic() - started:.1f} s", flush=True)
        run_hall(env, "init")
        devices = ["kiosk-1", "tv-floor", *(f"tv-{z[0].lower()}" for z in ZONES)]
        devices += [f"speaker-{z[0].lower()}" for z in ZONES]
        kinds = {"kiosk": "kiosk", "tv": "display", "speaker": "agent"}
        tokens = {name: device_token(env, name, kinds[name.split("-")[0]]) for name in devices}
        run_hall(
            env,
            "user",
            "add",
            "boss",
            "--role",
            "supervisor",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        server = start_hall_serve(env, work / "server.log", own_session=True, ready_s=60)
        try:
            status, login = http_json(
                "POST",
                server.base_url + "/api/v1/auth/login",
                body={"login": "boss", "password": PASSWORD},
            )
            if status != 200:
                raise RuntimeError(f"login: {status} {login}")
            tokens["boss"] = login["token"]
            yield Hall(server.base_url, tokens)
        finally:
            terminate_group(server.process)


def audio_state(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("JSON.parse(JSON.stringify(window.hallAudio))"))


def settled(state: dict[str, Any], expected: int) -> bool:
    done = len(state["played"]) + len(state["skipped"]) + len(state["failed"])
    return done >= expected and not state["queue"] and state["playing"] is None


def make_calls(hall: Hall, order: list[int]) -> dict[int, dict[str, Any]]:
    """Call window after window, one every SPREAD_S / (n - 1) seconds."""
    step = SPREAD_S / (len(order) - 1)
    begin = time.monotonic()
    called = {}
    for index, window in enumerate(order):
        pause = begin + index * step - time.monotonic()
        if pause > 0:
            time.sleep(pause)  # the pace of the rush is what is measured against
        called[window] = hall.post("boss", f"/windows/{window}/call-next")["ticket"]
    print(f"{len(order)} calls made in {time.monotonic() - begin:.1f} s", flush=True)
    return called


def summarise(name: str, state: dict[str, Any], expected: list[int]) -> dict[str, Any]:
    played = state["played"]
    started = [(p["started_at"] - p["called_at"]) / 1000 for p in played]
    voiced = [(p["voiced_at"] - p["called_at"]) / 1000 for p in played]
    ended = [(p["ended_at"] - p["called_at"]) / 1000 for p in played]
    seqs = [p["seq"] for p in played]
    by_window: dict[int, list[int]] = {}
    for p in played:
        by_window.setdefault(p["window"], []).append(p["seq"])
    return {
        "tv": name,
        "calls": len(expected),
        "voiced": len(played),
        "missing": sorted(set(expected) - {p["window"] for p in played}),
        "skipped": [(s["window"], s["reason"]) for s in state["skipped"]],
        "failed": len(state["failed"]),
        "duplicates": len(seqs) - len(set(seqs)),
        "out_of_order_windows": sum(1 for s in by_window.values() if s != sorted(s)),
        "start_median_s": statistics.median(started) if started else None,
        "start_max_s": max(started) if started else None,
        "voiced_median_s": statistics.median(voiced) if voiced else None,
        "voiced_max_s": max(voiced) if voiced else None,
        "end_median_s": statistics.median(ended) if ended else None,
        "end_max_s": max(ended) if ended else None,
        "forms": {f: sum(1 for p in played if p["form"] == f) for f in {p["form"] for p in played}},
        "chimes": state["chimes"],
        "batches": state["batches"],
        "playing_max": state["playingMax"],
    }


def sequential_plan(calls: list[tuple[float, float]], gap_s: float) -> list[tuple[float, float]]:
    """(called, length) in call order -> (started, ended) of the old one-after-another player."""
    plan = []
    free = float("-inf")
    for called, length in calls:
        start = max(called, free + gap_s)
        plan.append((start, start + length))
        free = start + length
    return plan


def real_durations(
    hall: Hall, states: list[dict[str, Any]], numbers: dict[int, str]
) -> dict[str, float]:
    """Measured part length / WAV length, over every part the pages played."""
    by_seq = {}
    for state in states:
        for p in state["played"]:
            by_seq[p["seq"]] = p
    chime = hall.wav_seconds("/display/voice/chime")
    cache: dict[tuple[int, str], float] = {}
    ratios, gaps = [], []
    for state in states:
        previous_end = None
        for part in state["parts"]:
            if part.get("error") or part["started_at"] is None:
                continue
            if part["what"] == "chime":
                length = chime
            else:
                call = by_seq[part["seq"]]
                form = "once" if part["what"] == "repeat" else part["what"]
                key = (call["window"], form)
                if key not in cache:
                    cache[key] = hall.wav_seconds(
                        f"/display/voice?number={call['number']}&window={call['window']}&form={form}"
                    )
                length = cache[key]
            ratios.append((part["ended_at"] - part["started_at"]) / 1000 / length)
            if previous_end is not None and part["what"] != "repeat":
                gaps.append((part["started_at"] - previous_end) / 1000)
            previous_end = part["ended_at"]
    return {
        "parts": len(ratios),
        "played_over_wav_median": statistics.median(ratios),
        "played_over_wav_min": min(ratios),
        "played_over_wav_max": max(ratios),
        "gap_between_wavs_median_s": statistics.median(gaps) if gaps else 0.0,
    }


class Speakers:
    """The zone speakers as display agents in this process; ``state`` like window.hallAudio."""

    def __init__(self, hall: Hall, names: list[str]) -> None:
        from display.agent import DisplayAgent

        self.playing = dict.fromkeys(names, 0)
        self.playing_max = dict.fromkeys(names, 0)
        self._lock = threading.Lock()
        self.agents = {
            name: DisplayAgent(hall.base_url, hall.tokens[name], player=self.sink(name),
                               play_audio=True, status_interval_s=600)
            for name in names
        }  # fmt: skip
        for agent in self.agents.values():
            agent.start(connect_timeout_s=30)
        for name, agent in self.agents.items():
            assert agent.client is not None
            if not agent.client.wait_for(lambda state: state.ready, timeout_s=30):
                raise RuntimeError(f"{name}: no snapshot from the hall")

    def sink(self, name: str) -> Callable[[bytes], None]:
        """A sound card that takes a WAV for its length; counts how many play at once."""

        def play(wav: bytes) -> None:
            with wave.open(io.BytesIO(wav)) as clip:
                seconds = clip.getnframes() / clip.getframerate()
            with self._lock:
                self.playing[name] += 1
                self.playing_max[name] = max(self.playing_max[name], self.playing[name])
            threading.Event().wait(seconds)  # the speaker is busy for the WAV's length
            with self._lock:
                self.playing[name] -= 1

        return play

    def state(self, name: str) -> dict[str, Any]:
        """The agent's speaker log in the pages' shape (times in ms)."""
        speaker = self.agents[name].speaker
        assert speaker is not None
        log = speaker.log
        times = ("called_at", "queued_at", "started_at", "voiced_at", "ended_at", "at")

        def ms(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{k: v * 1000 if k in times else v for k, v in e.items()} for e in entries]

        return {
            "played": ms(log.played), "skipped": ms(log.skipped), "failed": ms(log.failed),
            "parts": ms(log.parts), "chimes": log.chimes, "batches": log.batches,
            "queue": list(speaker.plan.queue), "playing": None if speaker.idle() else True,
            "playingMax": self.playing_max[name],
        }  # fmt: skip

    def stop(self) -> None:
        for agent in self.agents.values():
            agent.stop()


def run(floor_tv: bool, agent: bool = False) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    check_hall_open(180)
    order = list(range(1, WINDOWS + 1))
    random.Random(SEED).shuffle(order)
    prefix = "speaker" if agent else "tv"
    tvs = {f"{prefix}-{z[0].lower()}": list(numbers) for z, numbers in ZONES.items()}
    if floor_tv:
        tvs["tv-floor"] = list(range(1, WINDOWS + 1))
    with rush_hall() as hall, sync_playwright() as playwright:
        for window in range(1, WINDOWS + 1):
            hall.post("boss", f"/windows/{window}/open")
        for _ in range(WINDOWS):
            hall.post("kiosk-1", "/tickets", {"service": "a"})
        pages: dict[str, Any] = {}
        speakers = None
        if agent:
            speakers = Speakers(hall, list(tvs))
            pages = {name: name for name in tvs}
        else:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name in tvs:
                context = browser.new_context(
                    locale="zh-CN", viewport={"width": 1920, "height": 1080}
                )
                page = context.new_page()
                page.goto(f"{hall.base_url}/display/{name}?token={hall.tokens[name]}")
                page.wait_for_function("() => window.hallDisplay.connected", timeout=30_000)
                page.wait_for_function("() => window.hallAudio.enabled", timeout=30_000)
                pages[name] = page

        def state_of(name: str) -> dict[str, Any]:
            return speakers.state(name) if speakers else audio_state(pages[name])

        load = load_average()
        begin = time.monotonic()
        called = make_calls(hall, order)
        states: dict[str, dict[str, Any]] = {}
        deadline = begin + 240
        while len(states) < len(pages) and time.monotonic() < deadline:
            for name in pages:
                if name not in states:
                    state = state_of(name)
                    if settled(state, len(tvs[name])):
                        states[name] = state
                        print(
                            f"{name}: done {time.monotonic() - begin:.0f} s after the first call",
                            flush=True,
                        )
            threading.Event().wait(0.5)
        for name in pages:
            states.setdefault(name, state_of(name))
        if speakers:
            speakers.stop()
        numbers = {w: t["number"] for w, t in called.items()}
        durations = real_durations(hall, list(states.values()), numbers)

        # The baseline: the same calls, each one's full WAV (chime + twice), one after another.
        full = {
            w: hall.wav_seconds(f"/display/voice?number={numbers[w]}&window={w}&form=full")
            for w in order
        }
        # In the full WAV the call has been said once after the chime and one reading.
        first = {
            w: hall.wav_seconds("/display/voice/chime")
            + hall.wav_seconds(f"/display/voice?number={numbers[w]}&window={w}&form=once")
            for w in order
        }
        called_at = {}
        for state in states.values():
            for p in [*state["played"], *state["skipped"]]:
                if "called_at" in p:
                    called_at[p["window"]] = p["called_at"] / 1000
        gap = durations["gap_between_wavs_median_s"]
        baseline = {}
        for name, windows in tvs.items():
            mine = [w for w in order if w in windows and w in called_at]
            plan = sequential_plan([(called_at[w], full[w]) for w in mine], gap)
            baseline[name] = {
                "start_max_s": max(s - called_at[w] for w, (s, _) in zip(mine, plan, strict=True)),
                "voiced_max_s": max(
                    s + first[w] - called_at[w] for w, (s, _) in zip(mine, plan, strict=True)
                ),
                "end_max_s": max(e - called_at[w] for w, (_, e) in zip(mine, plan, strict=True)),
                "full_wav_median_s": statistics.median(full[w] for w in mine),
            }
        if not speakers:
            browser.close()
    results = [summarise(name, states[name], tvs[name]) for name in tvs]
    return {
        "player": "display agent" if agent else "TV page (Chromium)",
        "machine": machine(),
        "load_before": load,
        "load_after": load_average(),
        "order": order,
        "tvs": results,
        "baseline": baseline,
        "audio": durations,
    }


def report(data: dict[str, Any]) -> str:
    audio = data["audio"]
    lines = [
        f"player: {data['player']}",
        f"load average {data['load_before']:.2f} before, {data['load_after']:.2f} after "
        f"({data['machine']['cpus']} CPUs)",
        f"audio: {audio['parts']} WAVs played for {audio['played_over_wav_median']:.3f}"
        f" × their length (median; {audio['played_over_wav_min']:.3f}–"
        f"{audio['played_over_wav_max']:.3f}), "
        f"{audio['gap_between_wavs_median_s'] * 1000:.0f} ms between two WAVs (median)",
        "",
        "| TV | calls | voiced | skipped | dup | out of order | started max | voiced median | "
        "voiced max | old voiced max | new/old | ended max (with repetition) | forms | "
        "chimes/batches |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for tv in data["tvs"]:
        old = data["baseline"][tv["tv"]]
        forms = ", ".join(f"{k} {v}" for k, v in sorted(tv["forms"].items()))
        lines.append(
            f"| {tv['tv']} | {tv['calls']} | {tv['voiced']} | {len(tv['skipped'])} | "
            f"{tv['duplicates']} | {tv['out_of_order_windows']} | {tv['start_max_s']:.1f} s | "
            f"{tv['voiced_median_s']:.1f} s | {tv['voiced_max_s']:.1f} s | "
            f"{old['voiced_max_s']:.1f} s | {tv['voiced_max_s'] / old['voiced_max_s']:.2f} | "
            f"{tv['end_max_s']:.1f} s | {forms} | {tv['chimes']}/{tv['batches']} |"
        )
    zones = [tv for tv in data["tvs"] if tv["tv"] != "tv-floor"]
    worst = max(tv["voiced_max_s"] or float("inf") for tv in zones)
    ok = all(
        tv["voiced"] == tv["calls"] and not tv["duplicates"] and not tv["out_of_order_windows"]
        for tv in zones
    )
    lines += [
        "",
        f"zones: every call voiced (its first reading ended) within {worst:.1f} s of its call "
        f"(target {TARGET_S:.0f} s): {'MET' if ok and worst <= TARGET_S else 'NOT MET'}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--floor-tv", action="store_true", help="also a TV reading the whole floor (~2 min)"
    )
    parser.add_argument(
        "--agent", action="store_true", help="zone speakers as display agents, not TV pages"
    )
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args()
    if args.agent and args.floor_tv:
        parser.error("--floor-tv is a TV page; --agent runs the zone speakers only")
    with sigterm_as_exit():
        data = run(args.floor_tv, args.agent)
    print(report(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
