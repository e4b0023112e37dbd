"""The generic framed protocol: fixed frames, stuffing, checksum, corrupted frames."""

from __future__ import annotations

import pytest

from devices.base import DeviceError
from devices.led import generic
from devices.led.frame import Color, Effect, FrameError

CALL_A012 = bytes.fromhex(
    "02 01 54 00 12 00 01"  # STX, address 1, TEXT, length 18, static, red
    " 41 30 31 32 20 c7 eb b5 bd 33 ba c5 b4 b0 bf da"  # "A012 请到3号窗口" in GB2312
    " 18 ff 03"  # CRC-16/MODBUS low byte first, ETX
)


def test_crc_is_the_standard_modbus_crc() -> None:
    assert generic.crc16_modbus(b"123456789") == 0x4B37  # the published check value


def test_a_call_encodes_to_the_fixed_frame() -> None:
    assert generic.encode_text(1, "A012 请到3号窗口") == CALL_A012


def test_board_lines_are_joined_by_newline_and_stuffed() -> None:
    frame = generic.encode_lines(1, ["A012→3号", "B003→5号"], color=Color.GREEN)
    # green (0x02) would read as STX, so it travels as DLE 0x22
    assert frame == bytes.fromhex(
        "02 01 54 00 15 00 10 22 41 30 31 32 a1 fa 33 ba c5 0a 42 30 30 33 a1 fa 35 ba c5 dd b8 03"
    )
    decoded = generic.decode_frame(frame)
    assert decoded.text == "A012→3号\nB003→5号"
    assert decoded.payload[:2] == bytes([0, 2])


def test_clear_and_status_frames_are_fixed() -> None:
    assert generic.encode_clear(2) == bytes.fromhex("02 10 22 43 00 00 f0 48 03")
    assert generic.encode_status(3) == bytes.fromhex("02 10 23 53 00 00 f0 71 03")
    assert generic.encode_ack(1) == bytes.fromhex("02 01 06 00 00 e1 d9 03")


def test_frame_never_contains_start_or_end_inside() -> None:
    frame = generic.encode_text(3, "\x02\x03\x10", effect=Effect.SCROLL_UP, color=Color.YELLOW)
    assert frame.count(generic.STX) == 1 and frame.count(generic.ETX) == 1
    assert generic.decode_frame(frame).address == 3


def test_decode_round_trips_and_ignores_noise_before_the_frame() -> None:
    frame = generic.decode_frame(b"\xff\x00" + CALL_A012)
    assert (frame.address, frame.command) == (1, generic.CMD_TEXT)
    assert frame.text == "A012 请到3号窗口"


@pytest.mark.parametrize("index", [3, 8, len(CALL_A012) - 2])
def test_a_corrupted_frame_is_rejected(index: int) -> None:
    corrupted = bytearray(CALL_A012)
    corrupted[index] ^= 0x40
    with pytest.raises(FrameError, match=r"checksum|length"):
        generic.decode_frame(bytes(corrupted))


def test_a_truncated_frame_is_rejected() -> None:
    with pytest.raises(FrameError, match="truncated"):
        generic.decode_frame(CALL_A012[:-1])


def test_reply_ack_passes_and_nak_says_why() -> None:
    generic.check_reply(generic.encode_ack(1), 1)
    with pytest.raises(DeviceError, match="checksum"):
        generic.check_reply(generic.encode_nak(1, 1), 1)
    with pytest.raises(FrameError, match="address"):
        generic.check_reply(generic.encode_ack(2), 1)
