"""The display agent writes real LED frames through pty pairs as the hall calls, and recovers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from display.agent import DisplayAgent
from tests.display.halls import QUIET_VOICE, WireReader, display_hall, led_agent
from tests.live import LiveHall, start_live_hall
from tests.needs import need_program

pytestmark = pytest.mark.slow


@pytest.fixture
def ptys() -> Iterator[tuple[WireReader, str, WireReader, str]]:
    """Two pty pairs (strip, board); the tests read what the agent writes on the masters."""
    readers = [WireReader(), WireReader()]
    try:
        yield readers[0], readers[0].path, readers[1], readers[1].path
    finally:
        for reader in readers:
            reader.close()


@pytest.fixture
def led_hall(tmp_path: Path, ptys: tuple[WireReader, str, WireReader, str]) -> Iterator[LiveHall]:
    _, strip_port, _, board_port = ptys
    config = display_hall(tmp_path, QUIET_VOICE, led_agent(strip_port, board_port))
    hall = start_live_hall(tmp_path, config=config)
    yield hall
    hall.stop()


def call(hall: LiveHall, window: int, action: str = "call-next", **body: object) -> dict:
    response = hall.api("boss", "POST", f"/windows/{window}/{action}", body or None)
    assert response.status_code == 200, response.text
    return response.json()


@contextmanager
def running_agent(hall: LiveHall, **options: Any) -> Iterator[DisplayAgent]:
    """The hall's LED agent, started (settings fetched), stopped at the end."""
    agent = DisplayAgent(hall.base_url, hall.tokens["led-agent"], status_interval_s=60, **options)
    agent.start(connect_timeout_s=10)
    try:
        yield agent
    finally:
        agent.stop()


def issue(hall: LiveHall, service: str = "b") -> str:
    response = hall.api("kiosk-1", "POST", "/tickets", {"service": service})
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def test_strip_shows_the_call_then_the_window_state_board_lists_calls_status_reported(
    led_hall: LiveHall, ptys: tuple[WireReader, str, WireReader, str]
) -> None:
    strip, _, board, _ = ptys
    with running_agent(led_hall) as agent:
        strip.wait_for_text("暂停服务")  # window 3 is closed at the start of the day
        call(led_hall, 3, "open")
        strip.wait_for_text("3号窗口 欢迎您")
        first, second = issue(led_hall), issue(led_hall)

        assert call(led_hall, 3)["ticket"]["number"] == first
        strip.wait_for_text(f"{first} 请到3号窗口")
        board.wait_for_text(f"{first}→3号")

        call(led_hall, 3, "finish")
        call(led_hall, 3)
        strip.wait_for_text(f"{second} 请到3号窗口")
        board.wait_for_text(f"{second}→3号\n{first}→3号")

        before = strip.count()
        call(led_hall, 3, "recall")  # the same text, written again so the strip flashes it
        strip.wait_for_text(f"{second} 请到3号窗口", after=before)

        call(led_hall, 3, "start")
        strip.wait_for_text(f"{second} 正在办理")
        call(led_hall, 3, "finish")
        call(led_hall, 3, "pause", reason="午休")
        strip.wait_for_text("暂停服务", after=before)

        assert agent.report_status()
        devices = led_hall.api("boss", "GET", "/snapshot").json()["devices"]
        status = next(d for d in devices if d["name"] == "led-agent")["status"]["led"]
        # Signs that never acknowledge (ack = false) are "unknown", never "ok".
        assert status["health"] == "unknown"
        assert set(status["detail"]) == {"w3", "board"}


def test_an_admins_new_strip_texts_reach_the_running_agents_signs(
    led_hall: LiveHall, ptys: tuple[WireReader, str, WireReader, str]
) -> None:
    strip, _, _, _ = ptys
    with running_agent(led_hall) as agent:
        call(led_hall, 3, "open")
        strip.wait_for_text("3号窗口 欢迎您")
        # Same signs, new words for an idle window: written at once, no restart.
        options = {**agent.settings["options"], "texts": {"open": "{window}号窗口 请取号"}}
        response = led_hall.api("root", "PUT", "/admin/devices/led-agent", {"options": options})
        assert response.status_code == 200, response.text
        strip.wait_for_text("3号窗口 请取号")
        first = issue(led_hall)
        call(led_hall, 3)
        strip.wait_for_text(f"{first} 请到3号窗口")
        assert agent.stats.settings_reads >= 1 and len(agent.slots) == 2


def test_agent_survives_a_server_restart_and_shows_the_calls_it_missed(
    led_hall: LiveHall, ptys: tuple[WireReader, str, WireReader, str]
) -> None:
    strip, _, board, _ = ptys
    with running_agent(led_hall) as agent:
        call(led_hall, 3, "open")
        first = issue(led_hall)
        call(led_hall, 3)
        strip.wait_for_text(f"{first} 请到3号窗口")
        assert agent.client is not None
        connects = agent.client.stats.connects

        led_hall.stop()
        assert agent.client.wait_for(lambda state: not state.connected, timeout_s=10)
        led_hall.restart()
        # Made before the agent is back: it must learn of them by resync (last_seq).
        call(led_hall, 3, "finish")
        second = issue(led_hall)
        call(led_hall, 3)

        strip.wait_for_text(f"{second} 请到3号窗口", timeout_s=20)
        board.wait_for_text(f"{second}→3号\n{first}→3号", timeout_s=20)
        # Socket.IO hands each message to its own thread: the connect may be counted a
        # moment after the events it brought were applied.
        client = agent.client
        assert client.wait_for(lambda _: client.stats.connects > connects, timeout_s=10)
        assert client.stats.snapshots == 1  # the missed calls came by last_seq, not a snapshot


@pytest.mark.espeak
def test_agent_reads_each_call_on_the_local_speaker_in_order(led_hall: LiveHall) -> None:
    need_program("espeak-ng")
    played: list[bytes] = []
    done = threading.Condition()

    def player(wav: bytes) -> None:
        with done:
            played.append(wav)
            done.notify_all()

    with running_agent(led_hall, player=player, play_audio=True) as agent:
        # Calls made before the agent has the hall are history, not announcements.
        assert agent.client.wait_for(lambda state: state.ready, timeout_s=10)
        call(led_hall, 3, "open")
        numbers = [issue(led_hall), issue(led_hall)]
        call(led_hall, 3)
        with done:  # the first clip bank is made with espeak-ng on this first call
            assert done.wait_for(lambda: len(played) == 1, timeout=60)
        call(led_hall, 3, "finish")
        call(led_hall, 3)
        with done:
            assert done.wait_for(lambda: len(played) == 2, timeout=60)
        assert all(wav[:4] == b"RIFF" and wav[8:12] == b"WAVE" for wav in played)
        # A quiet hall whose voice has no chime and one reading (QUIET_VOICE): each call is
        # the server's once-reading, in call order (display/voice/plan.py).
        expected = [
            requests.get(led_hall.url("/api/v1/display/voice"),
                         params={"number": n, "window": 3, "form": "once"},
                         headers={"Authorization": f"Bearer {led_hall.tokens['led-agent']}"},
                         timeout=30).content
            for n in numbers
        ]  # fmt: skip
        assert played == expected
        assert agent.speaker is not None
        assert [p["form"] for p in agent.speaker.log.played] == ["once", "once"]
