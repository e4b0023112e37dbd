"""LED signs end to end: frames through a pty pair and a TCP converter, config, fake."""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from devices.base import DeviceError, Health
from devices.led import FakeLedSign, LedSign, build_led_sign, generic, onbon
from devices.led.transport import SerialTransport
from tests.devices.led.tcp_sign import TcpSign


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


def read_frame(fd: int, end: int, timeout_s: float = 5.0) -> bytes:
    """Read from ``fd`` up to and including ``end``, failing after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    data = b""
    while end not in data:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no complete frame, got {data.hex(' ')}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            data += os.read(fd, 4096)
    return data


def test_window_strip_writes_a_generic_call_frame_to_the_serial_port(
    pty_pair: tuple[int, str],
) -> None:
    master, port_name = pty_pair
    sign = build_led_sign(
        {"type": "serial", "protocol": "generic", "url": port_name, "address": 3, "ack": False}
    )
    assert isinstance(sign, LedSign)
    sign.show_call("A012", 3)
    frame = generic.decode_frame(read_frame(master, generic.ETX))
    assert frame.address == 3
    assert frame.text == "A012 请到3号窗口"

    sign.show_state("暂停服务")
    assert generic.decode_frame(read_frame(master, generic.ETX)).text == "暂停服务"


def test_onbon_board_writes_recent_calls_as_lines(pty_pair: tuple[int, str]) -> None:
    master, port_name = pty_pair
    sign = build_led_sign(
        {
            "type": "serial",
            "protocol": "onbon",
            "url": port_name,
            "baudrate": 57600,
            "ack": False,
            "width_px": 192,
            "height_px": 64,
            "color": "green",
        }
    )
    sign.show_lines(["A012→3号", "B003→5号"])
    packet = onbon.decode_frame(read_frame(master, onbon.FRAME_END))
    assert packet.data[:3] == bytes([0xA3, 0x06, onbon.RESPONSE_NONE])
    assert packet.data.endswith("\\C2A012→3号\\nB003→5号".encode("gb2312"))


def test_sign_behind_a_network_converter_is_acknowledged(
    tcp_sign: Callable[..., TcpSign],
) -> None:
    converter = tcp_sign()
    sign = build_led_sign({"type": "serial", "url": converter.url, "address": 7})
    sign.show_call("B105", 12)
    assert converter.next_frame().text == "B105 请到12号窗口"
    status = sign.status()
    assert (status.health, status.online) == (Health.OK, True)
    assert converter.next_frame().command == generic.CMD_STATUS


def test_a_refusal_from_the_sign_is_an_error_with_its_reason(
    tcp_sign: Callable[..., TcpSign],
) -> None:
    converter = tcp_sign(lambda frame: generic.encode_nak(frame.address, 3))
    sign = build_led_sign({"type": "serial", "url": converter.url})
    with pytest.raises(DeviceError, match="text too long"):
        sign.show_state("暂停服务")


def test_a_silent_sign_is_unknown_not_ok(tcp_sign: Callable[..., TcpSign]) -> None:
    converter = tcp_sign(lambda frame: None)
    sign = build_led_sign({"type": "serial", "url": converter.url, "timeout_s": 0.2})
    with pytest.raises(DeviceError, match="no answer"):
        sign.show_call("A001", 1)
    status = sign.status()
    assert (status.health, status.online) == (Health.UNKNOWN, None)


def test_the_port_is_reopened_after_the_converter_comes_back(
    tcp_sign: Callable[..., TcpSign],
) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    sign = build_led_sign({"type": "serial", "url": f"socket://127.0.0.1:{port}", "timeout_s": 0.5})
    with pytest.raises(DeviceError, match="cannot open"):
        sign.show_call("A001", 1)
    assert sign.status().health == Health.FAULT

    converter = tcp_sign(port=port)
    sign.show_call("A002", 1)
    assert converter.next_frame().text == "A002 请到1号窗口"


def test_loop_url_echoes_the_frame() -> None:
    transport = SerialTransport("loop://", timeout_s=1.0)
    frame = generic.encode_text(1, "测试")
    assert transport.send(frame, reply_end=generic.ETX) == frame


def test_unknown_or_bad_options_name_the_key() -> None:
    with pytest.raises(DeviceError, match="baud_rate"):
        build_led_sign({"type": "serial", "url": "loop://", "baud_rate": 9600})
    with pytest.raises(DeviceError, match="protocol"):
        build_led_sign({"type": "serial", "url": "loop://", "protocol": "huidu"})
    with pytest.raises(DeviceError, match="address"):
        build_led_sign({"type": "serial", "url": "loop://", "address": 300})
    with pytest.raises(DeviceError, match="url"):
        build_led_sign({"type": "serial"})
    with pytest.raises(DeviceError, match="effect"):
        build_led_sign({"type": "serial", "url": "loop://", "effect": "spin"})
    with pytest.raises(DeviceError, match="url"):
        build_led_sign({"type": "fake", "url": "loop://"})


def test_fake_sign_keeps_what_it_showed() -> None:
    sign = build_led_sign({"type": "fake"})
    assert isinstance(sign, FakeLedSign)
    sign.show_call("A012", 3)
    sign.show_state("暂停服务")
    sign.show_lines(["A012→3号", "請稍候😀"])
    assert sign.shown == [["A012 请到3号窗口"], ["暂停服务"], ["A012→3号", "?稍候"]]
    sign.show_state("")
    assert sign.lines == []
    assert sign.status().health == Health.OK


def test_an_offline_fake_sign_fails_like_a_real_one() -> None:
    sign = FakeLedSign(online=False)
    with pytest.raises(DeviceError):
        sign.show_call("A012", 3)
    assert sign.status().health == Health.FAULT
