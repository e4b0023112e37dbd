"""Test halls for displays: the small test hall plus displays, an LED agent and a quiet voice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from devices.led import generic
from tests.live import SMALL_HALL
from tests.support.pty import PtyPeer

# One reading per call, no chime: an announcement lasts about 5 s instead of 12 s.
QUIET_VOICE = """
[hall.voice]
repeat = 1
chime = false
"""

DISPLAYS = """
[[hall.devices]]
name = "tv-zone-b"
kind = "display"
zone = "B区"
layout = "zone"

[[hall.devices]]
name = "tv-floor-2"
kind = "display"
floor = 2
layout = "floor"
"""


def led_agent(strip_url: str, board_url: str, *, windows: str = "[2, 3]") -> str:
    """An agent device with a generic strip above window 3 and a board, on serial URLs."""
    return f"""
[[hall.devices]]
name = "led-agent"
kind = "agent"
floor = 2
windows = {windows}
[[hall.devices.options.strips]]
window = 3
[hall.devices.options.strips.sign]
type = "serial"
protocol = "generic"
url = "{strip_url}"
address = 3
ack = false
[hall.devices.options.board]
lines = 3
[hall.devices.options.board.sign]
type = "serial"
protocol = "generic"
url = "{board_url}"
address = 9
ack = false
"""


def display_hall(folder: Path, *extra: str) -> Path:
    """Write the small hall with ``extra`` TOML appended; return its path."""
    path = folder / "display_hall.toml"
    path.write_text(SMALL_HALL.read_text(encoding="utf-8") + "".join(extra), encoding="utf-8")
    return path


class WireReader(PtyPeer):
    """Read generic LED frames from a pty in the background, with arrival times; the agent
    under test writes to ``path``."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, generic.Frame]] = []
        self._cond = threading.Condition()
        super().__init__(self._frames_in, poll_s=0.1)

    def _frames_in(self, buffer: bytes) -> bytes:
        now = time.monotonic()
        while generic.ETX in buffer:  # STX and ETX never occur inside a stuffed frame
            raw, _, buffer = buffer.partition(bytes([generic.ETX]))
            frame = generic.decode_frame(raw + bytes([generic.ETX]))
            with self._cond:
                self.frames.append((now, frame))
                self._cond.notify_all()
        return buffer

    def texts(self) -> list[str]:
        """Every text frame's text so far, in order."""
        with self._cond:
            return [f.text for _, f in self.frames if f.command == generic.CMD_TEXT]

    def wait_for_text(self, text: str, *, after: int = 0, timeout_s: float = 10.0) -> float:
        """Wait for a text frame equal to ``text`` (the ``after``-th frame on); return its time."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for index, (at, frame) in enumerate(self.frames):
                    if index >= after and frame.command == generic.CMD_TEXT and frame.text == text:
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    shown = [f.text for _, f in self.frames if f.command == generic.CMD_TEXT]
                    raise AssertionError(f"no frame {text!r} within {timeout_s} s; got {shown}")
                self._cond.wait(left)

    def count(self) -> int:
        with self._cond:
            return len(self.frames)
