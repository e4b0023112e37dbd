"""Outgoing webhooks: chosen hall events POSTed to the hall's case system (审批系统),
signed with HMAC-SHA256, retried with backoff, every attempt kept in a delivery log.

The hall log is the outbox: each subscription remembers the last seq it has read, so an
event is never lost when the receiver or this process is down, and delivering never
touches the write path — a slow receiver delays its own deliveries, never a call.

A request carries the staff view of one event as JSON, and the headers
``X-Hall-Event``, ``X-Hall-Seq``, ``X-Hall-Delivery``, ``X-Hall-Timestamp`` and
``X-Hall-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select

from ..domain.errors import InvalidInput, NotFound
from ..domain.events import EVENT_TYPES
from ..models import LogEvent, WebhookDelivery, WebhookSubscription
from .actors import Actor
from .audit import CONFIG_CHANGED, ConfigChanged
from .background import repeat
from .context import HallContext
from .hall_log import hall_write, wire
from .ticket_rows import iso

log = logging.getLogger(__name__)

EVENTS = (*EVENT_TYPES, CONFIG_CHANGED)
BACKOFF_S = (10, 30, 60, 300, 900, 3600)  # after attempt 1, 2, …; then it has failed
MAX_ATTEMPTS = len(BACKOFF_S) + 1
TIMEOUT_S = 5.0
READ_BATCH = 500
SEND_BATCH = 50
URL = re.compile(r"^https?://[^/\s:]+(:\d+)?(/\S*)?$")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value of a request body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver checks (constant time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def backoff(attempts: int) -> timedelta | None:
    """How long to wait after ``attempts`` failed attempts; None when it is time to give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return timedelta(seconds=BACKOFF_S[attempts - 1])


# ---------------------------------------------------------------- subscriptions (admin)


def _check(url: str, events: list[str]) -> tuple[str, list[str]]:
    url = url.strip()
    if not URL.match(url):
        raise InvalidInput(
            f"url 应以 http:// 或 https:// 开头 (url must be an http(s) URL, got {url!r})."
        )
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise InvalidInput(
            f"events 须为大厅事件类型 (events must be hall event types; unknown: {unknown})."
        )
    return url, list(dict.fromkeys(events))


def subscription_view(row: WebhookSubscription, *, secret: bool = False) -> dict[str, Any]:
    view = {
        "id": row.id,
        "name": row.name,
        "url": row.url,
        "events": list(row.events),
        "active": row.active,
        "last_seq": row.last_seq,
        "created_at": iso(row.created_at),
    }
    if secret:
        view["secret"] = row.secret
    return view


def create_subscription(
    ctx: HallContext, actor: Actor, *, url: str, events: list[str], name: str = ""
) -> dict[str, Any]:
    """Subscribe a URL to events from now on; the answer shows the signing secret once."""
    url, events = _check(url, events)
    with hall_write(ctx, actor) as write:
        row = WebhookSubscription(
            hall_id=write.hall.id,
            name=name.strip()[:100],
            url=url,
            secret=secrets.token_hex(32),
            events=events,
            active=True,
            last_seq=write.hall.last_seq,
            created_at=write.now,
        )
        write.session.add(row)
        write.session.flush()
        write.log(
            ConfigChanged(
                section="webhooks",
                action="created",
                key=str(row.id),
                fields=["url", "events"],
                changes={"events": [None, events]},
            )
        )
        row.last_seq = write.seq  # from now on: not even its own creation
        return subscription_view(row, secret=True)


def update_subscription(
    ctx: HallContext,
    actor: Actor,
    subscription_id: int,
    *,
    active: bool | None = None,
    events: list[str] | None = None,
    rotate_secret: bool = False,
) -> dict[str, Any]:
    """Pause or resume a subscription, change its events, or give it a new secret."""
    with hall_write(ctx, actor) as write:
        row = write.session.get(WebhookSubscription, subscription_id)
        if row is None or row.hall_id != write.hall.id:
            raise NotFound(f"没有此订阅 (no webhook {subscription_id}).")
        changes: dict[str, Any] = {}
        if events is not None:
            _, events = _check(row.url, events)
            changes["events"] = [list(row.events), events]
            row.events = events
        if active is not None and active != row.active:
            changes["active"] = [row.active, active]
            row.active = active
            if active:  # resumed: from now on, not the backlog of the pause
                row.last_seq = write.seq
        if rotate_secret:
            row.secret = secrets.token_hex(32)
        fields = sorted(changes) + (["secret"] if rotate_secret else [])
        if fields:
            write.log(
                ConfigChanged(
                    section="webhooks",
                    action="updated",
                    key=str(row.id),
                    fields=fields,
                    changes=changes,
                )
            )
        return subscription_view(row, secret=rotate_secret)


def list_subscriptions(ctx: HallContext) -> list[dict[str, Any]]:
    with ctx.db.read() as session:
        rows = session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.hall_id == ctx.hall_id)
            .order_by(WebhookSubscription.id)
        )
        return [subscription_view(r) for r in rows]


def delivery_view(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "subscription_id": row.subscription_id,
        "seq": row.seq,
        "event_type": row.event_type,
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": iso(row.next_attempt_at) if row.state == "pending" else None,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "delivered_at": iso(row.delivered_at),
    }


def list_deliveries(
    ctx: HallContext,
    *,
    subscription_id: int | None = None,
    state: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The delivery log, newest first."""
    with ctx.db.read() as session:
        query = select(WebhookDelivery).where(WebhookDelivery.hall_id == ctx.hall_id)
        if subscription_id is not None:
            query = query.where(WebhookDelivery.subscription_id == subscription_id)
        if state:
            query = query.where(WebhookDelivery.state == state)
        rows = session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(min(limit, 1000)))
        return [delivery_view(r) for r in rows]


# ---------------------------------------------------------------- delivering


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery_id: int
    url: str
    secret: str
    event_type: str
    seq: int
    body: bytes


Post = Callable[..., Any]


class WebhookWorker:
    """Reads the hall log into deliveries and sends the due ones; ``run_once`` is one round."""

    def __init__(self, ctx: HallContext, post: Post = requests.post) -> None:
        self.ctx = ctx
        self.post = post

    def enqueue(self, now: datetime) -> int:
        """Turn new log events into deliveries for each subscription that wants them."""
        made = 0
        with self.ctx.db.read() as session:
            if not session.scalar(
                select(WebhookSubscription.id).where(
                    WebhookSubscription.hall_id == self.ctx.hall_id, WebhookSubscription.active
                )
            ):
                return 0  # nobody subscribed: no write at all
        with self.ctx.write_lock, self.ctx.db.write() as session:
            subs = session.scalars(
                select(WebhookSubscription).where(
                    WebhookSubscription.hall_id == self.ctx.hall_id, WebhookSubscription.active
                )
            ).all()
            for sub in subs:
                rows = session.scalars(
                    select(LogEvent)
                    .where(LogEvent.hall_id == self.ctx.hall_id, LogEvent.seq > sub.last_seq)
                    .order_by(LogEvent.seq)
                    .limit(READ_BATCH)
                ).all()
                wanted = set(sub.events)
                for row in rows:
                    if row.type in wanted:
                        session.add(
                            WebhookDelivery(
                                hall_id=self.ctx.hall_id,
                                subscription_id=sub.id,
                                seq=row.seq,
                                event_type=row.type,
                                payload={"hall": self.ctx.hall_code, **wire(row)},
                                state="pending",
                                attempts=0,
                                next_attempt_at=now,
                                last_error="",
                                created_at=now,
                            )
                        )
                        made += 1
                if rows:
                    sub.last_seq = rows[-1].seq
        return made

    def due(self, now: datetime) -> list[Attempt]:
        with self.ctx.db.read() as session:
            rows = session.execute(
                select(WebhookDelivery, WebhookSubscription)
                .join(
                    WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id
                )
                .where(
                    WebhookDelivery.hall_id == self.ctx.hall_id,
                    WebhookDelivery.state == "pending",
                    WebhookDelivery.next_attempt_at <= now,
                    WebhookSubscription.active,
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(SEND_BATCH)
            ).all()
            return [
                Attempt(
                    d.id,
                    s.url,
                    s.secret,
                    d.event_type,
                    d.seq,
                    json.dumps(d.payload, ensure_ascii=False, separators=(",", ":")).encode(),
                )
                for d, s in rows
            ]

    def send(self, attempt: Attempt, now: datetime) -> tuple[int | None, str]:
        """POST one delivery; return (HTTP status or None, error text)."""
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "smart-service-hall-webhooks/1",
            "X-Hall-Event": attempt.event_type,
            "X-Hall-Seq": str(attempt.seq),
            "X-Hall-Delivery": str(attempt.delivery_id),
            "X-Hall-Timestamp": timestamp,
            "X-Hall-Signature": sign(attempt.secret, timestamp, attempt.body),
        }
        try:
            response = self.post(
                attempt.url,
                data=attempt.body,
                headers=headers,
                timeout=TIMEOUT_S,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            return None, f"{type(error).__name__}: {error}"[:300]
        status = int(response.status_code)
        return status, "" if 200 <= status < 300 else f"HTTP {status}"

    def record(self, attempt: Attempt, status: int | None, error: str, now: datetime) -> None:
        with self.ctx.write_lock, self.ctx.db.write() as session:
            row = session.get(WebhookDelivery, attempt.delivery_id)
            if row is None or row.state != "pending":
                return
            row.attempts += 1
            row.last_status, row.last_error = status, error
            if not error:
                row.state, row.delivered_at = "delivered", now
                return
            wait = backoff(row.attempts)
            if wait is None:
                row.state = "failed"
            else:
                row.next_attempt_at = now + wait

    def run_once(self, now: datetime | None = None) -> int:
        """Enqueue new events and send what is due; return how many were sent."""
        now = now or self.ctx.clock()
        self.enqueue(now)
        attempts = self.due(now)
        for attempt in attempts:
            status, error = self.send(attempt, now)
            self.record(attempt, status, error, now)
        return len(attempts)


@dataclass
class WebhookLoop:
    """The background delivery loop: ``wake`` it early, ``stop`` it for good."""

    wake: threading.Event
    stop: threading.Event

    def __call__(self, events: list[dict[str, Any]]) -> None:
        """As a subscriber of the hall log: new events wake the loop."""
        self.wake.set()

    def close(self) -> None:
        self.stop.set()
        self.wake.set()


def start_webhooks(
    ctx: HallContext,
    spawn: Callable[..., Any],
    *,
    idle_s: float = 5.0,
    min_round_s: float = 0.5,
    post: Post = requests.post,
) -> WebhookLoop:
    """Deliver in a background task, woken by published events (tests; the server's wiring is
    in hall_server/bootstrap.py).

    Rounds start at most every ``min_round_s``: woken by every event, the empty rounds of a
    hall without subscribers cost a fifth of the server's CPU at hundreds of tickets a second.
    """
    runner = WebhookLoop(threading.Event(), threading.Event())
    worker = WebhookWorker(ctx, post)
    ctx.subscribers.append(runner)
    spawn(lambda: repeat(worker.run_once, idle_s, name="webhook round", wake=runner.wake,
                         min_gap_s=min_round_s, stop=runner.stop))  # fmt: skip
    return runner
