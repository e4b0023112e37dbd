"""What goes on a ticket, line by line, before any printer or picture format."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from devices.printer.ticket import TicketPrint

Align = Literal["left", "center"]


@dataclass(frozen=True)
class TextLine:
    """One line of text; ``scale`` multiplies the normal character size (1, 2, 3 or 4)."""

    text: str
    scale: int = 1
    bold: bool = False
    align: Align = "center"


@dataclass(frozen=True)
class Separator:
    """A dashed rule across the paper."""


@dataclass(frozen=True)
class QrCode:
    """The ticket's QR code, centred."""

    url: str


Block = TextLine | Separator | QrCode


# Emoji-style pictographs: the printer's font has none (the same rule as the server's
# hall_server/domain/text.py; devices import no app). One the GBK set has (★ ☆) stays.
_PICTOGRAPH_BLOCKS = ((0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x1F000, 0x1FAFF))


def _no_glyph(ch: str) -> bool:
    category = unicodedata.category(ch)
    code = ord(ch)
    if category in ("Cf", "Co", "Cs", "Cn") or 0xFE00 <= code <= 0xFE0F or code == 0x20E3:
        return True
    if category in ("So", "Sk") and (
        code >= 0x10000 or any(lo <= code <= hi for lo, hi in _PICTOGRAPH_BLOCKS)
    ):
        try:
            ch.encode("gbk")
        except UnicodeEncodeError:
            return True
    return False


def clean_text(text: str) -> str:
    """Replace control characters so config text can never smuggle printer commands, and
    drop emoji and other characters no printer font has (they would print as "?" or junk)."""
    return "".join(
        " " if unicodedata.category(ch) == "Cc" else ch for ch in text if not _no_glyph(ch)
    )


PRECISE_MAX_MIN = 12 * 60  # a longer wait is printed without a figure: "12 小时以上"
CLOSING_FROM_MIN = 60  # a shorter wait is printed in minutes even when it ends after closing


def _rounded(minutes: int) -> int:
    step = 1 if minutes < 60 else 10 if minutes < 180 else 30
    return int(step * ((minutes + step / 2) // step))


def wait_words(minutes: int, *, past_closing: bool = False) -> tuple[str, str]:
    """Return the printed wait, Chinese and English, as the screens say it (kiosk/static/eta.js).

    ``minutes`` is the median wait; ``past_closing``: it ends after the service's last ticket
    period today. Under an hour: ``约 15 分钟``; an hour to three, in 10-minute steps:
    ``约 1 小时 20 分钟``; from three hours, in half hours: ``约 8 小时 30 分钟``; over twelve
    hours, or an hour or more past closing, no figure: ``12 小时以上``, ``超出今日办理时间``.
    """
    minutes = max(1, minutes)
    if past_closing and minutes >= CLOSING_FROM_MIN:
        return "超出今日办理时间", "past closing"
    if minutes > PRECISE_MAX_MIN:
        return "12 小时以上", "over 12 h"
    m = _rounded(minutes)
    if m < 60:
        return f"约 {m} 分钟", f"about {m} min"
    hours, rest = divmod(m, 60)
    if rest == 0:
        return f"约 {hours} 小时", f"about {hours} h"
    return f"约 {hours} 小时 {rest} 分钟", f"about {hours} h {rest} min"


def _waiting_lines(ticket: TicketPrint) -> list[Block]:
    if ticket.people_ahead == 0:
        ahead = [TextLine("前面没有人等候，请留意叫号", bold=True), TextLine("You are next")]
    else:
        n = ticket.people_ahead
        ahead = [
            TextLine(f"前面还有 {n} 人等候", bold=True),
            TextLine(f"{n} {'person' if n == 1 else 'people'} ahead of you"),
        ]
    if ticket.eta_min is None:
        eta = [TextLine("预计等候时间：暂无"), TextLine("Estimated wait: not available")]
    else:
        zh, en = wait_words(ticket.eta_min, past_closing=ticket.eta_past_closing)
        gap = " " if zh[0].isdigit() else ""  # the paper's style: a space before a figure
        eta = [TextLine(f"预计等候{gap}{zh}"), TextLine(f"Estimated wait: {en}")]
    return [*ahead, *eta]


def ticket_blocks(ticket: TicketPrint, *, number_scale: int) -> list[Block]:
    """Return the ticket's content top to bottom: Chinese first, short English second."""
    blocks: list[Block] = [
        TextLine(ticket.hall_name, bold=True),
        Separator(),
        TextLine(ticket.service_name, scale=2, bold=True),
        TextLine(ticket.service_name_en),
    ]
    if ticket.priority_label:
        blocks.append(TextLine(f"【{ticket.priority_label}】", bold=True))
    if ticket.appointment_label:
        blocks.append(TextLine(ticket.appointment_label))
    blocks.append(TextLine(ticket.number, scale=number_scale, bold=True))
    blocks.extend(_waiting_lines(ticket))
    blocks.extend(
        [
            Separator(),
            TextLine(f"等候区域：{ticket.floor}楼 {ticket.zone}", align="left"),
            TextLine(f"Waiting area: Floor {ticket.floor}, {ticket.zone}", align="left"),
            TextLine(f"取号时间：{ticket.issued_text}", align="left"),
            TextLine(f"Issued: {ticket.issued_text}", align="left"),
            QrCode(ticket.qr_url),
            TextLine("扫码查看排队进度"),
            TextLine("Scan to follow your queue"),
        ]
    )
    if ticket.notices:
        blocks.append(Separator())
        blocks.extend(TextLine(notice, align="left") for notice in ticket.notices)
    return blocks
