"""Two hall server processes on one database, joined by Redis (the multi-process mode).

A call made through one process reaches a screen connected to the other, in seq order, and
both processes hand out numbers from the same counters. ``hall serve --workers N`` (gunicorn)
is tested in test_standard_server.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from hall_server.client.hall import HallClient
from tests.hall_server.hall import SMALL_HALL
from tests.live import LiveHall
from tests.support.ports import free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_a_call_made_on_one_process_reaches_a_screen_on_the_other(
    two_processes: tuple[LiveHall, LiveHall],
) -> None:
    first, second = two_processes
    screen = HallClient(second.base_url, first.tokens["tv-1"])
    try:
        screen.start()
        assert screen.wait_for(lambda s: s.ready, 20), screen.last_error

        numbers = [
            hall.api("kiosk-1", "POST", "/tickets", {"service": "b"}).json()["number"]
            for hall in (first, second, first)
        ]
        assert numbers == ["B001", "B002", "B003"]  # one counter for both processes
        assert first.api("staff1", "POST", "/windows/3/open").ok
        called = first.api("staff1", "POST", "/windows/3/call-next").json()["ticket"]

        def shows_the_call(state: object) -> bool:
            window = state.windows.get(3) or {}  # type: ignore[attr-defined]
            return (window.get("ticket") or {}).get("number") == called["number"]

        assert screen.wait_for(shows_the_call, 20), "the call never reached the other process"
        assert screen.state.seq == second.api("boss", "GET", "/snapshot").json()["seq"]
        assert screen.state.queues["b"]["waiting"] == 2
    finally:
        screen.stop()


@pytest.mark.parametrize(
    ("how", "source"),
    [({"HALL_WORKERS": "2"}, "environment HALL_WORKERS"), ("--workers", "command line")],
)
def test_several_workers_without_a_message_queue_are_refused_with_the_reason(
    tmp_path: Path, how: dict[str, str] | str, source: str
) -> None:
    env = {**os.environ, "HALL_CONFIG": str(SMALL_HALL), "HALL_VAR_DIR": str(tmp_path / "var"),
           "HALL_PORT": str(free_port())}  # fmt: skip
    env.pop("HALL_MESSAGE_QUEUE", None)
    command = [sys.executable, "-m", "hall_server", "serve"]
    if isinstance(how, dict):
        env |= how
    else:
        command += [how, "2"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode != 0
    assert f"{source}: server.workers: several workers need server.message_queue" in done.stderr
    assert not (tmp_path / "var").exists() or not list((tmp_path / "var").glob("*.db"))


def test_an_admin_change_made_through_one_process_is_what_the_other_tells_screens_and_pages(
    two_processes: tuple[LiveHall, LiveHall],
) -> None:
    first, second = two_processes
    # the second process has read the layout (a TV asks for its settings, a page opens)
    before = second.api("tv-1", "GET", "/display/config").json()
    assert "5" not in before["window_floors"]
    window = {"number": 5, "zone": "C区", "floor": 2, "services": {"c": 1}}
    assert first.api("root", "POST", "/admin/windows", window).ok
    template = "请{number}号到{window}号窗口"
    settings = {"name": "新区政务服务大厅", "voice": {"template": template}}
    assert first.api("root", "PUT", "/admin/settings", settings).ok

    # the second process never wrote since: what it answers comes from the database
    after = second.api("tv-1", "GET", "/display/config").json()
    assert after["window_floors"]["5"] == 2
    assert after["voice"]["template"] == template
    voice = second.api("tv-1", "GET", "/display/voice?number=C100&window=5")
    assert voice.status_code == 200, voice.text
    assert voice.headers["Content-Type"] == "audio/wav"
    page = requests.get(second.url("/kiosk/kiosk-1"), timeout=10)
    assert page.ok and '<div class="hall-name">新区政务服务大厅</div>' in page.text
