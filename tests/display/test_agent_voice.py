"""The display agent's speaker plans a rush like the TV page, against a live hall.

The sound card is a fake sink that records each WAV the agent plays (this machine has none)
and holds the first one until the test lets it go, so the calls of a rush pile up behind
it as they would behind a real reading. The hall speaks with the short synthetic clip bank
of tests/display/test_announce_rush.py (a call reads in about a second).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from display.agent import DisplayAgent, Speaker
from display.voice.plan import Settings
from display.voice.wavfile import Pcm, PcmFormat, wav_bytes
from hall_server.client.api import ApiError, Unreachable
from tests.display.test_announce_rush import RUSH_WINDOWS, UPSTAIRS, api, rush_hall, short_bank
from tests.live import LiveHall, start_live_hall
from tests.support.polling import until

pytestmark = pytest.mark.slow

SPEAKER = f"""
[[hall.devices]]
name = "speaker-1f"
kind = "agent"
floor = 1
windows = {list(RUSH_WINDOWS)}
"""


class Sink:
    """A fake sound card: records every WAV played; holds the first until ``release``."""

    def __init__(self) -> None:
        self.wavs: list[bytes] = []
        self.released = threading.Event()
        self._cond = threading.Condition()

    def __call__(self, wav: bytes) -> None:
        with self._cond:
            self.wavs.append(wav)
            self._cond.notify_all()
        assert self.released.wait(30), "the test never let the speaker go on"

    def wait_for(self, count: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.wavs) >= count, timeout=30)


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[LiveHall]:
    short_bank(tmp_path / "var" / "voice")
    config = rush_hall(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + SPEAKER, encoding="utf-8")
    live = start_live_hall(tmp_path, config=config)
    yield live
    live.stop()


@contextmanager
def speaking_agent(hall: LiveHall, sink: Sink, **options: Any) -> Iterator[DisplayAgent]:
    agent = DisplayAgent(hall.base_url, hall.tokens["speaker-1f"], player=sink, play_audio=True,
                         status_interval_s=60, **options)  # fmt: skip
    agent.start(connect_timeout_s=10)
    try:
        assert agent.client is not None
        # Calls made before the agent has the hall are history, not announcements.
        assert agent.client.wait_for(lambda state: state.ready, timeout_s=10)
        yield agent
    finally:
        agent.stop()


def wav(hall: LiveHall, path: str, **params: str | int) -> bytes:
    """The WAV the server gives the agent for this path."""
    bearer = {"Authorization": f"Bearer {hall.tokens['speaker-1f']}"}
    answer = requests.get(hall.url("/api/v1" + path), params=params, headers=bearer, timeout=30)
    answer.raise_for_status()
    return answer.content


def settled(agent: DisplayAgent, count: int) -> Any:
    speaker = agent.speaker
    assert speaker is not None
    log = speaker.log
    done = len(log.played) + len(log.skipped) + len(log.failed)
    return log if done >= count and speaker.idle() else None


def test_the_agents_speaker_reads_a_rush_once_each_in_order_a_recall_next_one_chime(
    hall: LiveHall,
) -> None:
    for window in [*RUSH_WINDOWS, UPSTAIRS]:
        api(hall, "boss", f"/windows/{window}/open")
    for _ in range(len(RUSH_WINDOWS) + 1):
        api(hall, "kiosk-1", "/tickets", {"service": "a"})
    api(hall, "kiosk-1", "/tickets", {"service": "b"})
    sink = Sink()
    with speaking_agent(hall, sink) as agent:
        speaker = agent.speaker
        assert speaker is not None and agent.voice_windows == set(RUSH_WINDOWS)
        called = {1: api(hall, "boss", "/windows/1/call-next")["ticket"]}
        sink.wait_for(1)  # the batch's chime is playing: the rest of the rush waits behind it
        for window in RUSH_WINDOWS[1:]:
            called[window] = api(hall, "boss", f"/windows/{window}/call-next")["ticket"]
        api(hall, "boss", f"/windows/{UPSTAIRS}/call-next")  # not this speaker's window
        api(hall, "boss", "/windows/5/start")  # served before the speaker got to them
        api(hall, "boss", "/windows/5/finish")
        api(hall, "boss", "/windows/12/recall")
        until(lambda: any(c.kind == "recall" for c in speaker.plan.queue), 10,
              what="the recall queued")  # fmt: skip
        assert agent.client is not None
        assert agent.client.wait_for(lambda s: s.windows[5]["ticket"] is None, timeout_s=10)
        sink.released.set()

        log = until(lambda: settled(agent, 13), 60, what="the rush read out")
        assert log.failed == []
        order = [(p["window"], p["kind"]) for p in log.played]
        # The recall first (it came during the chime), then the calls in call order; window
        # 5's visitor (served already) and window 12's call (read as its recall) not read.
        assert order == [(12, "recall"), *[(w, "call") for w in RUSH_WINDOWS if w not in (5, 12)]]
        assert sorted((s["window"], s["reason"]) for s in log.skipped) == [
            (5, "done"), (12, "recalled")
        ]  # fmt: skip
        assert len({p["seq"] for p in log.played}) == len(log.played)  # nothing twice
        assert all(p["window"] != UPSTAIRS for p in [*log.played, *log.skipped])
        # One chime for the whole rush, each call once; the last one, alone, twice.
        assert (log.batches, log.chimes) == (1, 1)
        assert [p["form"] for p in log.played] == ["once"] * len(log.played)
        assert [p["readings"] for p in log.played] == [1] * (len(log.played) - 1) + [2]
        # What the speaker played is exactly the server's chime and once-readings.
        ones = [wav(hall, "/display/voice", number=called[w]["number"], window=w, form="once")
                for w, _ in order]  # fmt: skip
        assert sink.wavs == [wav(hall, "/display/voice/chime"), *ones, ones[-1]]

        # Later, a quiet call: a batch of its own, chime and the sentence twice (as before).
        api(hall, "boss", "/windows/1/finish")
        quiet = api(hall, "boss", "/windows/1/call-next")["ticket"]
        log = until(lambda: settled(agent, 14), 30, what="the quiet call read out")
        assert (log.batches, log.chimes) == (2, 2)
        once = wav(hall, "/display/voice", number=quiet["number"], window=1, form="once")
        assert sink.wavs[-3:] == [wav(hall, "/display/voice/chime"), once, once]


def test_the_old_one_after_another_player_with_announce_mode_sequential(hall: LiveHall) -> None:
    for window in (1, 2, 3):
        api(hall, "boss", f"/windows/{window}/open")
        api(hall, "kiosk-1", "/tickets", {"service": "a"})
    sink = Sink()
    with speaking_agent(hall, sink, options={"announce_mode": "sequential"}) as agent:
        numbers = [api(hall, "boss", "/windows/1/call-next")["ticket"]["number"]]
        sink.wait_for(1)
        numbers += [api(hall, "boss", f"/windows/{w}/call-next")["ticket"]["number"]
                    for w in (2, 3)]  # fmt: skip
        sink.released.set()
        log = until(lambda: settled(agent, 3), 30, what="three calls read out")
        assert [p["form"] for p in log.played] == ["full"] * 3 and log.chimes == 0
        assert sink.wavs == [wav(hall, "/display/voice", number=n, window=w)
                             for n, w in zip(numbers, (1, 2, 3), strict=True)]  # fmt: skip


def test_the_agents_options_stale_s_and_voice_within_s_shown_not_read_and_brief(
    hall: LiveHall,
) -> None:
    for window in (1, 2, 3):
        api(hall, "boss", f"/windows/{window}/open")
    for _ in range(6):
        api(hall, "kiosk-1", "/tickets", {"service": "a"})

    def rush(agent: DisplayAgent, sink: Sink, old_s: float) -> list[dict[str, Any]]:
        """Window 1 calls (its chime held), then 2 and 3; let go once all are old_s old."""
        tickets = [api(hall, "boss", "/windows/1/call-next")["ticket"]]
        sink.wait_for(1)
        tickets += [api(hall, "boss", f"/windows/{w}/call-next")["ticket"] for w in (2, 3)]
        assert agent.speaker is not None
        speaker = agent.speaker
        until(lambda: len(speaker.plan.queue) == 3, 10, what="three calls waiting")
        newest = max(c.called_at for c in speaker.plan.queue)
        until(lambda: speaker.clock() - newest > old_s, 10, what=f"the calls {old_s} s old")
        sink.released.set()
        return tickets

    sink = Sink()
    with speaking_agent(hall, sink, options={"stale_s": 1}) as agent:
        rush(agent, sink, 1.0)
        log = until(lambda: settled(agent, 3), 30, what="three calls handled")
        # Too old when their turn came: shown on the signs, not read; the chime alone played.
        assert [(s["window"], s["reason"]) for s in log.skipped] == [(1, "stale"), (2, "stale"),
                                                                     (3, "stale")]  # fmt: skip
        assert log.played == [] and [p["what"] for p in log.parts] == ["chime"]

    for window in (1, 2, 3):
        api(hall, "boss", f"/windows/{window}/finish")
    sink = Sink()
    with speaking_agent(hall, sink, options={"voice_within_s": 1}) as agent:
        tickets = rush(agent, sink, 1.0)
        log = until(lambda: settled(agent, 3), 30, what="three calls read")
        # Read once each the calls would be later than 1 s: brief while others wait; the
        # last one, alone, once and again.
        assert [(p["window"], p["form"], p["readings"]) for p in log.played] == [
            (1, "brief", 1), (2, "brief", 1), (3, "once", 2)
        ]  # fmt: skip
        brief = wav(hall, "/display/voice", number=tickets[0]["number"], window=1, form="brief")
        assert sink.wavs[1] == brief


def admin(hall: LiveHall, path: str, body: dict[str, Any]) -> None:
    """An admin's change in the admin pages (the hall sends ``config.changed``)."""
    response = hall.api("root", "PUT", path, body)
    assert response.status_code == 200, response.text
    assert response.json()["changed"] is True


def test_an_admins_change_reaches_the_running_agent_at_the_next_call(hall: LiveHall) -> None:
    for window in (1, 2, 3):
        api(hall, "boss", f"/windows/{window}/open")
        api(hall, "kiosk-1", "/tickets", {"service": "a"})
    sink = Sink()
    sink.released.set()  # nothing held: each call is read as it comes
    with speaking_agent(hall, sink) as agent:
        assert agent.speaker is not None and agent.speaker.plan.settings.repeat == 2
        chime = wav(hall, "/display/voice/chime")

        # The hall's voice: three readings instead of two. The call right after the change
        # (no restart) is chime + the sentence three times.
        admin(hall, "/admin/settings", {"voice": {"repeat": 3}})
        first = api(hall, "boss", "/windows/1/call-next")["ticket"]
        log = until(lambda: settled(agent, 1), 30, what="the first call read")
        assert [(p["number"], p["form"], p["readings"]) for p in log.played] == [
            (first["number"], "once", 3)
        ]  # fmt: skip
        once = wav(hall, "/display/voice", number=first["number"], window=1, form="once")
        assert sink.wavs == [chime, once, once, once]

        # The device's own options: the old one-after-another player, each call's full WAV
        # (chime + the sentence as often as the hall now says), no separate chime.
        admin(hall, "/admin/devices/speaker-1f", {"options": {"announce_mode": "sequential"}})
        second = api(hall, "boss", "/windows/2/call-next")["ticket"]
        log = until(lambda: settled(agent, 2), 30, what="the second call read")
        assert [(p["number"], p["form"]) for p in log.played[1:]] == [(second["number"], "full")]
        full = wav(hall, "/display/voice", number=second["number"], window=2)
        assert sink.wavs[4:] == [full] and log.played[-1]["readings"] == 3

        # Voice switched off for this device: the next call is on the signs, not read.
        admin(hall, "/admin/devices/speaker-1f", {"options": {"voice": False}})
        third = api(hall, "boss", "/windows/3/call-next")["ticket"]
        log = until(lambda: settled(agent, 3), 30, what="the third call handled")
        assert [(s["number"], s["reason"]) for s in log.skipped] == [(third["number"], "voice off")]
        assert len(sink.wavs) == 5 and len(log.played) == 2
        assert agent.stats.settings_reads >= 3


class FlakyApi:
    """The server's voice endpoint as the speaker sees it: not ready at first for A001 (its
    clip bank being made), refusing A002's number; a short WAV otherwise."""

    def __init__(self, not_ready: int) -> None:
        self.not_ready = not_ready
        self.asked: list[str] = []

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        number = kwargs.get("params", {}).get("number", "chime")
        self.asked.append(number)
        if number == "A001" and self.asked.count("A001") <= self.not_ready:
            raise Unreachable("timed out")
        if number == "A002":
            raise ApiError(400, "invalid_input", "号码格式不对 (number must look like A012).")
        return SimpleNamespace(content=wav_bytes(Pcm(PcmFormat(16000, 2, 1), b"\0\0" * 160)))

    def close(self) -> None:
        pass


def test_a_wav_not_ready_is_tried_again_first_a_refused_one_fails_and_the_rest_go_on() -> None:
    api_ = FlakyApi(not_ready=2)
    played: list[bytes] = []
    speaker = Speaker(api_, played.append, Settings(chime=False, repeat=1),  # type: ignore[arg-type]
                      floors={}, windows=dict, clock=time.time)  # fmt: skip
    thread = threading.Thread(target=speaker.run)
    thread.start()
    try:
        now = datetime.now(UTC).isoformat()
        for seq, number in enumerate(["A001", "A002", "A003"], start=1):
            speaker.push({"type": "ticket.called", "seq": seq, "number": number, "window": 1,
                          "at": now, "ticket_id": seq})  # fmt: skip
        until(lambda: speaker.idle() and len(speaker.log.played) == 2, 20, what="calls read")
    finally:
        speaker.stop()
        thread.join(10)
    assert [p["number"] for p in speaker.log.played] == ["A001", "A003"]
    assert [(f["number"], f["form"]) for f in speaker.log.failed] == [("A002", "once")]
    assert api_.asked.count("A001") == 3 and len(played) == 2  # twice not ready, then read
