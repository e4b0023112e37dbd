"""Turn-near reminders: the phone is kept sealed, the visitor is told once, adapters deliver."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hall_server.models import TicketContact
from hall_server.services.notify import (
    HttpSmsNotifier,
    LogNotifier,
    NotifyError,
    notifier_from_settings,
    seal,
    unseal,
)
from hall_server.settings import ConfigError, NotifySettings, load_settings
from tests.hall_server.hall import SMALL_HALL, HallRig

PHONE = "13812345678"


def contacts(hall: HallRig) -> list[str]:
    with hall.ctx.db.read() as session:
        return list(session.scalars(select(TicketContact.phone_sealed)))


def serve_next(hall: HallRig) -> None:
    hall.act("staff2", 3, "call-next")
    hall.act("staff2", 3, "finish")


def test_the_visitor_is_told_once_when_three_are_ahead(hall: HallRig, agent: Any) -> None:
    turns = hall.app.extensions["kiosk_turns"]
    assert isinstance(turns.config.notifier, LogNotifier) and turns.config.ahead == 3
    for _ in range(5):
        hall.issue("b")
    mine = hall.post("kiosk-1", "/kiosk/tickets", {"service": "b", "phone": PHONE}).get_json()
    assert mine["people_ahead"] == 5
    [sealed] = contacts(hall)
    assert PHONE not in sealed and unseal(hall.ctx.secret, sealed) == PHONE
    hall.act("staff2", 3, "open")
    serve_next(hall)  # 4 ahead: not yet
    turns.outbox.join()
    assert turns.config.notifier.sent == []
    serve_next(hall)  # 3 ahead
    turns.outbox.join()
    assert turns.config.notifier.sent == [
        ("138****5678", "【测试大厅】您的B006号（不动产登记）前面还有3人，请回到2楼B区等候叫号。")
    ]
    assert contacts(hall) == []  # told: the phone is gone
    serve_next(hall)
    turns.outbox.join()
    assert len(turns.config.notifier.sent) == 1


def test_a_cancelled_ticket_drops_its_phone_without_a_message(hall: HallRig, agent: Any) -> None:
    for _ in range(5):
        hall.issue("b")
    mine = hall.post("kiosk-1", "/kiosk/tickets", {"service": "b", "phone": PHONE}).get_json()
    hall.client.post(f"/api/v1/public/tickets/{mine['token']}/cancel")
    assert contacts(hall) == []
    assert hall.app.extensions["kiosk_turns"].config.notifier.sent == []


def test_a_visitor_already_near_the_front_is_not_kept(hall: HallRig, agent: Any) -> None:
    hall.post("kiosk-1", "/kiosk/tickets", {"service": "b", "phone": PHONE})
    assert contacts(hall) == []


def test_a_sealed_phone_cannot_be_altered_or_read_with_another_key() -> None:
    sealed = seal("key-1", PHONE)
    assert unseal("key-1", sealed) == PHONE and seal("key-1", PHONE) != sealed  # fresh nonce
    with pytest.raises(ValueError):
        unseal("key-2", sealed)
    raw = bytearray(sealed.encode())
    raw[30] = ord("A") if raw[30] != ord("A") else ord("B")
    with pytest.raises(ValueError):
        unseal("key-1", raw.decode())


class Gateway(BaseHTTPRequestHandler):
    """An SMS gateway on 127.0.0.1 that records what it is asked to send."""

    received: list[tuple[str, dict[str, Any]]] = []  # noqa: RUF012 - set per test
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append((self.headers.get("Authorization", ""),
                              json.loads(self.rfile.read(length))))  # fmt: skip
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[Gateway]]]:
    handler = type("RecordingGateway", (Gateway,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sms", handler
    server.shutdown()
    server.server_close()


def test_the_http_sms_adapter_posts_phone_and_message_with_its_token(
    gateway: tuple[str, type[Gateway]],
) -> None:
    url, handler = gateway
    env = {"HALL_CONFIG": str(SMALL_HALL), "HALL_NOTIFIER": "http", "HALL_SMS_URL": url,
           "HALL_SMS_TOKEN": "gw-secret", "HALL_NOTIFY_AHEAD": "2"}  # fmt: skip
    config = notifier_from_settings(load_settings(environ=env).notify)
    assert isinstance(config.notifier, HttpSmsNotifier) and config.ahead == 2
    config.notifier.send(PHONE, "您的B006号前面还有2人")
    assert handler.received == [
        ("Bearer gw-secret", {"phone": PHONE, "message": "您的B006号前面还有2人"})
    ]
    handler.status = 503
    with pytest.raises(NotifyError, match="503"):
        config.notifier.send(PHONE, "again")


def test_an_unreachable_gateway_is_a_notify_error_not_a_crash() -> None:
    from tests.support.ports import free_port

    notifier = HttpSmsNotifier(f"http://127.0.0.1:{free_port()}/sms", timeout_s=2)
    with pytest.raises(NotifyError, match="unreachable"):
        notifier.send(PHONE, "hello")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"HALL_NOTIFIER": "pigeon"}, "environment HALL_NOTIFIER: notify.kind"),
        ({"HALL_NOTIFIER": "http"}, "notify.sms_url: kind = \"http\" needs the gateway"),
        ({"HALL_NOTIFIER": "http", "HALL_SMS_URL": "ftp://x"}, "notify.sms_url"),
        ({"HALL_NOTIFY_AHEAD": "three"}, "environment HALL_NOTIFY_AHEAD: notify.ahead"),
        ({"HALL_NOTIFIER": "http", "HALL_SMS_URL": "http://x", "HALL_SMS_TIMEOUT_S": "0"},
         "environment HALL_SMS_TIMEOUT_S: notify.sms_timeout_s"),
    ],
)  # fmt: skip
def test_a_wrong_notifier_setting_is_named(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(names)):
        load_settings(environ={"HALL_CONFIG": str(SMALL_HALL), **env})


def test_the_notifier_is_set_in_the_site_file_too(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(SMALL_HALL.read_text() + '\n[notify]\nkind = "http"\nahead = 5\n'
                    'sms_url = "https://sms.example.gov.cn/send"\n')  # fmt: skip
    config = notifier_from_settings(load_settings(environ={"HALL_CONFIG": str(site)}).notify)
    assert isinstance(config.notifier, HttpSmsNotifier) and config.ahead == 5
    assert isinstance(notifier_from_settings(NotifySettings()).notifier, LogNotifier)
