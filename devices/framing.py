"""Pieces of serial framing that several device protocols share."""

from __future__ import annotations

from collections.abc import Container


def crc16(data: bytes, init: int = 0xFFFF) -> int:
    """Return the reflected CRC-16 (poly 0x8005) of ``data``: init 0xFFFF is MODBUS, 0 is ARC."""
    crc = init
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def crc16_modbus(data: bytes) -> int:
    """Return the CRC-16/MODBUS of ``data``."""
    return crc16(data, 0xFFFF)


def stuff(body: bytes, special: Container[int], escape: int = 0x10) -> bytes:
    """Escape every special byte as ``escape, byte ^ 0x20`` (DLE stuffing)."""
    out = bytearray()
    for byte in body:
        if byte in special:
            out += bytes((escape, byte ^ 0x20))
        else:
            out.append(byte)
    return bytes(out)


def unstuff(stuffed: bytes, special: Container[int], escape: int = 0x10) -> bytes | None:
    """Undo ``stuff``; None when an escape is dangling or escapes a byte that needs none."""
    out = bytearray()
    escaped = False
    for byte in stuffed:
        if escaped:
            original = byte ^ 0x20
            if original not in special:
                return None
            out.append(original)
            escaped = False
        elif byte == escape:
            escaped = True
        else:
            out.append(byte)
    return None if escaped else bytes(out)
