"""Issuing rules (取号规则): daily limits per ID card and phone, green channel by age, kiosk rate.

The daily limits and the green channel run inside the issuing transaction (``issue_ticket``
calls ``apply_issuing_rules``), so two kiosks cannot both take the last allowed ticket of
one ID. The per-kiosk rate is checked before the transaction: it guards against a stuck
key or a script, where a ticket more or less in a race does no harm.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from devices.idcard.card import age_on, validate_id_number

from ..domain.errors import Forbidden, InvalidInput, RateLimited
from ..domain.numbering import business_day
from ..models import IdempotentRequest
from ..models import Ticket as TicketRow
from .actors import Actor
from .context import HallContext
from .personal import keyed_hash

if TYPE_CHECKING:
    from .hall_log import HallWrite

GREEN_CHANNEL_ELDERLY = "老年人"


@dataclass(frozen=True, slots=True)
class IssueRequest:
    """What a kiosk (or staff) asks for when issuing a ticket."""

    service: str
    priority: bool = False
    priority_kind: str = ""
    phone: str | None = None
    id_number: str | None = None
    appointment_code: str | None = None


def apply_issuing_rules(write: HallWrite, actor: Actor, request: IssueRequest) -> IssueRequest:
    """Refuse a ticket over the daily limits; give the green channel to elderly ID holders."""
    check_priority_grant(actor, request)
    if request.appointment_code:
        return request  # a booked slot was limited when it was booked
    issuing = write.layout.issuing
    service = write.layout.service(request.service)
    day = business_day(write.now, write.layout.tz)
    if request.id_number:
        try:
            id_number = validate_id_number(request.id_number)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        request = dataclasses.replace(request, id_number=id_number)
        limit = int(issuing.get("per_id_daily_limit", 0))
        if limit and actor.kind == "device":
            taken = _taken_today(
                write, service.id, day, id_hash=keyed_hash(write.ctx.secret, id_number)
            )
            if taken >= limit:
                raise RateLimited(
                    f"此身份证今日已取{service.name}号{taken}次，已达上限，请到咨询台 "
                    f"(this ID card has taken {taken} tickets for this service today, "
                    f"the daily limit: please ask at the help desk).",
                    code="id_daily_limit",
                )
        try:
            age = age_on(id_number, day)
        except ValueError:  # a birth date after today: not an elderly visitor
            age = 0
        elderly_age = int(issuing.get("elderly_age", 65))
        if age >= elderly_age and not request.priority:
            request = dataclasses.replace(
                request, priority=True, priority_kind=GREEN_CHANNEL_ELDERLY
            )
    phone = (request.phone or "").strip()
    limit = int(issuing.get("per_phone_daily_limit", 0))
    if phone and limit and actor.kind == "device":
        taken = _taken_today(write, service.id, day, phone_hash=keyed_hash(write.ctx.secret, phone))
        if taken >= limit:
            raise RateLimited(
                f"此手机号今日已取{service.name}号{taken}次，已达上限 "
                f"(this phone number has taken {taken} tickets for this service today, "
                f"the daily limit).",
                code="phone_daily_limit",
            )
    return request


def check_priority_grant(actor: Actor, request: IssueRequest) -> None:
    """Refuse (403) a priority flag from anyone but staff: devices get priority from the rules.

    A kiosk that could send ``priority: true`` would let a tampered kiosk (or its token
    copied out) hand out green-channel tickets; the hall's rules (ID age, appointment) and
    staff at the help desk are the only sources of priority.
    """
    if actor.kind != "staff" and (request.priority or request.priority_kind):
        raise Forbidden(
            "优先号（绿色通道）只能由工作人员发放，或按身份证年龄、预约自动给予 "
            "(priority is granted only by staff, or by the hall's rules: ID age, appointment; "
            "a device may not ask for it)."
        )


def _taken_today(
    write: HallWrite,
    service_id: int,
    day: date,
    *,
    id_hash: str | None = None,
    phone_hash: str | None = None,
) -> int:
    query = (
        select(func.count())
        .select_from(TicketRow)
        .where(
            TicketRow.hall_id == write.hall.id,
            TicketRow.business_day == day,
            TicketRow.service_id == service_id,
        )
    )
    if id_hash is not None:
        query = query.where(TicketRow.id_hash == id_hash)
    if phone_hash is not None:
        query = query.where(TicketRow.phone_hash == phone_hash)
    return write.session.scalar(query) or 0


def check_kiosk_rate(
    ctx: HallContext,
    actor: Actor,
    per_min: int,
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> None:
    """Refuse (429) a kiosk that issued ``per_min`` tickets in the last minute.

    A retry carrying the key of an answered request is let through: it gets that answer
    again and issues nothing.
    """
    if actor.kind != "device" or actor.id is None:
        return
    now = now or ctx.clock()
    with ctx.db.read() as session:
        if idempotency_key:
            scope = f"{actor.kind}:{actor.id}:POST /tickets"
            if session.get(IdempotentRequest, (ctx.hall_id, scope, idempotency_key)):
                return
        recent = (
            session.scalar(
                select(func.count())
                .select_from(TicketRow)
                .where(
                    TicketRow.hall_id == ctx.hall_id,
                    TicketRow.business_day == business_day(now, ctx.layout.tz),
                    TicketRow.kiosk_id == actor.id,
                    TicketRow.issued_at > now - timedelta(minutes=1),
                )
            )
            or 0
        )
    if recent >= per_min:
        raise RateLimited(
            "取号过于频繁，请稍候再试 (this kiosk issued too many tickets in the last minute: "
            "wait a moment).",
            code="kiosk_rate_limited",
        )
