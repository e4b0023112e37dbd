"""Use cases around a visit: the visitor's rating (好差评) and booked appointments (预约)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..domain import events as ev
from ..domain.errors import Forbidden, IllegalTransition, InvalidInput, NotFound
from ..domain.tickets import TicketState
from ..models import Appointment, Evaluation, Ticket
from .actors import Actor
from .context import HallContext
from .hall_log import HallWrite, hall_write
from .personal import PHONE, keyed_hash, mask_id, mask_phone
from .tickets import load_ticket

SCORE_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_SCORES = frozenset({1, 2})  # 差评


def record_evaluation(
    ctx: HallContext,
    actor: Actor,
    ticket_id: int | None = None,
    *,
    token: str | None = None,
    score: int,
    reasons: list[str],
    comment: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record the visitor's rating of a finished visit, once per ticket.

    The rating is the visitor's: only the visitor (by the ticket's ``token``), the evaluator
    of the window that served the visit, or a supervisor (the hall log records who) may
    record it. Staff at a window may not, so no one can take the visitor's rating first.
    """
    with hall_write(ctx, actor, now) as write:
        ticket = _ticket_by_token(write, token) if token else load_ticket(write, ticket_id or 0)
        check_rater(actor, ticket)
        if ticket.state != TicketState.DONE.value:
            raise IllegalTransition(
                f"{ticket.number} 尚未办结，不能评价 (only a finished visit can be rated)."
            )
        if score in BAD_SCORES and not [r for r in reasons if r.strip()]:
            raise InvalidInput("差评请选择原因 (a bad rating needs a reason).")
        existing = write.session.scalar(
            select(Evaluation.id).where(Evaluation.ticket_id == ticket.id)
        )
        if existing is not None:
            raise IllegalTransition(f"{ticket.number} 已评价 (this visit was already rated).")
        row = Evaluation(
            hall_id=write.hall.id,
            ticket_id=ticket.id,
            window_no=ticket.window_no,
            staff_id=ticket.staff_id,
            score=score,
            reasons=[r.strip()[:50] for r in reasons if r.strip()],
            comment=comment.strip(),
            created_at=write.now,
        )
        write.session.add(row)
        write.session.flush()
        write.log(
            ev.EvaluationRecorded(
                ticket_id=ticket.id,
                number=ticket.number,
                window=ticket.window_no,
                score=score,
                extra={"reasons": row.reasons, "bad": score in BAD_SCORES},
            ),
            ticket_id=ticket.id,
            window=ticket.window_no,
        )
        return {
            "id": row.id,
            "ticket_id": ticket.id,
            "number": ticket.number,
            "window": ticket.window_no,
            "score": score,
            "score_name": SCORE_NAMES[score],
            "reasons": row.reasons,
        }


def _ticket_by_token(write: HallWrite, token: str) -> Ticket:
    row = write.session.scalar(
        select(Ticket).where(Ticket.token == token, Ticket.hall_id == write.hall.id)
    )
    if row is None:
        raise NotFound("号票不存在或已失效 (no such ticket).")
    return row


def check_rater(actor: Actor, ticket: Ticket) -> None:
    """Refuse (403) anyone but the visitor, the serving window's evaluator or a supervisor."""
    if actor.kind == "visitor" or actor.is_supervisor:
        return  # the visitor found the ticket by its own token
    if actor.kind == "device" and actor.role == "evaluator":
        if ticket.window_no is not None and ticket.window_no in actor.windows:
            return
        raise Forbidden(
            f"此评价器不属于办理此号的窗口 (this evaluator is not at the window that served "
            f"{ticket.number})."
        )
    raise Forbidden(
        "评价只能由访客本人、办理窗口的评价器或值班主管录入 (only the visitor, the evaluator "
        "of the window that served the visit, or a supervisor may record a rating)."
    )


def create_appointment(
    ctx: HallContext,
    actor: Actor,
    *,
    service: str,
    code: str,
    slot_start: datetime,
    slot_end: datetime,
    name: str = "",
    phone: str | None = None,
    id_number: str | None = None,
) -> dict[str, Any]:
    """Book a slot (预约) that the visitor checks in for at a kiosk."""
    if slot_start.tzinfo is None or slot_end.tzinfo is None:
        raise InvalidInput("预约时间需带时区 (slot times need a UTC offset, e.g. +08:00).")
    if slot_end <= slot_start:
        raise InvalidInput("预约结束时间须晚于开始时间 (slot_end must be after slot_start).")
    with ctx.db.write() as session:
        info = ctx.layout.service(service)
        code = code.strip().upper()
        taken = session.scalar(
            select(Appointment.id).where(
                Appointment.hall_id == ctx.hall_id, Appointment.code == code
            )
        )
        if taken is not None:
            raise IllegalTransition(f"预约号 {code} 已存在 (appointment {code} exists).")
        row = Appointment(
            hall_id=ctx.hall_id,
            service_id=info.id,
            code=code,
            name_masked=(name[:1] + "*" * (len(name) - 1)) if name else "",
            slot_start=slot_start,
            slot_end=slot_end,
            state="booked",
            created_at=ctx.clock(),
        )
        if phone:
            if not PHONE.match(phone):
                raise InvalidInput("手机号格式不正确 (the phone number must be 11 digits).")
            row.phone_hash, row.phone_masked = keyed_hash(ctx.secret, phone), mask_phone(phone)
        if id_number:
            row.id_hash, row.id_masked = keyed_hash(ctx.secret, id_number), mask_id(id_number)
        session.add(row)
        session.flush()
        return {
            "id": row.id,
            "code": row.code,
            "service": info.code,
            "slot_start": slot_start.isoformat(),
            "slot_end": slot_end.isoformat(),
            "state": row.state,
            "name": row.name_masked,
            "phone": row.phone_masked,
        }
