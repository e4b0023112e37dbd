"""The kiosk agent against a real hall server, printing through the real network adapter."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devices.printer.fake_network import FakeNetworkPrinter
from kiosk.agent import KioskAgent, build_agent
from tests.devices.escpos_decoder import decode
from tests.live import LiveHall

pytestmark = pytest.mark.slow


def wait_until(what: str, check: Callable[[], Any], timeout_s: float = 15) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)  # polling a condition, bounded by the deadline
    raise AssertionError(f"not within {timeout_s} s: {what}")


def printer(hall: LiveHall) -> dict[str, Any]:
    response = hall.api("kiosk-1", "GET", "/kiosk/state")
    response.raise_for_status()
    printer: dict[str, Any] = response.json()["printer"]
    return printer


def waiting(hall: LiveHall, service: str = "b") -> int:
    queues = hall.api("staff1", "GET", "/snapshot").json()["queues"]
    return next(q["waiting"] for q in queues if q["service"] == service)


@pytest.fixture
def network_printer() -> Iterator[FakeNetworkPrinter]:
    with FakeNetworkPrinter() as fake:
        yield fake


@pytest.fixture
def agent(live_hall: LiveHall, network_printer: FakeNetworkPrinter) -> Iterator[KioskAgent]:
    options = {"type": "network", "host": "127.0.0.1", "port": network_printer.port,
               "status_timeout_s": 0.3, "encoding": "gb18030"}  # fmt: skip
    agent = build_agent(live_hall.base_url, live_hall.tokens["kiosk-1"],
                        printer_options=options, id_reader_options={"type": "fake"},
                        status_interval_s=0.2)  # fmt: skip
    agent.start()
    yield agent
    agent.stop()


def ticket_bytes(fake: FakeNetworkPrinter, number: str) -> bytes:
    index = wait_until(
        f"a connection carrying {number}",
        lambda: next((i + 1 for i, d in enumerate(fake.connections) if number.encode() in d), 0),
    )
    return fake.wait_for_closed_connection(index - 1)


def test_a_ticket_issued_at_the_kiosk_comes_out_of_the_network_printer(
    live_hall: LiveHall, network_printer: FakeNetworkPrinter, agent: KioskAgent
) -> None:
    wait_until("the printer reported ready", lambda: printer(live_hall)["ready"])
    response = live_hall.api("kiosk-1", "POST", "/kiosk/tickets", {"service": "b"})
    assert response.status_code == 201, response.text
    ticket = response.json()
    paper = decode(ticket_bytes(network_printer, ticket["number"]), "gb18030")
    assert paper.initialised and paper.chinese_mode and paper.cut is not None
    assert paper.line_with(ticket["number"]).width >= 2
    assert "测试大厅" in paper.texts and "不动产登记" in paper.texts
    assert paper.qr_payloads == [ticket["qr_url"]]
    assert ticket["qr_url"] == live_hall.url(f"/t/{ticket['token']}")
    result = wait_until(
        "the job acknowledged", lambda: agent.results.get(ticket["print"]["job_id"])
    )
    assert result["ok"] is True


def test_paper_out_at_the_printer_stops_issuing_until_it_is_refilled(
    live_hall: LiveHall, network_printer: FakeNetworkPrinter, agent: KioskAgent
) -> None:
    wait_until("the printer reported ready", lambda: printer(live_hall)["ready"])
    network_printer.paper = "out"
    down = wait_until("paper out reached the kiosk", lambda: (p := printer(live_hall))["ready"]
                      is False and p)  # fmt: skip
    assert "缺纸" in down["sentence"]
    refused = live_hall.api("kiosk-1", "POST", "/kiosk/tickets", {"service": "b"})
    assert refused.status_code == 409 and "缺纸" in refused.json()["error"]["message"]
    assert waiting(live_hall) == 0
    network_printer.paper = "silent"  # no answer is unknown, never OK
    silent = wait_until("silence reached the kiosk",
                        lambda: (p := printer(live_hall))["health"] == "unknown" and p)  # fmt: skip
    assert silent["ready"] is False and "无响应" in silent["message"]
    network_printer.paper = "ok"
    wait_until("the printer ready again", lambda: printer(live_hall)["ready"])
    assert live_hall.api("kiosk-1", "POST", "/kiosk/tickets", {"service": "b"}).status_code == 201


def test_the_agent_reconnects_after_a_server_restart_and_prints_again(
    live_hall: LiveHall, network_printer: FakeNetworkPrinter, agent: KioskAgent
) -> None:
    wait_until("the printer reported ready", lambda: printer(live_hall)["ready"])
    live_hall.restart()
    wait_until("the agent back", lambda: printer(live_hall)["ready"], timeout_s=30)
    ticket = live_hall.api("kiosk-1", "POST", "/kiosk/tickets", {"service": "b"}).json()
    assert decode(ticket_bytes(network_printer, ticket["number"]), "gb18030").qr_payloads == [
        ticket["qr_url"]
    ]


def test_the_page_asks_for_the_id_card_and_gets_it_from_the_agent(
    live_hall: LiveHall, agent: KioskAgent
) -> None:
    import threading

    import socketio

    from devices.idcard import FakeIdCardReader
    from devices.idcard.reader import card_from_mapping

    wait_until("the printer reported ready", lambda: printer(live_hall)["ready"])
    cards: list[dict[str, Any]] = []
    got = threading.Event()
    page = socketio.Client(reconnection=False)
    page.on("card", lambda card: (cards.append(card), got.set()), namespace="/kiosk")
    page.connect(live_hall.base_url, namespaces=["/kiosk"], transports=["websocket"],
                 auth={"token": live_hall.tokens["kiosk-1"], "role": "page"})  # fmt: skip
    try:
        assert isinstance(agent.id_reader, FakeIdCardReader)
        agent.id_reader.insert(
            card_from_mapping({"name": "张三", "id_number": "11010519491231002X"})
        )
        page.emit("read_card", {"timeout_s": 5}, namespace="/kiosk")
        assert got.wait(10), "no card answer reached the page"
    finally:
        page.disconnect()
    assert cards == [
        {"ok": True, "id_number": "11010519491231002X", "masked": "110105********002X"}
    ]
