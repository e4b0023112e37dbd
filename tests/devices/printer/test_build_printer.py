"""Printers come from config; a wrong key stops start-up with the key's name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devices.base import DeviceError, Health
from devices.printer import FakePrinter, build_printer
from devices.printer.adapters import FilePrinter, NetworkPrinter, SerialPrinter, UsbPrinter
from devices.printer.layout import ticket_bytes
from devices.printer.picture import find_cjk_font
from devices.printer.profile import PrinterProfile
from devices.printer.ticket import TicketPrint


def test_each_type_builds_its_adapter_with_the_configured_profile(tmp_path: Path) -> None:
    network = build_printer(
        {
            "type": "network",
            "host": "10.0.0.5",
            "port": 9100,
            "encoding": "gb18030",
            "qr": "native",
            "mode": "text",
            "width_dots": 576,
        }
    )
    usb = build_printer({"type": "usb", "vendor_id": "0x0416", "product_id": "0x5011"})
    serial = build_printer({"type": "serial", "url": "/dev/ttyS0", "baudrate": 19200})
    file = build_printer({"type": "file", "path": "/dev/usb/lp0", "width_dots": 384})
    fake = build_printer({"type": "fake", "mode": "image"}, out_dir=tmp_path)

    assert isinstance(network, NetworkPrinter)
    assert (network.host, network.port, network.profile) == ("10.0.0.5", 9100, PrinterProfile())
    assert isinstance(usb, UsbPrinter) and (usb.vendor_id, usb.product_id) == (0x0416, 0x5011)
    assert isinstance(serial, SerialPrinter) and (serial.url, serial.baudrate) == (
        "/dev/ttyS0",
        19200,
    )
    assert isinstance(file, FilePrinter) and file.profile.width_dots == 384
    assert isinstance(fake, FakePrinter) and fake.out_dir == tmp_path
    assert fake.profile.mode == "image"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"type": "laser"}, "type"),
        ({}, "type"),
        ({"type": "network", "host": "10.0.0.5", "prot": 9100}, "prot"),
        ({"type": "network"}, "host"),
        ({"type": "usb", "vendor_id": "0x0416"}, "product_id"),
        ({"type": "usb", "vendor_id": "USB", "product_id": 1}, "vendor_id"),
        ({"type": "serial", "url": "/dev/ttyS0", "baudrate": "fast"}, "baudrate"),
        ({"type": "file", "path": ""}, "path"),
        ({"type": "fake", "encoding": "utf-8"}, "encoding"),
        ({"type": "fake", "qr": "barcode"}, "qr"),
        ({"type": "fake", "mode": "pdf"}, "mode"),
        ({"type": "fake", "width_dots": 500}, "width_dots"),
        ({"type": "fake", "cut": "yes"}, "cut"),
        ({"type": "fake", "paper": "empty"}, "paper"),
        ({"type": "network", "host": "h", "timeout_s": 0}, "timeout_s"),
    ],
)
def test_a_bad_config_is_refused_naming_the_key(options: dict[str, Any], named: str) -> None:
    with pytest.raises(DeviceError, match=rf"\b{named}\b"):
        build_printer(options)


def test_a_file_printer_writes_the_ticket_and_cannot_know_its_paper(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    target = tmp_path / "lp0"
    printer = build_printer({"type": "file", "path": str(target)})

    printer.print_ticket(ticket)
    printer.close()

    assert target.read_bytes() == ticket_bytes(ticket, PrinterProfile())
    status = printer.status()
    assert status.health is Health.UNKNOWN and status.online is None


def test_a_file_printer_that_cannot_open_raises_a_sentence(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    printer = build_printer({"type": "file", "path": str(tmp_path / "no" / "lp0")})

    with pytest.raises(DeviceError, match="打印 A012 失败"):
        printer.print_ticket(ticket)


def test_a_missing_usb_printer_is_a_fault_and_raises_a_sentence(ticket: TicketPrint) -> None:
    # Without pyusb, or with it but no such device plugged in: the same sentence shape.
    printer = build_printer({"type": "usb", "vendor_id": "0xfffe", "product_id": "0xfffe"})

    status = printer.status()
    with pytest.raises(DeviceError, match="USB"):
        printer.print_ticket(ticket)

    assert status.health is Health.FAULT and status.online is False


def test_image_mode_without_a_chinese_font_says_which_package_to_install(
    monkeypatch: pytest.MonkeyPatch, ticket: TicketPrint
) -> None:
    monkeypatch.setattr("devices.printer.picture.CJK_FONT_CANDIDATES", ())
    printer = build_printer({"type": "fake", "mode": "image"})

    with pytest.raises(DeviceError, match="fonts-wqy-zenhei"):
        printer.print_ticket(ticket)


def test_a_configured_font_path_that_does_not_exist_is_named(tmp_path: Path) -> None:
    missing_font = str(tmp_path / "nope.ttf")

    with pytest.raises(DeviceError, match=r"nope\.ttf"):
        find_cjk_font(missing_font)
