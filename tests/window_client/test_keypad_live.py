"""A keypad on a serial line (a pty pair) drives a live hall server through the agent."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from devices.keypad import protocol
from tests.live import ROOT, LiveHall
from window_client.agent import build_agent

ADDRESS = 2
CODES = {"call-next": 0x41, "recall": 0x42, "start": 0x43, "finish": 0x44, "no-show": 0x45,
         "pause": 0x46, "resume": 0x47, "hold": 0x48, "transfer": 0x49, "enter": 0x0D,
         "prefix": 0x2A, **{str(n): 0x30 + n for n in range(10)}}  # fmt: skip


class KeypadLine:
    """The keypad's end of the serial line: sends KEY frames, reads what the host sends."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.url = os.ttyname(self.slave)
        self.sequence = 0
        self.buffer = b""
        self.shown: list[str] = []
        self.acks: list[int] = []

    def key(self, name: str, *, repeat: int = 1) -> None:
        """Press a key; ``repeat`` sends the same frame again as a keypad that heard no ack."""
        self.sequence = (self.sequence + 1) % 256
        for _ in range(repeat):
            os.write(self.master, protocol.encode_key(ADDRESS, CODES[name], self.sequence))

    def keys(self, *names: str) -> None:
        for name in names:
            self.key(name)

    def wait_shown(self, text: str, timeout_s: float = 10.0) -> None:
        """Read host frames until the display shows ``text``."""
        deadline = time.monotonic() + timeout_s
        while not (self.shown and self.shown[-1] == text):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"display never showed {text!r}; it showed {self.shown}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                decoded = protocol.decode(self.buffer + os.read(self.master, 4096))
                self.buffer = decoded.rest
                for frame in decoded.frames:
                    if frame.command == protocol.Command.DISPLAY:
                        self.shown.append(frame.payload.decode("gb2312"))
                    elif frame.command == protocol.Command.ACK:
                        self.acks.append(frame.payload[0])

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def line() -> Iterator[KeypadLine]:
    keypad_line = KeypadLine()
    yield keypad_line
    keypad_line.close()


@pytest.fixture
def agent_running(live_hall: LiveHall, line: KeypadLine) -> Iterator[None]:
    """The keypad agent of window 2 (device keypad-2) reading the pty, in a thread."""
    agent = build_agent(
        live_hall.base_url,
        live_hall.tokens["keypad-2"],
        keypad_options={"type": "serial", "url": line.url, "address": ADDRESS},
    )
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), kwargs={"refresh_s": 0.5})
    thread.start()
    yield
    stop.set()
    thread.join(10)
    agent.keypad.close()
    agent.api.close()
    assert not thread.is_alive()


def status_of(hall: LiveHall, ticket_id: int) -> tuple[str, int | None, int]:
    data = hall.api("boss", "GET", f"/tickets/{ticket_id}").json()
    return data["status"], data["window"], data["call_count"]


def issue_b(hall: LiveHall) -> int:
    response = hall.api("kiosk-1", "POST", "/tickets", {"service": "b"})
    assert response.status_code == 201, response.text
    ticket_id: int = response.json()["id"]
    return ticket_id


def test_key_frames_on_a_serial_line_drive_the_window_on_a_live_server(
    live_hall: LiveHall, line: KeypadLine, agent_running: None
) -> None:
    assert live_hall.api("staff1", "POST", "/windows/2/open").ok
    first, second, third = issue_b(live_hall), issue_b(live_hall), issue_b(live_hall)
    line.wait_shown("2号窗 等候3人")

    line.key("call-next", repeat=3)  # the keypad did not hear the acks: one call all the same
    line.wait_shown("B001 已呼叫")
    line.key("recall")
    line.wait_shown("B001 第2次呼叫")
    line.key("start")
    line.wait_shown("B001 办理中")
    assert status_of(live_hall, first) == ("serving", 2, 2)
    line.key("finish")
    line.wait_shown("B001 已办结")

    line.keys("prefix", "prefix", "3", "enter")  # 特呼 B003, out of turn
    line.wait_shown("特呼 B003")
    assert status_of(live_hall, third) == ("called", 2, 1)
    assert status_of(live_hall, second)[0] == "waiting"
    line.key("no-show")
    line.wait_shown("B003 已过号")

    line.key("pause")
    line.wait_shown("暂停服务")
    snapshot = live_hall.api("boss", "GET", "/snapshot").json()
    window = next(w for w in snapshot["windows"] if w["number"] == 2)
    assert (window["state"], window["pause_reason"]) == ("paused", "临时离开")
    line.key("resume")
    line.wait_shown("恢复服务")

    line.keys("call-next")
    line.wait_shown("B002 已呼叫")
    line.keys("3", "transfer")  # to window 3
    line.wait_shown("B002 转3号窗")
    assert status_of(live_hall, second)[0] == "waiting"
    line.wait_shown("2号窗 等候1人")  # the idle line comes back by itself

    called = [e for e in live_hall.api("boss", "GET", "/events?after=0").json()["events"]
              if e["type"] == "ticket.called"]  # fmt: skip
    assert [e["number"] for e in called] == ["B001", "B003", "B002"]
    assert all(e["actor"] == "keypad-2" for e in called)
    # every KEY frame was acknowledged, the repeats too
    assert line.acks.count(1) == 3


def test_hall_keypad_agent_command_runs_the_agent(live_hall: LiveHall, line: KeypadLine) -> None:
    assert live_hall.api("staff1", "POST", "/windows/2/open").ok
    ticket_id = issue_b(live_hall)
    env = {**os.environ, "HALL_AGENT_TOKEN": live_hall.tokens["keypad-2"]}
    command = [sys.executable, "-m", "hall_server", "keypad-agent", "--server",
               live_hall.base_url, "--keypad",
               f'{{"type": "serial", "url": "{line.url}", "address": {ADDRESS}}}']  # fmt: skip
    agent = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        line.wait_shown("2号窗 等候1人", timeout_s=20)
        line.key("call-next")
        line.wait_shown("B001 已呼叫")
        assert status_of(live_hall, ticket_id) == ("called", 2, 1)
    finally:
        agent.terminate()
        _, errors = agent.communicate(timeout=10)
    assert agent.returncode == 0, errors.decode(errors="replace")


def test_the_agent_refuses_a_window_it_is_not_bound_to(live_hall: LiveHall) -> None:
    with pytest.raises(SystemExit, match="未绑定3号窗口"):
        build_agent(live_hall.base_url, live_hall.tokens["keypad-2"], window=3,
                    keypad_options={"type": "fake"})  # fmt: skip
