"""Keypad frames on the wire: fixed bytes, and a decoder that survives a noisy bus."""

from __future__ import annotations

import pytest

from devices.keypad import protocol
from devices.keypad.protocol import Command, Frame


def test_checksum_is_crc16_modbus() -> None:
    assert protocol.crc16_modbus(b"123456789") == 0x4B37  # the catalogue check value


def test_key_press_frame_is_byte_exact_and_stuffs_the_length_byte() -> None:
    # LEN = 0x02 collides with STX, so it travels as 10 22.
    assert protocol.encode_key(1, 0x41, 7) == bytes.fromhex("02 01 01 10 22 41 07 c8 6e 03")


def test_host_frames_are_byte_exact() -> None:
    assert protocol.encode_ack(1, 7) == bytes.fromhex("02 01 83 01 07 b0 62 03")
    assert protocol.encode_beep(1) == bytes.fromhex("02 01 82 10 22 01 0a 11 ef 03")
    assert protocol.encode_display(1, "A012 请到3号窗口") == bytes.fromhex(
        "02 01 81 10 30 41 30 31 32 20 c7 eb b5 bd 33 ba c5 b4 b0 bf da 0a 0b 03"
    )


def test_address_and_payload_bytes_that_look_like_markers_are_stuffed() -> None:
    frame = protocol.encode_frame(0x10, 0x02, b"\x03")
    assert frame == bytes.fromhex("02 10 30 10 22 01 10 23 e4 b5 03")
    assert frame.count(protocol.STX) == 1 and frame.count(protocol.ETX) == 1
    assert protocol.decode_frames(frame) == ([Frame(0x10, 0x02, b"\x03")], b"")


def test_display_text_outside_gb2312_is_substituted_never_raised() -> None:
    # 喆 is not in GB2312; full-width Ａ is, in its NFKC form "A"; emoji never is.
    assert protocol.encode_display_text("张喆") == "张".encode("gb2312") + b"?"
    assert protocol.encode_display_text("\U0001f600 ok") == b"? ok"
    assert protocol.encode_display_text("第\n二行") == "第 二行".encode("gb2312")


def test_display_text_is_cut_at_a_character_boundary() -> None:
    text = "请A012号到3号窗口办理业务谢谢合作"
    # 请A012 is 6 bytes; 号 would need bytes 7 and 8, so it is left out whole.
    assert protocol.encode_display_text(text, max_bytes=7).decode("gb2312") == "请A012"
    assert protocol.encode_display_text(text, max_bytes=8).decode("gb2312") == "请A012号"
    long = protocol.encode_display(1, "办" * 200)
    assert protocol.decode_frames(long)[0][0].payload == ("办" * 16).encode("gb2312")


@pytest.mark.parametrize("address", [0, 256])
def test_an_address_off_the_bus_is_refused(address: int) -> None:
    with pytest.raises(ValueError, match="address"):
        protocol.encode_frame(address, Command.KEY)


def test_decoder_returns_each_frame_and_reads_key_presses() -> None:
    stream = protocol.encode_key(1, 0x41, 1) + protocol.encode_heartbeat(2)
    frames, rest = protocol.decode_frames(stream)
    assert rest == b""
    assert [f.command for f in frames] == [Command.KEY, Command.HEARTBEAT]
    press = protocol.key_press(frames[0])
    assert press is not None
    assert (press.address, press.code, press.sequence) == (1, 0x41, 1)
    assert protocol.key_press(frames[1]) is None


def test_decoder_joins_a_frame_split_across_reads_at_every_byte() -> None:
    wire = protocol.encode_key(3, 0x30, 2) + protocol.encode_key(3, 0x31, 3)
    for cut in range(len(wire) + 1):
        first, rest = protocol.decode_frames(wire[:cut])
        second, rest = protocol.decode_frames(rest + wire[cut:])
        assert rest == b""
        codes = [protocol.key_press(f).code for f in first + second]  # type: ignore[union-attr]
        assert codes == [0x30, 0x31], cut


def test_decoder_skips_garbage_before_a_start_byte_and_reports_it() -> None:
    decoded = protocol.decode(b"\xff\x00\x99" + protocol.encode_key(1, 0x42, 9))
    assert [protocol.key_press(f) for f in decoded.frames] == [protocol.KeyPress(1, 0x42, 9)]
    assert [(r.reason, r.data) for r in decoded.rejected] == [
        ("garbage before a start byte", b"\xff\x00\x99")
    ]


def test_decoder_skips_a_bad_checksum_and_keeps_the_next_frame() -> None:
    bad = bytearray(protocol.encode_key(1, 0x41, 5))
    bad[-2] ^= 0x01
    decoded = protocol.decode(bytes(bad) + protocol.encode_key(1, 0x44, 6))
    assert [f.payload for f in decoded.frames] == [bytes((0x44, 6))]
    assert [r.reason for r in decoded.rejected] == ["bad checksum"]
    assert decoded.rejected[0].data == bytes(bad)


def test_decoder_drops_a_frame_cut_short_by_the_next_start_byte() -> None:
    whole = protocol.encode_key(1, 0x41, 5)
    decoded = protocol.decode(whole[:5] + protocol.encode_key(1, 0x45, 6))
    assert [f.payload for f in decoded.frames] == [bytes((0x45, 6))]
    assert [r.reason for r in decoded.rejected] == ["frame cut short by a new start byte"]


def test_decoder_rejects_broken_stuffing_and_wrong_length() -> None:
    broken = bytes.fromhex("02 01 01 10 41 07 00 00 03")  # 10 41 is no escape
    short_len = bytes.fromhex("02 01 01 05 41 07 00 00 03")
    decoded = protocol.decode(broken + short_len)
    assert decoded.frames == []
    assert [r.reason for r in decoded.rejected] == [
        "bad byte-stuffing",
        "length byte does not match the frame",
    ]


def test_decoder_keeps_a_partial_frame_but_not_endless_noise() -> None:
    frames, rest = protocol.decode_frames(b"\x02\x01\x01")
    assert (frames, rest) == ([], b"\x02\x01\x01")
    decoded = protocol.decode(b"\x02" + b"\x55" * (protocol.MAX_FRAME_BYTES + 1))
    assert decoded.rest == b"" and decoded.rejected[0].reason.startswith("no end byte")
