"""Read ESC/POS bytes back into what a visitor would see on the paper (for tests).

Covers the commands the hall's layouts emit; anything else raises, so a layout that starts
sending something new is noticed here first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageOps

ESC, FS, GS, DLE, LF = 0x1B, 0x1C, 0x1D, 0x10, 0x0A


@dataclass(frozen=True)
class Line:
    """One printed line and the style it was printed in."""

    text: str
    width: int = 1  # character width multiplier (GS !)
    height: int = 1
    bold: bool = False
    align: str = "left"


@dataclass
class Decoded:
    """Everything found on the paper."""

    lines: list[Line] = field(default_factory=list)
    qr_payloads: list[str] = field(default_factory=list)  # GS ( k store (fn 80)
    qr_prints: int = 0  # GS ( k print (fn 81)
    images: list[Image.Image] = field(default_factory=list)  # adjacent GS v 0 joined
    initialised: bool = False
    chinese_mode: bool = False
    cut: str | None = None  # "full" | "partial"
    status_queries: list[int] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        """Return the text of every line."""
        return [line.text for line in self.lines]

    def line_with(self, fragment: str) -> Line:
        """Return the first line containing ``fragment``."""
        for line in self.lines:
            if fragment in line.text:
                return line
        raise AssertionError(f"no printed line contains {fragment!r}: {self.texts}")


def _raster(width_bytes: int, height: int, data: bytes) -> Image.Image:
    # GS v 0 sets a bit for each black dot; PIL's "1" mode reads a set bit as white.
    ink = Image.frombytes("1", (width_bytes * 8, height), data)
    return ImageOps.invert(ink.convert("L")).convert("1")


def _join(top: Image.Image, bottom: Image.Image) -> Image.Image:
    joined = Image.new("1", (top.width, top.height + bottom.height), 1)
    joined.paste(top, (0, 0))
    joined.paste(bottom, (0, top.height))
    return joined


def decode(data: bytes, encoding: str = "gb18030") -> Decoded:
    """Parse ``data``; text is decoded with ``encoding`` (strictly: bad bytes raise)."""
    out = Decoded()
    pending = bytearray()
    width = height = 1
    bold = False
    align = "left"
    last_was_raster = False
    i = 0

    def flush() -> None:
        out.lines.append(Line(pending.decode(encoding), width, height, bold, align))
        pending.clear()

    def need(n: int) -> bytes:
        if i + n > len(data):
            raise ValueError(f"command at {i} is cut short")
        return data[i : i + n]

    while i < len(data):
        byte = data[i]
        raster_now = False
        if byte >= 0x20:
            pending.append(byte)
            i += 1
        elif byte == LF:
            flush()
            i += 1
        elif byte == ESC:
            cmd, arg = need(3)[1], data[i + 2] if i + 2 < len(data) else None
            if cmd == ord("@"):
                out.initialised = True
                width = height = 1
                bold, align = False, "left"
                i += 2
            elif cmd == ord("a"):
                align = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center"}[arg or 0]
                i += 3
            elif cmd == ord("E"):
                bold = bool(arg)
                i += 3
            elif cmd == ord("d"):
                if pending:
                    flush()
                i += 3
            else:
                raise ValueError(f"unknown ESC {cmd:#04x} at {i}")
        elif byte == FS:
            cmd = need(2)[1]
            if cmd == ord("&"):
                out.chinese_mode = True
            elif cmd == ord("."):
                out.chinese_mode = False
            else:
                raise ValueError(f"unknown FS {cmd:#04x} at {i}")
            i += 2
        elif byte == GS:
            cmd = need(2)[1]
            if cmd == ord("!"):
                n = need(3)[2]
                width, height = (n >> 4) + 1, (n & 0x0F) + 1
                i += 3
            elif cmd == ord("V"):
                m = need(3)[2]
                out.cut = "full" if m in (0, 48, 65) else "partial"
                i += 4 if m in (65, 66) else 3
            elif cmd == ord("v"):
                head = need(8)
                if head[2] != ord("0"):
                    raise ValueError(f"unknown GS v {head[2]:#04x} at {i}")
                width_bytes = head[4] | head[5] << 8
                rows = head[6] | head[7] << 8
                i += 8
                image = _raster(width_bytes, rows, need(width_bytes * rows))
                i += width_bytes * rows
                if last_was_raster and out.images[-1].width == image.width:
                    out.images[-1] = _join(out.images[-1], image)
                else:
                    out.images.append(image)
                raster_now = True
            elif cmd == ord("("):
                head = need(5)
                kind, size = head[2], head[3] | head[4] << 8
                i += 5
                params = need(size)
                i += size
                if kind != ord("k") or params[0] != ord("1"):
                    raise ValueError(f"unknown GS ( {kind:#04x} before {i}")
                if params[1] == 80:  # store the data (after cn, fn and m)
                    out.qr_payloads.append(params[3:].decode("utf-8"))
                elif params[1] == 81:
                    out.qr_prints += 1
            else:
                raise ValueError(f"unknown GS {cmd:#04x} at {i}")
        elif byte == DLE:
            head = need(3)
            if head[1] != 0x04:
                raise ValueError(f"unknown DLE {head[1]:#04x} at {i}")
            out.status_queries.append(head[2])
            i += 3
        else:
            raise ValueError(f"unexpected control byte {byte:#04x} at {i}")
        last_was_raster = raster_now
    if pending:
        flush()
    return out
