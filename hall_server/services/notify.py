"""Tell a visitor by SMS when only a few people are ahead (叫号提醒): pluggable notifiers.

A phone entered at the kiosk is kept sealed (encrypted and authenticated with a key derived
from the hall's secret) in ``ticket_contacts`` only while its ticket waits; the row is
deleted as soon as the visitor was told, or the ticket left the queue. Elsewhere the phone
exists only as a keyed hash and a mask.

Configured by the ``[notify]`` table of the settings (config/default.toml): ``kind`` =
``log`` (default) | ``http``, ``ahead`` (people ahead that trigger the message, 0 = never),
and for ``http`` the gateway ``sms_url`` (receives ``POST {"phone", "message"}``),
``sms_token`` (sent as a bearer token) and ``sms_timeout_s``; HALL_NOTIFIER, HALL_NOTIFY_AHEAD
and HALL_SMS_* set them from the environment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import queue
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

import requests
from sqlalchemy import Table, bindparam, delete, select

from ..db import Prepared
from ..domain.tickets import TicketState
from ..models import Ticket as TicketRow
from ..models import TicketContact
from ..settings import NotifySettings
from .context import HallContext
from .personal import mask_phone
from .ticket_rows import people_ahead

log = logging.getLogger(__name__)

# Events after which someone may have moved closer to the front.
MOVES = frozenset(
    {"ticket.called", "ticket.cancelled", "ticket.transferred", "ticket.expired", "ticket.held"}
)


class NotifyError(Exception):
    """A message could not be handed to the gateway."""


class Notifier(Protocol):
    """Something that delivers a short text to a phone."""

    def send(self, phone: str, message: str) -> None:
        """Deliver ``message`` to ``phone``; raise NotifyError when it cannot."""
        ...


@dataclass
class LogNotifier:
    """The default notifier: writes each message to the server log, phone masked."""

    sent: list[tuple[str, str]] = field(default_factory=list)  # (masked phone, message)

    def send(self, phone: str, message: str) -> None:
        """Log the message (a hall without an SMS gateway still sees who would be told)."""
        self.sent.append((mask_phone(phone), message))
        log.info("notify %s: %s", mask_phone(phone), message)


@dataclass
class HttpSmsNotifier:
    """An SMS gateway over HTTP: ``POST url {"phone", "message"}``, 2xx = accepted."""

    url: str
    token: str = ""
    timeout_s: float = 5.0

    def send(self, phone: str, message: str) -> None:
        """Hand the message to the gateway."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = requests.post(
                self.url,
                json={"phone": phone, "message": message},
                headers=headers,
                timeout=self.timeout_s,
            )
        except requests.RequestException as error:
            raise NotifyError(f"短信网关无法连接 (SMS gateway unreachable): {error}") from None
        if not 200 <= response.status_code < 300:
            raise NotifyError(
                f"短信网关拒绝 (SMS gateway answered {response.status_code}): {response.text[:200]}"
            )


@dataclass(frozen=True)
class NotifyConfig:
    """Which notifier, and how many people ahead trigger the message (0 = never)."""

    notifier: Notifier
    ahead: int


def notifier_from_settings(settings: NotifySettings) -> NotifyConfig:
    """Build the notifier the ``[notify]`` settings describe (validated when loaded)."""
    if settings.kind == "http":
        notifier: Notifier = HttpSmsNotifier(
            settings.sms_url, settings.sms_token, settings.sms_timeout_s
        )
    else:
        notifier = LogNotifier()
    return NotifyConfig(notifier, settings.ahead)


# ---------------------------------------------------------------- sealing


def _keys(secret: str) -> tuple[bytes, bytes]:
    root = secret.encode()
    return (
        hmac.new(root, b"ticket-contact/encrypt", hashlib.sha256).digest(),
        hmac.new(root, b"ticket-contact/authenticate", hashlib.sha256).digest(),
    )


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (
        hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest()
        for i in range((length + 31) // 32)
    )
    return b"".join(blocks)[:length]


def seal(secret: str, text: str) -> str:
    """Encrypt and authenticate ``text`` (HMAC-SHA256 keystream, encrypt-then-MAC)."""
    enc, mac = _keys(secret)
    nonce, plain = secrets.token_bytes(16), text.encode()
    cipher = bytes(a ^ b for a, b in zip(plain, _stream(enc, nonce, len(plain)), strict=True))
    tag = hmac.new(mac, nonce + cipher, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(nonce + cipher + tag).decode()


def unseal(secret: str, sealed: str) -> str:
    """Return the text ``seal`` sealed; ValueError when it was altered or the key differs."""
    enc, mac = _keys(secret)
    raw = base64.urlsafe_b64decode(sealed.encode())
    nonce, cipher, tag = raw[:16], raw[16:-16], raw[-16:]
    if not hmac.compare_digest(tag, hmac.new(mac, nonce + cipher, hashlib.sha256).digest()[:16]):
        raise ValueError("sealed contact was altered or sealed with another key")
    return bytes(
        a ^ b for a, b in zip(cipher, _stream(enc, nonce, len(cipher)), strict=True)
    ).decode()


# ---------------------------------------------------------------- contacts


def remember_contact(
    ctx: HallContext, ticket: dict[str, Any], phone: str, ahead: int, now: datetime
) -> bool:
    """Keep the phone of a new ticket that is further back than ``ahead``; True when kept."""
    if not ahead or not phone or ticket["people_ahead"] <= ahead:
        return False
    with ctx.db.write() as session:
        if session.get(TicketContact, ticket["id"]) is not None:
            return False
        session.add(
            TicketContact(
                ticket_id=ticket["id"],
                hall_id=ctx.hall_id,
                service_id=ctx.layout.services[ticket["service"]].id,
                phone_sealed=seal(ctx.secret, phone.strip()),
                notify_ahead=ahead,
                created_at=now,
            )
        )
    return True


def due_messages(ctx: HallContext, services: set[str]) -> list[tuple[str, str]]:
    """Take the contacts whose turn is near (or whose ticket left): (phone, message) to send.

    Every contact it looks at and settles is deleted in the same transaction, so a message
    is handed out once even when two processes look at the same moment.
    """
    layout = ctx.layout
    ids = [layout.services[s].id for s in services if s in layout.services]
    due: dict[int, tuple[str, str] | None] = {}  # ticket id -> message (None: just drop it)
    # Read first, write only when something is due: this runs after every call, and most
    # calls move nobody who left a phone. Each visitor's place is counted only up to the
    # contact's threshold (an index range of at most ``ahead`` + 1 entries), never the queue.
    with ctx.db.read() as session:
        if _ANY_CONTACT.run(session.connection(), {"b_hall": ctx.hall_id}).fetchone() is None:
            return []
        rows = session.execute(
            select(TicketContact, TicketRow)
            .join(TicketRow, TicketRow.id == TicketContact.ticket_id)
            .where(TicketContact.hall_id == ctx.hall_id, TicketContact.service_id.in_(ids))
        ).all()
        for contact, ticket in rows:
            if ticket.state != TicketState.WAITING.value:
                due[contact.ticket_id] = None
                continue
            ahead = people_ahead(session, ticket, up_to=contact.notify_ahead + 1)
            if ahead > contact.notify_ahead:
                continue
            try:
                phone = unseal(ctx.secret, contact.phone_sealed)
            except ValueError:
                log.warning("contact of ticket %s cannot be unsealed; dropped", ticket.number)
                due[contact.ticket_id] = None
                continue
            service = layout.services_by_id[ticket.service_id]
            due[contact.ticket_id] = (
                phone,
                turn_message(layout.name, ticket.number, service, ahead),
            )
    if not due:
        return []
    # Only the process whose DELETE removed a contact sends its message: once, even when
    # two processes looked at the same moment.
    with ctx.db.write() as session:
        table = cast(Table, TicketContact.__table__)
        taken = session.scalars(
            delete(table).where(table.c.ticket_id.in_(list(due))).returning(table.c.ticket_id)
        ).all()
    return [message for ticket_id in taken if (message := due[ticket_id]) is not None]


_ANY_CONTACT = Prepared(
    select(TicketContact.ticket_id).where(TicketContact.hall_id == bindparam("b_hall")).limit(1)
)


def turn_message(hall: str, number: str, service: Any, ahead: int) -> str:
    """The SMS text: who, how close, where to wait."""
    place = f"{service.floor}楼{service.zone}"
    if ahead == 0:
        return f"【{hall}】您的{number}号（{service.name}）即将叫号，请到{place}等候。"
    return f"【{hall}】您的{number}号（{service.name}）前面还有{ahead}人，请回到{place}等候叫号。"


class TurnNotices:
    """Subscribe to the hall's events and send the messages that fell due, off the request."""

    def __init__(self, ctx: HallContext, config: NotifyConfig) -> None:
        self.ctx, self.config = ctx, config
        self.outbox: queue.Queue[tuple[str, str]] = queue.Queue()
        self.sent = 0
        self.failed = 0
        self._worker: threading.Thread | None = None

    def __call__(self, events: list[dict[str, Any]]) -> None:
        services = {e["service"] for e in events if e.get("type") in MOVES and e.get("service")}
        if not services or not self.config.ahead:
            return
        try:
            for item in due_messages(self.ctx, services):
                self.outbox.put(item)
        except Exception:  # the change is committed; a missed reminder must not fail it
            log.exception("could not look for visitors to notify")
            return
        self._start()

    def _start(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._drain, name="turn-notices", daemon=True)
            self._worker.start()

    def _drain(self) -> None:
        while True:
            try:
                phone, message = self.outbox.get(timeout=5)
            except queue.Empty:
                return
            try:
                self.config.notifier.send(phone, message)
                self.sent += 1
            except NotifyError as error:
                self.failed += 1
                log.warning("reminder to %s not sent: %s", mask_phone(phone), error)
            finally:
                self.outbox.task_done()


def watch_turns(ctx: HallContext, config: NotifyConfig) -> TurnNotices:
    """Subscribe a TurnNotices to the hall's published events and return it."""
    notices = TurnNotices(ctx, config)
    ctx.subscribers.append(notices)
    return notices
