"""Keypads as the window agent sees them: the fake, the factory, a real serial line."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from devices.base import DeviceError, Health
from devices.keypad import FakeKeypad, KeyEvent, SerialKeypad, build_keypad, protocol
from devices.keypad.device import REPEAT_WINDOW_S


def test_fake_keypad_reports_pressed_keys_and_keeps_the_display() -> None:
    keypad = FakeKeypad(address=2)
    keypad.press("call-next")
    keypad.press(0x35)
    assert keypad.read_events(0) == [KeyEvent(2, 0x41, "call-next"), KeyEvent(2, 0x35, "5")]
    assert keypad.read_events(0) == []
    keypad.show("A012 请到3号窗口")
    keypad.beep()
    assert keypad.text == "A012 请到3号窗口"
    assert keypad.beeps == 1
    assert keypad.status().health is Health.OK


def test_fake_keypad_wakes_a_waiting_reader() -> None:
    keypad = FakeKeypad()
    got: list[KeyEvent] = []
    reader = threading.Thread(target=lambda: got.extend(keypad.read_events(30)))
    reader.start()
    keypad.press("recall")
    reader.join(10)
    assert not reader.is_alive()
    assert [event.key for event in got] == ["recall"]


def test_closed_fake_keypad_says_so() -> None:
    keypad = FakeKeypad()
    keypad.close()
    assert keypad.status().online is False
    with pytest.raises(DeviceError, match="closed"):
        keypad.show("x")


def test_factory_builds_a_fake_with_a_site_keymap() -> None:
    keypad = build_keypad({"type": "fake", "address": 3, "keymap": {"0x70": "call-next"}})
    assert isinstance(keypad, FakeKeypad)
    keypad.press(0x70)
    assert keypad.read_events(0) == [KeyEvent(3, 0x70, "call-next")]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"type": "fake", "colour": "red"}, "'colour'"),
        ({"type": "serial", "url": "loop://", "baud": 9600}, "'baud'"),
        ({"type": "serial"}, "'url'"),
        ({"type": "usb"}, "'usb'"),
        ({"type": "serial", "url": "loop://", "baudrate": "fast"}, "'baudrate'"),
        ({"type": "fake", "keymap": {"0x41": "nope"}}, "'nope'"),
    ],
)
def test_factory_refuses_bad_options_naming_them(options: dict, named: str) -> None:
    with pytest.raises(DeviceError, match=named):
        build_keypad(options)


def test_a_port_that_does_not_exist_gives_a_sentence_and_a_fault() -> None:
    keypad = build_keypad({"type": "serial", "url": "/dev/ttyNO-SUCH-KEYPAD"})
    with pytest.raises(DeviceError, match=r"ttyNO-SUCH-KEYPAD.*cannot be opened"):
        keypad.read_events(0)
    status = keypad.status()
    assert (status.health, status.online) == (Health.FAULT, False)


def test_loop_url_sends_display_frames_that_decode_back() -> None:
    keypad = SerialKeypad("loop://", address=4)
    keypad.show("请A012")
    # loop:// echoes what we wrote, as some half-duplex RS-485 adapters do: our own
    # DISPLAY frame is neither a key nor a sign that the keypad is alive.
    assert keypad.read_events(0.05) == []
    assert keypad.status().health is Health.UNKNOWN
    keypad.close()


class PtyLine:
    """The far end of a pseudo-terminal: the test plays the keypad on the master side."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.url = os.ttyname(self.slave)
        self._buffer = b""

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def frames(self, count: int, timeout_s: float = 5.0) -> list[protocol.Frame]:
        deadline = time.monotonic() + timeout_s
        found: list[protocol.Frame] = []
        while len(found) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"only {len(found)} of {count} frames arrived: {found}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                frames, self._buffer = protocol.decode_frames(
                    self._buffer + os.read(self.master, 4096)
                )
                found += frames
        return found

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def line() -> Iterator[PtyLine]:
    pty = PtyLine()
    yield pty
    pty.close()


@pytest.fixture
def keypad(line: PtyLine) -> Iterator[SerialKeypad]:
    device = build_keypad({"type": "serial", "url": line.url, "baudrate": 9600, "address": 1})
    assert isinstance(device, SerialKeypad)
    assert device.read_events(0) == []  # opens the port (raw mode) before the keypad talks
    yield device
    device.close()


def read_until_event(keypad: SerialKeypad, timeout_s: float = 5.0) -> list[KeyEvent]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events = keypad.read_events(0.2)
        if events:
            return events
    return []


def test_serial_keypad_reports_a_key_and_acks_it(line: PtyLine, keypad: SerialKeypad) -> None:
    line.send(b"\x00\xff" + protocol.encode_key(1, 0x41, 7))
    assert read_until_event(keypad) == [KeyEvent(1, 0x41, "call-next")]
    assert line.frames(1) == [protocol.Frame(1, protocol.Command.ACK, b"\x07")]


def test_serial_keypad_shows_text_and_beeps(line: PtyLine, keypad: SerialKeypad) -> None:
    keypad.show("A012 请到3号窗口")
    keypad.beep()
    assert line.frames(2) == [
        protocol.decode_frames(protocol.encode_display(1, "A012 请到3号窗口"))[0][0],
        protocol.Frame(1, protocol.Command.BEEP, bytes((1, 10))),
    ]


def test_a_retransmitted_key_counts_once_but_is_acked_each_time(
    line: PtyLine, keypad: SerialKeypad
) -> None:
    line.send(protocol.encode_key(1, 0x44, 9) * 2 + protocol.encode_key(1, 0x45, 10))
    events: list[KeyEvent] = []
    deadline = time.monotonic() + 5
    while len(events) < 2 and time.monotonic() < deadline:
        events += keypad.read_events(0.2)
    assert [event.key for event in events] == ["finish", "no-show"]
    assert [f.payload for f in line.frames(3)] == [b"\x09", b"\x09", b"\x0a"]
    assert REPEAT_WINDOW_S > 0


def test_other_addresses_and_noise_on_the_bus_are_ignored(
    line: PtyLine, keypad: SerialKeypad
) -> None:
    bad = bytearray(protocol.encode_key(1, 0x41, 1))
    bad[-2] ^= 0xFF
    line.send(protocol.encode_key(2, 0x41, 1) + bytes(bad) + protocol.encode_key(1, 0x42, 2))
    assert read_until_event(keypad) == [KeyEvent(1, 0x42, "recall")]
    assert keypad.rejected == 1


def test_heartbeat_brings_the_keypad_online_and_silence_takes_it_off(line: PtyLine) -> None:
    now = [100.0]
    keypad = SerialKeypad(line.url, address=1, offline_after_s=10, clock=lambda: now[0])
    keypad.read_events(0)
    assert keypad.status().health is Health.UNKNOWN
    line.send(protocol.encode_heartbeat(1))
    deadline = time.monotonic() + 5
    while keypad.status().health is not Health.OK and time.monotonic() < deadline:
        keypad.read_events(0.05)  # clock frozen: returns after one short read
    assert keypad.status().online is True
    now[0] += 11
    status = keypad.status()
    assert (status.health, status.online) == (Health.FAULT, False)
    assert "心跳" in status.message
    keypad.close()


def test_keypad_reopens_its_port_after_the_line_drops() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    port = server.getsockname()[1]
    keypad = SerialKeypad(f"socket://127.0.0.1:{port}", address=1)
    try:
        keypad.read_events(0)
        first, _ = server.accept()
        first.close()  # the terminal server drops the line
        with pytest.raises(DeviceError, match="read failed"):
            read_until_event(keypad)
        assert keypad.status().health is Health.FAULT
        keypad.read_events(0)  # reopens
        second, _ = server.accept()
        second.sendall(protocol.encode_key(1, 0x46, 1))
        assert read_until_event(keypad) == [KeyEvent(1, 0x46, "pause")]
        second.close()
    finally:
        keypad.close()
        server.close()
