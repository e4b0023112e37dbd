"""The real network adapter against a pretend port-9100 printer on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import zxingcpp

from devices.base import DeviceError, Health
from devices.printer import build_printer
from devices.printer.adapters import NetworkPrinter, SerialPrinter
from devices.printer.fake_network import FakeNetworkPrinter
from devices.printer.layout import ticket_bytes
from devices.printer.profile import PrinterProfile
from devices.printer.ticket import TicketPrint
from tests.devices.escpos_decoder import decode

from .conftest import QR_URL

STATUS_TIMEOUT_S = 0.3


@pytest.fixture
def fake() -> Iterator[FakeNetworkPrinter]:
    with FakeNetworkPrinter() as printer:
        yield printer


def adapter_for(fake: FakeNetworkPrinter, **profile: object) -> NetworkPrinter:
    return NetworkPrinter(
        PrinterProfile(**profile),  # type: ignore[arg-type]
        host="127.0.0.1",
        port=fake.port,
        timeout_s=5,
        status_timeout_s=STATUS_TIMEOUT_S,
    )


@pytest.mark.parametrize(
    ("paper", "health", "online", "detail", "message"),
    [
        ("ok", Health.OK, True, "ok", "打印机正常"),
        ("low", Health.WARNING, True, "low", "打印机纸将用尽"),
        ("out", Health.FAULT, False, "out", "打印机缺纸"),
        ("offline", Health.FAULT, False, "ok", "打印机离线"),
    ],
)
def test_status_reports_what_the_printer_answers(
    fake: FakeNetworkPrinter, paper: str, health: Health, online: bool, detail: str, message: str
) -> None:
    fake.paper = paper  # type: ignore[assignment]
    printer = adapter_for(fake)

    status = printer.status()

    assert (status.health, status.online, status.detail["paper"]) == (health, online, detail)
    assert status.message.startswith(message)
    assert fake.queries_answered == 2
    printer.close()


def test_a_printer_that_does_not_answer_is_unknown_within_the_timeout(
    fake: FakeNetworkPrinter,
) -> None:
    fake.paper = "silent"
    printer = adapter_for(fake)

    started = time.monotonic()
    status = printer.status()
    elapsed = time.monotonic() - started

    assert status.health is Health.UNKNOWN and status.online is None
    assert status.message.startswith("打印机无响应")
    assert elapsed < STATUS_TIMEOUT_S + 2  # asked once, gave up, did not ask paper too
    assert fake.wait_for_closed_connection(0) == b"\x10\x04\x01"


def test_status_follows_the_printer_from_one_poll_to_the_next(fake: FakeNetworkPrinter) -> None:
    printer = adapter_for(fake)

    seen = []
    for paper in ("ok", "low", "out", "silent", "ok"):
        fake.paper = paper
        seen.append(printer.status().health)

    assert seen == [Health.OK, Health.WARNING, Health.FAULT, Health.UNKNOWN, Health.OK]


def test_a_printed_ticket_arrives_intact(fake: FakeNetworkPrinter, ticket: TicketPrint) -> None:
    printer = adapter_for(fake)

    printer.print_ticket(ticket)

    received = fake.wait_for_closed_connection(0)
    assert received == ticket_bytes(ticket, PrinterProfile())
    paper = decode(received)
    assert "A012" in paper.texts and paper.qr_payloads == [QR_URL] and paper.cut == "partial"


@pytest.mark.usefixtures("cjk_font")
def test_an_image_mode_ticket_of_many_kilobytes_arrives_intact(
    fake: FakeNetworkPrinter, ticket: TicketPrint
) -> None:
    printer = adapter_for(fake, mode="image")

    printer.print_ticket(ticket)
    status = printer.status()  # after a large job the next poll still reads a clean answer

    received = fake.wait_for_closed_connection(0)
    assert received == ticket_bytes(ticket, PrinterProfile(mode="image"))
    assert len(received) > 20_000
    [image] = decode(received).images
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [QR_URL]
    assert status.health is Health.OK


def test_built_from_config_it_prints_to_the_configured_port(
    fake: FakeNetworkPrinter, ticket: TicketPrint
) -> None:
    printer = build_printer(
        {"type": "network", "host": "127.0.0.1", "port": fake.port, "encoding": "gbk"}
    )

    printer.print_ticket(ticket)

    assert "城东政务服务中心" in decode(fake.wait_for_closed_connection(0), "gbk").texts


def test_an_unreachable_printer_is_a_fault_and_printing_raises_a_sentence(
    ticket: TicketPrint,
) -> None:
    with FakeNetworkPrinter() as gone:
        port = gone.port
    printer = NetworkPrinter(PrinterProfile(), host="127.0.0.1", port=port, timeout_s=1)

    status = printer.status()
    with pytest.raises(DeviceError, match=rf"打印 A012 失败：127\.0\.0\.1:{port}"):
        printer.print_ticket(ticket)

    assert status.health is Health.FAULT and status.online is False
    assert status.message.startswith("打印机无法连接")


def test_a_serial_printer_opened_by_url_answers_status_too(fake: FakeNetworkPrinter) -> None:
    fake.paper = "low"
    printer = SerialPrinter(
        PrinterProfile(), url=f"socket://127.0.0.1:{fake.port}", status_timeout_s=1
    )

    status = printer.status()
    printer.close()

    assert status.health is Health.WARNING and status.detail["paper"] == "low"
