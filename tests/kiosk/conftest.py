"""The small test hall for kiosk tests, and a kiosk whose printer agent reports in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hall_server.extensions import socketio
from hall_server.realtime.kiosk import KIOSK_NAMESPACE
from hall_server.services.auth import authenticate
from hall_server.services.devices import report_status
from tests.hall_server.hall import HallRig

PAPER = {
    "ok": ("ok", "打印机正常 / Printer ready"),
    "low": ("warning", "打印机纸将用尽，请及时换纸 / Printer paper low"),
    "out": ("fault", "打印机缺纸 / Printer out of paper"),
}


def printer_reports(hall: HallRig, kiosk: str, paper: str) -> None:
    """Make ``kiosk``'s printer report ``paper`` (ok, low, out) as its agent would."""
    who = authenticate(hall.ctx, hall.tokens[kiosk])
    health, message = PAPER[paper]
    report_status(hall.ctx, who, part="printer", status={
        "health": health, "online": paper != "out", "detail": {"paper": paper}, "message": message,
    })  # fmt: skip


def connect(hall: HallRig, kiosk: str, role: str) -> Any:
    """A Socket.IO test client on /kiosk as the kiosk's agent or page."""
    client = socketio.test_client(
        hall.app, namespace=KIOSK_NAMESPACE, auth={"token": hall.tokens[kiosk], "role": role}
    )
    assert client.is_connected(KIOSK_NAMESPACE)
    return client


def received(client: Any, name: str) -> list[Any]:
    return [m["args"][0] for m in client.get_received(KIOSK_NAMESPACE) if m["name"] == name]


@pytest.fixture
def agent(hall: HallRig) -> Iterator[Any]:
    """kiosk-1's agent connected, its printer reporting paper ok."""
    client = connect(hall, "kiosk-1", "agent")
    printer_reports(hall, "kiosk-1", "ok")
    client.get_received(KIOSK_NAMESPACE)
    yield client
    if client.is_connected(KIOSK_NAMESPACE):
        client.disconnect(KIOSK_NAMESPACE)
