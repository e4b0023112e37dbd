"""Read printed tickets back: the visitor sees the Chinese text, the number, the QR, a cut."""

from __future__ import annotations

from dataclasses import replace

import pytest
import zxingcpp
from PIL import Image, ImageChops

from devices.printer.layout import ticket_bytes
from devices.printer.picture import render_image
from devices.printer.profile import Encoding, PrinterProfile
from devices.printer.ticket import TicketPrint
from tests.devices.escpos_decoder import decode

from .conftest import QR_URL, RARE_HALL, RARE_SERVICE


def qr_texts(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize("encoding", ["gb18030", "gbk"])
def test_text_ticket_reads_back_as_chinese_lines_number_qr_and_cut(
    ticket: TicketPrint, encoding: Encoding
) -> None:
    paper = decode(ticket_bytes(ticket, PrinterProfile(encoding=encoding)), encoding)

    assert paper.initialised and paper.chinese_mode
    assert paper.texts[0] == "城东政务服务中心"
    assert paper.line_with("社保业务").width == 2
    number = paper.line_with("A012")
    assert (number.width, number.height, number.bold, number.align) == (4, 4, True, "center")
    for shown in (
        "Social Insurance",
        "前面还有 3 人等候",
        "预计等候约 15 分钟",
        "等候区域：2楼 A区",
        "取号时间：2026-11-22 09:05",
        "扫码查看排队进度",
        "请携带身份证原件",
    ):
        assert shown in paper.texts
    assert paper.qr_payloads == [QR_URL] and paper.qr_prints == 1
    assert paper.cut == "partial"


def test_chinese_comes_first_then_its_english_line(ticket: TicketPrint) -> None:
    texts = decode(ticket_bytes(ticket, PrinterProfile())).texts

    assert texts.index("社保业务") + 1 == texts.index("Social Insurance")
    assert texts.index("前面还有 3 人等候") + 1 == texts.index("3 people ahead of you")
    assert texts.index("扫码查看排队进度") + 1 == texts.index("Scan to follow your queue")


def test_rare_names_and_chinese_punctuation_survive_gb18030(rare_ticket: TicketPrint) -> None:
    texts = decode(ticket_bytes(rare_ticket, PrinterProfile())).texts

    assert RARE_HALL in texts
    assert RARE_SERVICE in texts
    assert "B007" in texts


def test_gbk_printer_shows_question_marks_only_where_gbk_has_no_character(
    rare_ticket: TicketPrint,
) -> None:
    texts = decode(ticket_bytes(rare_ticket, PrinterProfile(encoding="gbk")), "gbk").texts

    assert "?祥堃?街道便民服务中心" in texts
    assert RARE_SERVICE in texts  # all of “”《》、。— exist in GBK


def test_priority_appointment_and_an_empty_queue_are_printed(ticket: TicketPrint) -> None:
    special = replace(
        ticket,
        priority_label="绿色通道",
        appointment_label="预约 09:00-09:30",
        people_ahead=0,
        eta_min=None,
    )

    texts = decode(ticket_bytes(special, PrinterProfile())).texts

    assert "【绿色通道】" in texts
    assert "预约 09:00-09:30" in texts
    assert "前面没有人等候，请留意叫号" in texts
    assert "预计等候时间：暂无" in texts


def test_image_qr_in_a_text_ticket_reads_back_with_a_phone_reader(ticket: TicketPrint) -> None:
    paper = decode(ticket_bytes(ticket, PrinterProfile(qr="image")))

    assert paper.qr_payloads == []
    assert len(paper.images) == 1 and paper.images[0].width == 576
    assert qr_texts(paper.images[0]) == [QR_URL]
    assert "A012" in paper.texts and paper.cut == "partial"


@pytest.mark.usefixtures("cjk_font")
@pytest.mark.parametrize("width_dots", [576, 384])
def test_image_mode_prints_the_rendered_ticket_as_one_raster(
    rare_ticket: TicketPrint, width_dots: int
) -> None:
    profile = PrinterProfile(mode="image", width_dots=width_dots, encoding="big5")

    paper = decode(ticket_bytes(rare_ticket, profile), "big5")

    assert paper.initialised and not paper.chinese_mode
    assert paper.texts == []  # nothing depends on the printer's own font
    assert len(paper.images) == 1
    printed = paper.images[0]
    assert printed.width == width_dots
    expected = render_image(rare_ticket, profile)
    assert ImageChops.difference(printed.convert("L"), expected.convert("L")).getbbox() is None
    assert qr_texts(printed) == [QR_URL]
    assert paper.cut == "partial"


@pytest.mark.usefixtures("cjk_font")
def test_image_mode_draws_every_line_of_the_ticket(ticket: TicketPrint) -> None:
    """Each line adds ink: a ticket with more lines is a longer picture, none is blank."""
    profile = PrinterProfile(mode="image")
    longer = replace(ticket, notices=("请携带身份证原件", "过号请重新取号"))

    plain = render_image(ticket, profile)
    more = render_image(longer, profile)

    assert more.height > plain.height
    bottom = more.crop((0, plain.height - 8, more.width, more.height))
    assert bottom.convert("L").getextrema()[0] == 0  # the extra notice left black dots
