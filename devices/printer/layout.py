"""Turn a ticket into ESC/POS bytes for one printer profile: pure functions, no I/O."""

from __future__ import annotations

from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy

from devices.printer.content import QrCode, Separator, TextLine, clean_text, ticket_blocks
from devices.printer.picture import qr_image, render_image, render_png
from devices.printer.profile import Encoding, PrinterProfile
from devices.printer.ticket import TicketPrint

__all__ = [
    "CHINESE_MODE",
    "INIT",
    "encode_text",
    "image_ticket_bytes",
    "render_png",
    "size_command",
    "text_ticket_bytes",
    "ticket_bytes",
]

INIT = b"\x1b@"  # ESC @: forget whatever the last job left set
CHINESE_MODE = b"\x1c&"  # FS &: read two-byte (and GB18030 four-byte) characters
LF = b"\n"
FEED_LINES = 6  # clears the tear bar when the printer has no cutter


def align_command(align: str) -> bytes:
    """Return ESC a n: 0 left, 1 centre."""
    return b"\x1ba" + (b"\x01" if align == "center" else b"\x00")


def bold_command(bold: bool) -> bytes:
    """Return ESC E n."""
    return b"\x1bE" + (b"\x01" if bold else b"\x00")


def size_command(scale: int) -> bytes:
    """Return GS ! n for characters ``scale`` times as wide and as high (1 to 8)."""
    if not 1 <= scale <= 8:
        raise ValueError("scale must be 1 to 8")
    return b"\x1d!" + bytes([(scale - 1) << 4 | (scale - 1)])


def encode_text(text: str, encoding: Encoding) -> bytes:
    """Encode for the printer's font; a character it lacks becomes "?" and never fails."""
    return clean_text(text).encode(encoding, errors="replace")


def _escpos(profile: PrinterProfile) -> Dummy:
    """Return a python-escpos byte recorder that knows the paper width."""
    recorder = Dummy()
    # Its default profile has no paper width: without one it cannot centre an image and
    # prints a notice on stdout. Override on this instance only (profile_data is shared).
    data = dict(recorder.profile.profile_data)
    data["media"] = {"width": {"pixels": profile.width_dots, "mm": "Unknown"}, "dpi": 203}
    recorder.profile.profile_data = data
    return recorder


def _finish(recorder: Dummy, profile: PrinterProfile) -> None:
    if profile.cut:
        recorder.cut(mode="PART")  # ESC d 6, GS V 1: the stub stays attached to the roll
    else:
        recorder.print_and_feed(FEED_LINES)


def text_ticket_bytes(ticket: TicketPrint, profile: PrinterProfile) -> bytes:
    """Return the ticket in the printer's own Chinese font, with native or image QR."""
    out = Dummy()
    recorder = _escpos(profile)
    out._raw(INIT + CHINESE_MODE)
    for block in ticket_blocks(ticket, number_scale=profile.number_scale):
        if isinstance(block, TextLine):
            out._raw(
                align_command(block.align)
                + bold_command(block.bold)
                + size_command(block.scale)
                + encode_text(block.text, profile.encoding)
                + LF
            )
        elif isinstance(block, Separator):
            out._raw(
                align_command("left")
                + bold_command(False)
                + size_command(1)
                + b"-" * profile.columns
                + LF
            )
        elif isinstance(block, QrCode):
            recorder.clear()
            recorder._raw(align_command("center"))
            if profile.qr == "native":
                recorder.qr(block.url, ec=QR_ECLEVEL_M, size=profile.qr_module_dots, native=True)
                recorder._raw(LF)
            else:
                recorder.image(qr_image(block.url, profile.qr_module_dots), center=True)
            out._raw(recorder.output)
    recorder.clear()
    recorder._raw(align_command("left") + bold_command(False) + size_command(1))
    _finish(recorder, profile)
    out._raw(recorder.output)
    return bytes(out.output)


def image_ticket_bytes(ticket: TicketPrint, profile: PrinterProfile) -> bytes:
    """Return the whole ticket as raster images (GS v 0), for printers without Chinese."""
    recorder = _escpos(profile)
    recorder._raw(INIT)
    recorder.image(render_image(ticket, profile))
    _finish(recorder, profile)
    return bytes(recorder.output)


def ticket_bytes(ticket: TicketPrint, profile: PrinterProfile) -> bytes:
    """Return the bytes that print ``ticket`` on a printer of ``profile``."""
    if profile.mode == "image":
        return image_ticket_bytes(ticket, profile)
    return text_ticket_bytes(ticket, profile)
