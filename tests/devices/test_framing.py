"""The framing pieces the keypad and LED protocols share."""

from __future__ import annotations

import pytest

from devices.framing import crc16, crc16_modbus, stuff, unstuff

SPECIAL = {0x02, 0x03, 0x10}


def test_crc16_gives_the_published_check_values() -> None:
    assert crc16_modbus(b"123456789") == 0x4B37  # CRC-16/MODBUS
    assert crc16(b"123456789", 0) == 0xBB3D  # CRC-16/ARC (Onbon)


@pytest.mark.parametrize("body", [b"", b"\x02\x03\x10", b"A\x10B\x02", bytes(range(256))])
def test_stuffing_round_trips_and_leaves_no_marker_inside(body: bytes) -> None:
    stuffed = stuff(body, SPECIAL)
    assert 0x02 not in stuffed and 0x03 not in stuffed
    assert unstuff(stuffed, SPECIAL) == body


@pytest.mark.parametrize("broken", [b"A\x10", b"\x10\x41"], ids=["dangling", "needless-escape"])
def test_broken_stuffing_is_refused(broken: bytes) -> None:
    assert unstuff(broken, SPECIAL) is None
