"""Onbon BX-5K/6K: the vendor document's example frames, byte for byte."""

from __future__ import annotations

import pytest

from devices.base import DeviceError
from devices.led import onbon
from devices.led.frame import Color, Effect, FrameError

# "BX-5K/6K 通讯协议用户版本" v1.4, 命令示例 8: A3 06, 128x32 area, "欢迎光临".
DOC_EXAMPLE_8 = bytes.fromhex(
    "a5 a5 a5 a5 a5 a5 a5 a5 fe ff 00 80 00 00 00 00 00 00 fe 02 2c 00"
    " a3 06 01 00 00 00 01 23 00 00 00 80 00 00 80 80 20 00 00 00 00 0a 00 00 00 00"
    " 02 01 01 00 02 0a 08 00 00 00 bb b6 d3 ad b9 e2 c1 d9 3c 49 5a"
)
# 8.7 PING example, 7.1 ACK example (note the ninth 0xA5), 7.2 NACK example (CRC error).
DOC_PING = bytes.fromhex(
    "A5 A5 A5 A5 A5 A5 A5 A5 01 00 00 80 00 00 00 00 00 00 FE 02 05 00 A2 00 01 00 00 68 F8 5A"
)
DOC_ACK = bytes.fromhex(
    "A5 A5 A5 A5 A5 A5 A5 A5 A5 00 80 FE FF 00 00 00 00 00 00 FE 02 05 00 A0 00 00 00 00 14 AC 5A"
)
DOC_NACK = bytes.fromhex(
    "A5 A5 A5 A5 A5 A5 A5 A5 A5 00 80 FE FF 00 00 00 00 00 00 FE 02 05 00 A0 01 05 00 00 05 51 5A"
)


def test_real_time_text_matches_the_vendor_example() -> None:
    area = onbon.DynamicArea(width_px=128, height_px=32, timeout_s=10)
    frame = onbon.encode_area_data(0xFFFE, area, "欢迎光临".encode("gb2312"))
    assert frame == DOC_EXAMPLE_8


def test_ping_and_clear_match_the_vendor_frames() -> None:
    assert onbon.encode_ping(1) == DOC_PING
    assert onbon.encode_clear(1) == bytes.fromhex(
        "a5 a5 a5 a5 a5 a5 a5 a5 01 00 00 80 00 00 00 00 00 00 fe 02 05 00 a3 10 01 00 00 51 f8 5a"
    )


def test_controller_replies_are_understood() -> None:
    onbon.check_reply(DOC_ACK, 0xFFFE)
    with pytest.raises(DeviceError, match="CRC16"):
        onbon.check_reply(DOC_NACK, 0xFFFE)
    assert onbon.encode_ack(0xFFFE) == DOC_ACK[1:]  # we send the canonical eight 0xA5


def test_a_call_carries_the_colour_escape_and_gb2312_text() -> None:
    area = onbon.DynamicArea(width_px=64, height_px=16)
    frame = onbon.encode_text(1, "A012 请到3号窗口", area=area, color=Color.RED)
    packet = onbon.decode_frame(frame)
    assert packet.destination == 1 and packet.source == 0x8000
    assert packet.data[:2] == b"\xa3\x06"
    assert packet.data.endswith(b"\\C1" + "A012 请到3号窗口".encode("gb2312"))
    assert packet.data[9 + 1 : 9 + 3] == b"\x00\x80"  # AreaX 0 in pixels
    assert packet.data[9 + 5 : 9 + 7] == b"\x40\x80"  # width 64 pixels


def test_lines_use_the_controller_line_break_and_effect() -> None:
    frame = onbon.encode_text(1, "A012→3号\nB003→5号", effect=Effect.SCROLL_UP)
    data = onbon.decode_frame(frame).data
    text = data[9 + 27 :]  # command header (9) and area header (27) come first
    assert text == "\\C1A012→3号\\nB003→5号".encode("gb2312")
    assert data[9 + 17] == 0x02  # multi-line
    assert data[9 + 19] == 0x05  # scroll up


def test_reserved_bytes_in_the_payload_are_escaped() -> None:
    frame = onbon.encode_text(0x5A, "Z[", color=Color.RED)
    body = frame[8:-1]
    assert 0x5A not in body and 0xA5 not in body
    assert body.startswith(b"\x5b\x02\x00")  # address 0x005A escaped
    assert onbon.decode_frame(frame).data.endswith(b"Z[")


def test_a_staff_backslash_cannot_inject_an_escape() -> None:
    data = onbon.text_data(["a\\C2b"], color=None)
    assert b"\\" not in data


@pytest.mark.parametrize("index", [9, 30, len(DOC_EXAMPLE_8) - 3])
def test_a_corrupted_frame_is_rejected(index: int) -> None:
    corrupted = bytearray(DOC_EXAMPLE_8)
    corrupted[index] ^= 0x01
    with pytest.raises(FrameError):
        onbon.decode_frame(bytes(corrupted))
