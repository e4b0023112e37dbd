"""Emoji never reach the printer: its code page has none, they would print as "?" or junk.
Rare CJK characters (𠮷) and symbols the GBK set has (★) still print."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devices.printer.content import clean_text
from devices.printer.layout import ticket_bytes
from devices.printer.profile import Encoding, PrinterProfile
from devices.printer.ticket import TicketPrint
from tests.devices.escpos_decoder import decode

EMOJI = "😀🏠👍🏻⚠️✨🇨🇳"  # with a skin tone, a variation selector, a flag


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "big5"])
def test_a_ticket_with_emoji_in_every_text_prints_without_them(
    ticket: TicketPrint, encoding: Encoding
) -> None:
    noisy = replace(
        ticket,
        hall_name=f"城东政务服务中心{EMOJI}",
        service_name=f"社保{EMOJI}业务",
        service_name_en=f"Social {EMOJI}Insurance",
        notices=(f"请携带身份证原件{EMOJI}",),
    )
    profile = PrinterProfile(encoding=encoding)
    texts = decode(ticket_bytes(noisy, profile), encoding).texts
    # Exactly what the same ticket without emoji prints (big5 has "?" for 东, 务 either way).
    assert texts == decode(ticket_bytes(ticket, profile), encoding).texts
    printed = "\n".join(texts)
    assert "\ufffd" not in printed and not set(EMOJI) & set(printed)
    if encoding != "big5":
        assert "?" not in printed and "城东政务服务中心" in texts


def test_rare_names_and_gbk_symbols_are_kept() -> None:
    assert clean_text("★𠮷祥堃街道😀") == "★𠮷祥堃街道"
