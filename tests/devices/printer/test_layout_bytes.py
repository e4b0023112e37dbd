"""The ticket's ESC/POS bytes, frozen: each key part checked once by hand against the spec."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devices.printer.layout import encode_text, size_command, ticket_bytes
from devices.printer.profile import Encoding, PrinterProfile
from devices.printer.ticket import TicketPrint

from .conftest import RARE_HALL, RARE_SERVICE

INIT_AND_CHINESE = bytes.fromhex("1b401c26")  # ESC @, FS &
CENTRE_BOLD_1X = bytes.fromhex("1b61011b45011d2100")  # ESC a 1, ESC E 1, GS ! 0
CENTRE_BOLD_2X = bytes.fromhex("1b61011b45011d2111")  # GS ! 0x11: double w and h
CENTRE_1X = bytes.fromhex("1b61011b45001d2100")
LEFT_1X = bytes.fromhex("1b61001b45001d2100")
NUMBER_80MM = bytes.fromhex("1b61011b45011d2133413031320a")  # 4x: "A012"
NUMBER_58MM = bytes.fromhex("1b61011b45011d2122413031320a")  # 3x on 58 mm
# GS ( k: model 2, module 6 dots, level M, store 29 bytes of URL, print.
NATIVE_QR = bytes.fromhex(
    "1b6101"
    "1d286b0400314132"
    "00"
    "1d286b0300314306"
    "1d286b0300314531"
    "1d286b2000315030" + b"https://hall.example/t/Xy7kQ2".hex() + "1d286b0300315130"
    "0a"
)
RESET_FEED_PARTIAL_CUT = bytes.fromhex("1b61001b45001d21001b64061d5601")

GB_HALL = bytes.fromhex("b3c7b6abd5fecef1b7fecef1d6d0d0c4")  # 城东政务服务中心
GB_SERVICE = bytes.fromhex("c9e7b1a3d2b5cef1")  # 社保业务
GB_AHEAD = bytes.fromhex("c7b0c3e6bbb9d3d0203320c8cbb5c8baf2")  # 前面还有 3 人等候
GB_TIME = bytes.fromhex("c8a1bac5cab1bce4a3ba") + b"2026-11-22 09:05"  # 取号时间：
BIG5_HALL = bytes.fromhex("abb03fac463faa413fa4a4a4df")  # 城?政?服?中心
BIG5_SERVICE = bytes.fromhex("aac0ab4f3f3f")  # 社保?? (业务 are simplified-only)


@pytest.mark.parametrize("encoding", ["gb18030", "gbk"])
def test_text_ticket_in_gb_encodings_is_byte_exact(ticket: TicketPrint, encoding: Encoding) -> None:
    data = ticket_bytes(ticket, PrinterProfile(encoding=encoding))

    assert data.startswith(INIT_AND_CHINESE + CENTRE_BOLD_1X + GB_HALL + b"\n")
    assert CENTRE_BOLD_2X + GB_SERVICE + b"\n" in data
    assert CENTRE_1X + b"Social Insurance\n" in data
    assert NUMBER_80MM in data
    assert CENTRE_BOLD_1X + GB_AHEAD + b"\n" in data
    assert LEFT_1X + GB_TIME + b"\n" in data
    assert LEFT_1X + b"-" * 48 + b"\n" in data
    assert NATIVE_QR in data
    assert data.endswith(RESET_FEED_PARTIAL_CUT)


def test_text_ticket_in_big5_prints_question_marks_for_simplified_only_characters(
    ticket: TicketPrint,
) -> None:
    data = ticket_bytes(ticket, PrinterProfile(encoding="big5"))

    assert data.startswith(INIT_AND_CHINESE + CENTRE_BOLD_1X + BIG5_HALL + b"\n")
    assert CENTRE_BOLD_2X + BIG5_SERVICE + b"\n" in data
    assert NUMBER_80MM in data
    assert NATIVE_QR in data
    assert data.endswith(RESET_FEED_PARTIAL_CUT)


@pytest.mark.parametrize(
    ("encoding", "text", "expected"),
    [
        # 𠮷 is four bytes in GB18030; 䶮 sits in its two-byte area; 堃 is in GBK.
        ("gb18030", "𠮷堃䶮", "9534b23588d2fe9f"),
        ("gbk", "𠮷堃䶮", "3f88d23f"),
        ("big5", "𠮷堃䶮", "3f3f3f"),
        ("gb18030", "“”《》、。—", "a1b0a1b1a1b6a1b7a1a2a1a3a1aa"),
        ("gbk", "“”《》、。—", "a1b0a1b1a1b6a1b7a1a2a1a3a1aa"),
        ("big5", "“”《》、。—", "a1a7a1a8a16da16ea142a143a158"),
    ],
)
def test_rare_characters_and_chinese_punctuation_encode_or_become_question_marks(
    encoding: Encoding, text: str, expected: str
) -> None:
    assert encode_text(text, encoding) == bytes.fromhex(expected)


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "big5"])
def test_a_ticket_with_rare_names_never_fails_to_encode(
    rare_ticket: TicketPrint, encoding: Encoding
) -> None:
    data = ticket_bytes(rare_ticket, PrinterProfile(encoding=encoding))

    assert encode_text(RARE_HALL, encoding) + b"\n" in data
    assert encode_text(RARE_SERVICE, encoding) + b"\n" in data


def test_58mm_paper_gets_a_smaller_number_and_a_32_column_rule(ticket: TicketPrint) -> None:
    data = ticket_bytes(ticket, PrinterProfile(width_dots=384))

    assert NUMBER_58MM in data
    assert LEFT_1X + b"-" * 32 + b"\n" in data
    assert b"\x1d(k\x03\x001C\x04" in data  # QR module 4 dots so the code fits


def test_without_a_cutter_the_ticket_is_fed_past_the_tear_bar(ticket: TicketPrint) -> None:
    data = ticket_bytes(ticket, PrinterProfile(cut=False))

    assert data.endswith(bytes.fromhex("1b61001b45001d21001b6406"))
    assert b"\x1dV" not in data


def test_control_characters_in_config_text_cannot_inject_printer_commands(
    ticket: TicketPrint,
) -> None:
    sneaky = replace(ticket, notices=("请排队\x1bi\x1dV\x00",))

    data = ticket_bytes(sneaky, PrinterProfile())

    assert encode_text("请排队 i V ", "gb18030") + b"\n" in data
    assert data.count(b"\x1dV") == 1  # only the real cut
    assert size_command(1) == b"\x1d!\x00"
