"""The printed wait: minutes under an hour, hours and minutes beyond, no figure when too long."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devices.printer.content import wait_words
from devices.printer.layout import ticket_bytes
from devices.printer.profile import Encoding, PrinterProfile
from devices.printer.ticket import TicketPrint
from tests.devices.escpos_decoder import decode


@pytest.mark.parametrize(
    ("minutes", "past_closing", "zh", "en"),
    [
        (1, False, "约 1 分钟", "about 1 min"),
        (15, False, "约 15 分钟", "about 15 min"),
        (59, False, "约 59 分钟", "about 59 min"),
        (60, False, "约 1 小时", "about 1 h"),
        (84, False, "约 1 小时 20 分钟", "about 1 h 20 min"),  # 10-minute steps to 3 h
        (175, False, "约 3 小时", "about 3 h"),
        (502, False, "约 8 小时 30 分钟", "about 8 h 30 min"),  # half hours from 3 h
        (720, False, "约 12 小时", "about 12 h"),
        (721, False, "12 小时以上", "over 12 h"),  # no figure past twelve hours
        (2000, False, "12 小时以上", "over 12 h"),
        (59, True, "约 59 分钟", "about 59 min"),  # under an hour: the windows finish the queue
        (60, True, "超出今日办理时间", "past closing"),
        (502, True, "超出今日办理时间", "past closing"),
    ],
)
def test_the_wait_reads_in_the_unit_a_visitor_uses(
    minutes: int, past_closing: bool, zh: str, en: str
) -> None:
    assert wait_words(minutes, past_closing=past_closing) == (zh, en)


@pytest.mark.parametrize("encoding", ["gb18030", "gbk"])
def test_a_502_minute_wait_is_printed_in_hours_never_in_minutes(
    ticket: TicketPrint, encoding: Encoding
) -> None:
    long_wait = replace(ticket, eta_min=502)
    paper = decode(ticket_bytes(long_wait, PrinterProfile(encoding=encoding)), encoding)

    assert "预计等候约 8 小时 30 分钟" in paper.texts
    assert "Estimated wait: about 8 h 30 min" in paper.texts
    assert not any("502" in text for text in paper.texts)


def test_a_wait_past_closing_or_over_twelve_hours_prints_no_figure(ticket: TicketPrint) -> None:
    closing = decode(ticket_bytes(replace(ticket, eta_min=95, eta_past_closing=True),
                                  PrinterProfile())).texts  # fmt: skip
    assert "预计等候超出今日办理时间" in closing
    assert "Estimated wait: past closing" in closing
    assert not any("95" in text or "小时" in text for text in closing)

    night = decode(ticket_bytes(replace(ticket, eta_min=900), PrinterProfile())).texts
    assert "预计等候 12 小时以上" in night
    assert "Estimated wait: over 12 h" in night
    assert not any("900" in text or "15 小时" in text for text in night)


def test_every_wait_line_fits_a_58_mm_ticket(ticket: TicketPrint) -> None:
    """32 columns (a Chinese character takes two): the printer would break a longer line."""
    for minutes, closing in ((15, False), (84, False), (502, False), (900, False), (95, True)):
        texts = decode(ticket_bytes(replace(ticket, eta_min=minutes, eta_past_closing=closing),
                                    PrinterProfile())).texts  # fmt: skip
        for text in texts:
            if text.startswith(("预计等候", "Estimated wait")):
                columns = sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
                assert columns <= 32, text
