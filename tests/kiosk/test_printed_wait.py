"""The printed ticket's wait: from the print job the server makes to the bytes the printer gets."""

from __future__ import annotations

from typing import Any

import pytest

from devices.printer.layout import ticket_bytes
from devices.printer.profile import PrinterProfile
from hall_server.services.kiosk import print_payload
from kiosk.agent import ticket_from_job
from tests.devices.escpos_decoder import decode
from tests.hall_server.hall import HallRig


def printed(hall: HallRig, service: str, eta_s: int | None) -> tuple[dict[str, Any], list[str]]:
    """The job the server makes for a ticket of ``service`` told ``eta_s``, and its paper lines."""
    ticket = {
        "service": service,
        "number": "A001",
        "people_ahead": 40,
        "eta_s": eta_s,
        "issued_at": hall.clock().isoformat(),
        "qr_url": "http://hall.test/t/x",
        "priority_kind": "",
    }
    with hall.ctx.db.read() as session:
        payload = print_payload(hall.ctx, ticket, session)
    paper = decode(ticket_bytes(ticket_from_job({"ticket": payload}), PrinterProfile()))
    return payload, [t for t in paper.texts if t.startswith(("预计等候", "Estimated wait"))]


def test_a_502_minute_wait_in_a_round_the_clock_hall_prints_in_hours(hall: HallRig) -> None:
    payload, lines = printed(hall, "b", 502 * 60)  # 不动产登记: open 00:00-24:00
    assert payload["eta_min"] == 502 and payload["eta_past_closing"] is False
    assert lines == ["预计等候约 8 小时 30 分钟", "Estimated wait: about 8 h 30 min"]


@pytest.mark.parametrize(
    ("eta_min", "lines"),
    [
        (50, ["预计等候约 50 分钟", "Estimated wait: about 50 min"]),  # ends 16:50
        (85, ["预计等候约 1 小时 30 分钟", "Estimated wait: about 1 h 30 min"]),  # 17:25
        (95, ["预计等候超出今日办理时间", "Estimated wait: past closing"]),  # 17:35 > 17:30
    ],
)
def test_a_long_wait_that_ends_after_closing_prints_no_figure(
    hall: HallRig, eta_min: int, lines: list[str]
) -> None:
    hall.clock.advance(hours=6)  # Monday 16:00; 社会保障 issues until 17:30
    payload, printed_lines = printed(hall, "a", eta_min * 60)
    assert payload["eta_past_closing"] is (eta_min == 95)
    assert printed_lines == lines


def test_after_closing_a_short_wait_still_prints_in_minutes(hall: HallRig) -> None:
    hall.clock.advance(hours=7, minutes=50)  # 17:50, past 社会保障's 17:30
    payload, lines = printed(hall, "a", 20 * 60)
    assert payload["eta_past_closing"] is True
    assert lines == ["预计等候约 20 分钟", "Estimated wait: about 20 min"]


def test_no_estimate_prints_not_available(hall: HallRig) -> None:
    payload, lines = printed(hall, "a", None)
    assert payload["eta_min"] is None and payload["eta_past_closing"] is False
    assert lines == ["预计等候时间：暂无", "Estimated wait: not available"]
