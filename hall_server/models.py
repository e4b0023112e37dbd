"""Database rows (SQLAlchemy 2.0 typed style). Every row carries its hall id."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: times must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: Json,
        list[Any]: Json,
    }


class Hall(Base):
    __tablename__ = "halls"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    voice: Mapped[dict[str, Any]] = mapped_column(default=dict)
    alarms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    issuing: Mapped[dict[str, Any]] = mapped_column(default=dict)
    config_version: Mapped[int] = mapped_column(Integer, default=1)
    config_hash: Mapped[str] = mapped_column(String(64), default="")  # the layout in force
    site_hash: Mapped[str] = mapped_column(String(64), default="")  # the site file last loaded


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (
        UniqueConstraint("hall_id", "code"),
        UniqueConstraint("hall_id", "prefix"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(4))
    number_start: Mapped[int] = mapped_column(Integer, default=1)
    number_end: Mapped[int] = mapped_column(Integer, default=999)
    digits: Mapped[int] = mapped_column(Integer, default=3)
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    hours: Mapped[list[Any]] = mapped_column(default=list)
    weekdays: Mapped[list[Any]] = mapped_column(default=list)
    weekday_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)  # ISO day -> periods
    zone: Mapped[str] = mapped_column(String(50), default="")
    floor: Mapped[int] = mapped_column(Integer, default=1)
    avg_handle_min: Mapped[float] = mapped_column(Float, default=8.0)
    sla_wait_min: Mapped[int] = mapped_column(Integer, default=30)
    wait_yellow_min: Mapped[int | None] = mapped_column(Integer)
    wait_red_min: Mapped[int | None] = mapped_column(Integer)
    guide: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Window(Base):
    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("hall_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    zone: Mapped[str] = mapped_column(String(50), default="")
    floor: Mapped[int] = mapped_column(Integer, default=1)
    general: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="closed")
    pause_reason: Mapped[str] = mapped_column(String(100), default="")
    state_since: Mapped[datetime | None] = mapped_column()
    priority_streak: Mapped[int] = mapped_column(Integer, default=0)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WindowSkill(Base):
    __tablename__ = "window_skills"

    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    weight: Mapped[int] = mapped_column(Integer, default=1)


class Staff(Base):
    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("hall_id", "login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    login: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column()
    # Locked (锁定) after too many wrong passwords, until then or until a supervisor lifts it.
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class AuthToken(Base):
    """A staff login: only the token's SHA-256 is stored."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Device(Base):
    """A kiosk, display, agent or evaluator; its token is stored as a SHA-256."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("hall_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(50), default="")  # its place: "1楼东侧自助机"
    zone: Mapped[str] = mapped_column(String(50), default="")
    floor: Mapped[int | None] = mapped_column(Integer)
    windows: Mapped[list[Any]] = mapped_column(default=list)
    layout: Mapped[str] = mapped_column(String(16), default="all")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status_at: Mapped[datetime | None] = mapped_column()
    last_seen_at: Mapped[datetime | None] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Counter(Base):
    """The number counter of one service for one business day."""

    __tablename__ = "counters"

    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    business_day: Mapped[date] = mapped_column(Date, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    last_number: Mapped[int | None] = mapped_column(Integer)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    waiting: Mapped[int] = mapped_column(Integer, default=0)  # kept by ticket_rows.store
    served: Mapped[int] = mapped_column(Integer, default=0)  # finished tickets, same keeper


_UNTARGETED = "target_window IS NULL"


def _waiting_index(name: str, *columns: str, when: str) -> Index:
    """An index of the waiting tickets that satisfy ``when``, in queue order per key."""
    where = text(f"state = 'waiting' AND {when}")
    return Index(name, "hall_id", *columns, "queued_at", "id",
                 sqlite_where=where, postgresql_where=where)  # fmt: skip


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("hall_id", "service_id", "business_day", "number"),
        Index("ix_tickets_queue", "hall_id", "state", "service_id", "queued_at"),
        Index("ix_tickets_day", "hall_id", "business_day", "state"),
        Index("ix_tickets_window", "hall_id", "window_no", "state"),
        Index("ix_tickets_kiosk", "hall_id", "kiosk_id", "issued_at"),  # the kiosk rate check
        # Call-next's candidates, each the first entry of one of these (services/windows.py):
        # the heads of each service's green-channel and normal queue, the tickets reserved
        # for a window, the checked-in appointments. Partial: only waiting tickets are in them.
        _waiting_index("ix_tickets_heads", "service_id", "priority", when=_UNTARGETED),
        _waiting_index("ix_tickets_targeted", "target_window", when="target_window IS NOT NULL"),
        _waiting_index("ix_tickets_booked", "service_id", when="appointment_id IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    business_day: Mapped[date] = mapped_column(Date)
    number: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(String(43), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    priority_kind: Mapped[str] = mapped_column(String(32), default="")
    window_no: Mapped[int | None] = mapped_column(Integer)
    target_window: Mapped[int | None] = mapped_column(Integer)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    issued_at: Mapped[datetime] = mapped_column()
    queued_at: Mapped[datetime] = mapped_column()
    first_called_at: Mapped[datetime | None] = mapped_column()
    called_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    recalls: Mapped[int] = mapped_column(Integer, default=0)
    hold_count: Mapped[int] = mapped_column(Integer, default=0)
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    no_show_count: Mapped[int] = mapped_column(Integer, default=0)
    wait_s: Mapped[float | None] = mapped_column(Float)
    handle_s: Mapped[float] = mapped_column(Float, default=0.0)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    id_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_masked: Mapped[str] = mapped_column(String(24), default="")
    case_no: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own dict


class Appointment(Base):
    """A booked slot (预约); checked in at the kiosk for a priority ticket."""

    __tablename__ = "appointments"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    code: Mapped[str] = mapped_column(String(32))
    name_masked: Mapped[str] = mapped_column(String(50), default="")
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    id_hash: Mapped[str | None] = mapped_column(String(64))
    id_masked: Mapped[str] = mapped_column(String(24), default="")
    slot_start: Mapped[datetime] = mapped_column()
    slot_end: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default="booked")
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()


class Evaluation(Base):
    """A visitor's rating (好差评) of one visit."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    window_no: Mapped[int | None] = mapped_column(Integer)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()


class LogEvent(Base):
    """The hall log: one row per state change, ``seq`` gapless per hall."""

    __tablename__ = "hall_log"
    __table_args__ = (UniqueConstraint("hall_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column()
    type: Mapped[str] = mapped_column(String(32))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    ticket_id: Mapped[int | None] = mapped_column(Integer, index=True)
    window_no: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Alarm(Base):
    """A raised warning (预警), yellow or red, cleared when its cause ends."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(300))
    raised_at: Mapped[datetime] = mapped_column()
    cleared_at: Mapped[datetime | None] = mapped_column()
    acked_by: Mapped[str] = mapped_column(String(64), default="")
    acked_at: Mapped[datetime | None] = mapped_column()


class Notice(Base):
    """A line shown on screens and printed on tickets."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class IdempotentRequest(Base):
    """The first answer to a request sent with an Idempotency-Key."""

    __tablename__ = "idempotent_requests"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column()


class PrintJob(Base):
    """A ticket sent to a kiosk's printer; the kiosk agent acknowledges it."""

    __tablename__ = "print_jobs"
    __table_args__ = (Index("ix_print_jobs_device", "hall_id", "device_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|printed|failed
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()


class TicketContact(Base):
    """A waiting visitor's phone, sealed, kept only until they are told their turn is near."""

    __tablename__ = "ticket_contacts"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    phone_sealed: Mapped[str] = mapped_column(String(200))
    notify_ahead: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()


class DailyStat(Base):
    """One business day's figures of one group (whole hall, a service, window, staff or hour).

    Counts and sums are additive; durations are whole milliseconds so sums are exact, and the
    histograms (whole seconds -> tickets) give exact percentiles over any run of days.
    """

    __tablename__ = "daily_stats"
    __table_args__ = (UniqueConstraint("hall_id", "dim", "business_day", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    business_day: Mapped[date] = mapped_column(Date)
    dim: Mapped[str] = mapped_column(String(8))  # hall | service | window | staff | hour
    key: Mapped[str] = mapped_column(String(64))
    tickets: Mapped[int] = mapped_column(Integer, default=0)
    served: Mapped[int] = mapped_column(Integer, default=0)
    no_show: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    expired: Mapped[int] = mapped_column(Integer, default=0)
    called: Mapped[int] = mapped_column(Integer, default=0)
    within_sla: Mapped[int] = mapped_column(Integer, default=0)
    wait_sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    wait_max_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    wait_hist: Mapped[dict[str, Any]] = mapped_column(default=dict)
    handled: Mapped[int] = mapped_column(Integer, default=0)
    handle_sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    handle_max_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    handle_hist: Mapped[dict[str, Any]] = mapped_column(default=dict)
    evaluations: Mapped[int] = mapped_column(Integer, default=0)
    score_sum: Mapped[int] = mapped_column(Integer, default=0)
    bad: Mapped[int] = mapped_column(Integer, default=0)


class StatDay(Base):
    """A business day whose daily_stats are built, with the fingerprint of the rows read."""

    __tablename__ = "stat_days"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    business_day: Mapped[date] = mapped_column(Date, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column()


class WebhookSubscription(Base):
    """An outgoing webhook: chosen hall events POSTed to a URL, signed with HMAC-SHA256."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)  # log read up to here
    created_at: Mapped[datetime] = mapped_column()


class WebhookDelivery(Base):
    """One event sent (or being retried) to one webhook, with its last answer."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "seq"),
        Index("ix_webhook_deliveries_due", "hall_id", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
