"""Tickets every printer test prints."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from devices.base import DeviceError
from devices.printer.picture import find_cjk_font
from devices.printer.ticket import TicketPrint
from tests.needs import missing

SHANGHAI = ZoneInfo("Asia/Shanghai")
QR_URL = "https://hall.example/t/Xy7kQ2"
# Rare characters (堃 in GBK only; 䶮 and 𠮷 beyond GBK) and Chinese-only punctuation.
RARE_HALL = "𠮷祥堃䶮街道便民服务中心"
RARE_SERVICE = "“不动产”登记、过户—《专窗》。"


@pytest.fixture
def ticket() -> TicketPrint:
    """Return an ordinary ticket."""
    return TicketPrint(
        hall_name="城东政务服务中心",
        service_name="社保业务",
        service_name_en="Social Insurance",
        number="A012",
        people_ahead=3,
        eta_min=15,
        issued_at=datetime(2026, 11, 22, 9, 5, tzinfo=SHANGHAI),
        zone="A区",
        floor="2",
        qr_url=QR_URL,
        notices=("请携带身份证原件",),
    )


@pytest.fixture
def rare_ticket(ticket: TicketPrint) -> TicketPrint:
    """Return a ticket whose hall and service names test the encodings' edges."""
    from dataclasses import replace

    return replace(ticket, hall_name=RARE_HALL, service_name=RARE_SERVICE, number="B007")


@pytest.fixture
def cjk_font() -> str:
    """Return a Chinese font file, or skip (fail in CI) naming the package."""
    try:
        return find_cjk_font()
    except DeviceError:
        missing("no Chinese font (apt-get install -y fonts-wqy-zenhei)")
        raise
