"""The shipped fake: what `hall demo` prints, as PNGs a person (or a phone) can read."""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from devices.base import DeviceError, Health
from devices.printer import FakePrinter, build_printer
from devices.printer.ticket import TicketPrint
from tests.devices.escpos_decoder import decode

from .conftest import QR_URL


@pytest.mark.usefixtures("cjk_font")
def test_each_ticket_becomes_a_png_whose_qr_reads_back(tmp_path: Path, ticket: TicketPrint) -> None:
    printer = FakePrinter(out_dir=tmp_path / "printed")

    printer.print_ticket(ticket)

    png = tmp_path / "printed" / "A012.png"
    with Image.open(png) as picture:
        assert picture.width == 576
        assert [r.text for r in zxingcpp.read_barcodes(picture)] == [QR_URL]
    assert [path.name for path in (tmp_path / "printed").iterdir()] == ["A012.png"]
    assert "A012" in decode(printer.last_bytes).texts


def test_out_of_paper_it_refuses_and_prints_nothing(tmp_path: Path, ticket: TicketPrint) -> None:
    printer = FakePrinter(out_dir=tmp_path, paper="out")

    with pytest.raises(DeviceError, match="打印 A012 失败：打印机缺纸"):
        printer.print_ticket(ticket)

    assert printer.printed == []
    assert list(tmp_path.iterdir()) == []
    assert printer.status().health is Health.FAULT


@pytest.mark.parametrize(
    ("paper", "health", "online", "message"),
    [
        ("ok", Health.OK, True, "打印机正常"),
        ("low", Health.WARNING, True, "打印机纸将用尽"),
        ("out", Health.FAULT, True, "打印机缺纸"),
        ("offline", Health.FAULT, False, "打印机离线"),
    ],
)
def test_status_reports_the_paper_state_set_on_it(
    paper: str, health: Health, online: bool, message: str
) -> None:
    printer = FakePrinter()
    printer.paper = paper  # type: ignore[assignment]

    status = printer.status()

    assert (status.health, status.online) == (health, online)
    assert status.message.startswith(message)


def test_paper_running_low_still_prints(ticket: TicketPrint) -> None:
    printer = build_printer({"type": "fake", "paper": "low"})
    assert isinstance(printer, FakePrinter)

    printer.print_ticket(ticket)

    assert len(printer.printed) == 1


def test_an_unknown_paper_state_is_refused() -> None:
    with pytest.raises(ValueError, match="paper must be one of"):
        FakePrinter(paper="empty")  # type: ignore[arg-type]
