"""Encode and decode the frames of the window keypad bus (叫号器/评价器, RS-485).

Pure functions: bytes in, bytes or frames out; the transport lives in ``device.py``.

Frame (one keypad per address on a shared RS-485 bus, 8N1, 9600 baud by default)::

    STX  ADDR  CMD  LEN  PAYLOAD[LEN]  CRC_LO  CRC_HI  ETX
    02   01-FE                                          03

- ``ADDR``: the keypad's bus address, 1..254. Host -> keypad frames carry the
  destination, keypad -> host frames the sender. 255 (``BROADCAST``) addresses every
  keypad on the bus (host -> keypad only).
- ``LEN``: payload length, 0..255, before byte-stuffing.
- ``CRC``: CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF) over ADDR, CMD, LEN and
  PAYLOAD, low byte first, as in Modbus RTU.
- Byte-stuffing: between STX and ETX the bytes 0x02, 0x03 and 0x10 are sent as
  ``0x10, byte ^ 0x20``, so STX and ETX only ever mark frame edges and a decoder can
  always resynchronise on the next STX.

Commands:

======  ===============  ====================================================
CMD     direction        payload
======  ===============  ====================================================
0x01    keypad -> host   KEY: key code (1 byte), sequence (1 byte)
0x02    keypad -> host   HEARTBEAT: none (any payload is ignored)
0x81    host -> keypad   DISPLAY: text for the display line, GB2312
0x82    host -> keypad   BEEP: count (1 byte), length in 10 ms units (1 byte)
0x83    host -> keypad   ACK: sequence (1 byte) of the KEY frame received
======  ===============  ====================================================

A keypad repeats a KEY frame (same sequence) until it is acknowledged; the host acks
every copy and reports each sequence once. Display text is encoded character by
character: a character outside GB2312 is tried in its NFKC form (full-width letters)
and otherwise shown as ``?``; text never makes the encoder fail, and it is cut at a
character boundary to fit the display.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import IntEnum

from devices.framing import crc16_modbus, stuff, unstuff

STX = 0x02
ETX = 0x03
DLE = 0x10
BROADCAST = 0xFF
MAX_PAYLOAD = 255
DISPLAY_MAX_BYTES = 32  # one line of 16 Chinese characters on the common keypads
# Longest stuffed frame: every byte between STX and ETX doubled.
MAX_FRAME_BYTES = 2 + 2 * (3 + MAX_PAYLOAD + 2)

_SPECIAL = frozenset({STX, ETX, DLE})


class Command(IntEnum):
    """What a frame asks for or reports."""

    KEY = 0x01
    HEARTBEAT = 0x02
    DISPLAY = 0x81
    BEEP = 0x82
    ACK = 0x83


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame, checksum verified."""

    address: int
    command: int
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class KeyPress:
    """The content of a KEY frame."""

    address: int
    code: int
    sequence: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """Bytes the decoder skipped, and why (garbage, bad checksum, truncated frame)."""

    reason: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one pass over a buffer found: good frames, skipped bytes, leftover bytes."""

    frames: list[Frame]
    rejected: list[Rejected]
    rest: bytes


def encode_frame(address: int, command: int, payload: bytes = b"") -> bytes:
    """Return the bytes on the wire for one frame."""
    if not 1 <= address <= BROADCAST:
        raise ValueError(f"键盘地址须在 1..255 之间 / keypad address must be 1..255, got {address}")
    if not 0 <= command <= 0xFF:
        raise ValueError(f"命令字须为一个字节 / command must be one byte, got {command}")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"数据过长 / payload is {len(payload)} bytes, the limit is {MAX_PAYLOAD}")
    body = bytes((address, command, len(payload))) + payload
    crc = crc16_modbus(body)
    return (
        bytes((STX,)) + stuff(body + bytes((crc & 0xFF, crc >> 8)), _SPECIAL, DLE) + bytes((ETX,))
    )


def encode_display_text(text: str, max_bytes: int = DISPLAY_MAX_BYTES) -> bytes:
    """Encode ``text`` in GB2312 for the display, substituting and cutting, never failing."""
    out = bytearray()
    for char in text:
        encoded = _gb2312_char(char)
        if len(out) + len(encoded) > max_bytes:
            break
        out += encoded
    return bytes(out)


def _gb2312_char(char: str) -> bytes:
    if char in "\r\n\t":
        return b" "
    if unicodedata.category(char).startswith("C"):
        return b""  # control and format characters would confuse the display firmware
    for candidate in (char, unicodedata.normalize("NFKC", char)):
        try:
            return candidate.encode("gb2312")
        except UnicodeEncodeError:
            continue
    return b"?"


def encode_display(address: int, text: str, max_bytes: int = DISPLAY_MAX_BYTES) -> bytes:
    """Return the frame that shows ``text`` on a keypad's display line."""
    return encode_frame(address, Command.DISPLAY, encode_display_text(text, max_bytes))


def encode_beep(address: int, count: int = 1, length_ms: int = 100) -> bytes:
    """Return the frame that makes a keypad beep ``count`` times."""
    count = max(0, min(count, 255))
    units = max(0, min(round(length_ms / 10), 255))
    return encode_frame(address, Command.BEEP, bytes((count, units)))


def encode_ack(address: int, sequence: int) -> bytes:
    """Return the frame that acknowledges a keypad's KEY frame ``sequence``."""
    return encode_frame(address, Command.ACK, bytes((sequence & 0xFF,)))


def encode_key(address: int, code: int, sequence: int) -> bytes:
    """Return a KEY frame as a keypad sends it (for simulators and tests)."""
    return encode_frame(address, Command.KEY, bytes((code & 0xFF, sequence & 0xFF)))


def encode_heartbeat(address: int) -> bytes:
    """Return a HEARTBEAT frame as a keypad sends it (for simulators and tests)."""
    return encode_frame(address, Command.HEARTBEAT)


def key_press(frame: Frame) -> KeyPress | None:
    """Return the key press a frame carries, or None when it is not a valid KEY frame."""
    if frame.command != Command.KEY or len(frame.payload) != 2:
        return None
    return KeyPress(frame.address, frame.payload[0], frame.payload[1])


def decode(buffer: bytes) -> Decoded:
    """Decode every complete frame in ``buffer``; keep a trailing partial frame as ``rest``."""
    frames: list[Frame] = []
    rejected: list[Rejected] = []
    pos = 0
    end = len(buffer)
    while pos < end:
        start = buffer.find(STX, pos)
        if start < 0:
            rejected.append(Rejected("garbage before a start byte", buffer[pos:]))
            return Decoded(frames, rejected, b"")
        if start > pos:
            rejected.append(Rejected("garbage before a start byte", buffer[pos:start]))
        stop = buffer.find(ETX, start + 1)
        next_start = buffer.find(STX, start + 1)
        if next_start >= 0 and (stop < 0 or next_start < stop):
            # A new frame began before this one ended: the line dropped bytes.
            rejected.append(
                Rejected("frame cut short by a new start byte", buffer[start:next_start])
            )
            pos = next_start
            continue
        if stop < 0:
            rest = buffer[start:]
            if len(rest) > MAX_FRAME_BYTES:
                rejected.append(Rejected("no end byte within the longest frame", rest))
                return Decoded(frames, rejected, b"")
            return Decoded(frames, rejected, rest)
        raw = buffer[start : stop + 1]
        frame, reason = _parse(buffer[start + 1 : stop])
        if frame is None:
            rejected.append(Rejected(reason, raw))
        else:
            frames.append(frame)
        pos = stop + 1
    return Decoded(frames, rejected, b"")


def decode_frames(buffer: bytes) -> tuple[list[Frame], bytes]:
    """Return the good frames in ``buffer`` and the bytes to keep for the next call."""
    decoded = decode(buffer)
    return decoded.frames, decoded.rest


def _parse(stuffed: bytes) -> tuple[Frame | None, str]:
    body = unstuff(stuffed, _SPECIAL, DLE)
    if body is None:
        return None, "bad byte-stuffing"
    if len(body) < 5:
        return None, "frame too short"
    address, command, length = body[0], body[1], body[2]
    if len(body) != 3 + length + 2:
        return None, "length byte does not match the frame"
    payload = body[3 : 3 + length]
    crc = body[-2] | (body[-1] << 8)
    if crc != crc16_modbus(body[:-2]):
        return None, "bad checksum"
    return Frame(address, command, payload), ""
