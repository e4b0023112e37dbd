"""A staff member at a window: what the window page shows, which buttons are legal, logout.

The window page reads one ``desk`` (the window, its ticket, the buttons with the reason a
button is off, its queues, its figures today, the tickets it may take back); every
change goes through ``services/windows.window_action`` as before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.desk import DeskFacts, desk_actions
from ..domain.errors import DomainError, Forbidden, NotFound
from ..domain.numbering import business_day
from ..domain.windows import PAUSE_REASONS
from ..models import Device, Staff
from ..models import Ticket as TicketRow
from ..models import Window as WindowRow
from .actors import Actor
from .auth import logout
from .context import HallContext, Layout
from .ticket_rows import iso, ticket_view
from .windows import WindowCommand, window_action, window_view

LOGOUT_REASON = "已退出登录"
AT_WINDOW = ("called", "serving")
RETURNABLE = ("held", "no_show")


def legal_buttons(facts: DeskFacts) -> dict[str, dict[str, Any]]:
    """Tell, for every button of the window page, whether it may be pressed and why not
    (the domain's answer, ``domain/desk.py``)."""
    return {
        action: {"allowed": not why, "reason": why} for action, why in desk_actions(facts).items()
    }


def _window_row(session: Session, ctx: HallContext, number: int) -> WindowRow:
    ctx.layout.window(number)  # NotFound naming the window
    row = session.scalar(
        select(WindowRow).where(WindowRow.hall_id == ctx.hall_id, WindowRow.number == number)
    )
    if row is None:
        raise NotFound(f"没有{number}号窗口 (no window {number}).")
    return row


def _may_read(session: Session, actor: Actor, row: WindowRow) -> None:
    """Staff read their own window or a free one; supervisors any; a keypad its own."""
    if actor.is_supervisor:
        return
    if actor.kind == "device" and actor.role == "agent" and row.number in actor.windows:
        return
    if actor.is_staff:
        if row.staff_id in (None, actor.id):
            return
        holder = session.get(Staff, row.staff_id)
        name = (holder.name or holder.login) if holder else "其他人员"
        raise Forbidden(
            f"{row.number}号窗口由{name}使用中 (window {row.number} is in use by {name})."
        )
    raise Forbidden(f"无权查看{row.number}号窗口 (not allowed to read window {row.number}).")


def _avg(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _today(session: Session, ctx: HallContext, number: int, day: Any) -> dict[str, Any]:
    rows = session.execute(
        select(TicketRow.state, TicketRow.wait_s, TicketRow.handle_s).where(
            TicketRow.hall_id == ctx.hall_id,
            TicketRow.business_day == day,
            TicketRow.window_no == number,
        )
    ).all()
    done = [r for r in rows if r.state == "done"]
    return {
        "served": len(done),
        "avg_handle_s": _avg([r.handle_s for r in done]),
        "avg_wait_s": _avg([r.wait_s for r in done if r.wait_s is not None]),
        "no_shows": sum(1 for r in rows if r.state == "no_show"),
        "held": sum(1 for r in rows if r.state == "held"),
    }


def _queues(session: Session, ctx: HallContext, number: int) -> list[dict[str, Any]]:
    layout = ctx.layout
    weights = layout.windows[number].weights
    counts = dict(
        session.execute(
            select(TicketRow.service_id, func.count())
            .where(TicketRow.hall_id == ctx.hall_id, TicketRow.state == "waiting")
            .group_by(TicketRow.service_id)
        ).all()
    )
    targeted = (
        session.scalar(
            select(func.count())
            .select_from(TicketRow)
            .where(
                TicketRow.hall_id == ctx.hall_id,
                TicketRow.state == "waiting",
                TicketRow.target_window == number,
            )
        )
        or 0
    )
    queues = [
        {
            "service": code,
            "name": layout.services[code].name,
            "name_en": layout.services[code].name_en,
            "prefix": layout.services[code].prefix,
            "weight": weight,
            "waiting": counts.get(layout.services[code].id, 0),
        }
        for code, weight in sorted(weights.items(), key=lambda kv: layout.services[kv[0]].prefix)
        if code in layout.services
    ]
    mine = {"service": "", "name": "指定本窗口", "name_en": "For this window", "prefix": "",
            "weight": 0, "waiting": targeted}  # fmt: skip
    return [mine, *queues]


def _returns(
    session: Session, ctx: HallContext, number: int, day: Any, now: datetime
) -> list[dict[str, Any]]:
    layout = ctx.layout
    limit_min = int(layout.policy.get("no_show_return_limit_min", 60))
    rows = session.scalars(
        select(TicketRow)
        .where(
            TicketRow.hall_id == ctx.hall_id,
            TicketRow.business_day == day,
            TicketRow.window_no == number,
            TicketRow.state.in_(RETURNABLE),
        )
        .order_by(TicketRow.id.desc())
        .limit(50)
    )
    out = []
    # Held visitors first (they come back soon), then the missed ones, latest first.
    for row in sorted(rows, key=lambda r: (r.state != "held", -r.id)):
        since = row.ended_at if row.state == "no_show" else row.called_at
        late = (
            row.state == "no_show"
            and limit_min > 0
            and row.ended_at is not None
            and (now - row.ended_at).total_seconds() > limit_min * 60
        )
        out.append(
            {
                "id": row.id,
                "number": row.number,
                "service": layout.services_by_id[row.service_id].code,
                "service_name": layout.services_by_id[row.service_id].name,
                "status": row.state,
                "since": iso(since),
                "returnable": not late,
                "reason": f"过号已超过{limit_min}分钟，请重新取号 "
                f"(missed more than {limit_min} minutes ago)"
                if late
                else "",
            }
        )
    return out


def window_desk(
    ctx: HallContext, actor: Actor, number: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """Read everything the window page of window ``number`` shows, at one moment."""
    now = now or ctx.clock()
    with ctx.db.read() as session:
        layout: Layout = ctx.layout
        row = _window_row(session, ctx, number)
        _may_read(session, actor, row)
        day = business_day(now, layout.tz)
        staff = session.get(Staff, row.staff_id) if row.staff_id else None
        current = session.scalar(
            select(TicketRow).where(
                TicketRow.hall_id == ctx.hall_id,
                TicketRow.window_no == number,
                TicketRow.state.in_(AT_WINDOW),
            )
        )
        facts = DeskFacts(
            window_state=row.state,
            ticket_number=current.number if current else None,
            ticket_state=current.state if current else None,
            recalls=current.recalls if current else 0,
            max_recalls=int(layout.policy.get("max_recalls", 3)),
            finish_from_called=bool(layout.policy.get("finish_from_called", True)),
        )
        ticket = None
        if current is not None:
            ticket = ticket_view(current, layout) | {
                "recalls": current.recalls,
                "waited_s": current.wait_s,
            }
        return {
            "now": now.isoformat(),
            "business_day": day.isoformat(),
            "window": window_view(row, layout, (staff.name or staff.login) if staff else ""),
            "mine": actor.is_staff and row.staff_id == actor.id,
            "ticket": ticket,
            "buttons": legal_buttons(facts),
            "queues": _queues(session, ctx, number),
            "today": _today(session, ctx, number, day),
            "returns": _returns(session, ctx, number, day, now),
            "pause_reasons": list(PAUSE_REASONS),
            "services": [
                {"code": s.code, "name": s.name, "name_en": s.name_en, "prefix": s.prefix}
                for s in layout.services.values()
            ],
            "windows": [
                {"number": w.number, "name": w.name, "zone": w.zone}
                for w in layout.windows.values()
                if w.number != number
            ],
            "policy": {
                "max_recalls": facts.max_recalls,
                "finish_from_called": facts.finish_from_called,
            },
        }


def whoami(ctx: HallContext, actor: Actor) -> dict[str, Any]:
    """The logged-in staff member and the window bound to them, if any."""
    if not actor.is_staff:
        raise Forbidden("只有工作人员有登录信息 (only staff have a login).")
    with ctx.db.read() as session:
        staff = session.get(Staff, actor.id)
        assert staff is not None
        window = session.scalar(
            select(WindowRow.number).where(
                WindowRow.hall_id == ctx.hall_id, WindowRow.staff_id == actor.id
            )
        )
        return {"login": staff.login, "name": staff.name or staff.login, "role": staff.role,
                "window": window}  # fmt: skip


def staff_logout(
    ctx: HallContext, actor: Actor, token: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """End a staff session; pause or close their window as the hall's policy says.

    A window still holding a ticket cannot close: it is paused instead, so the ticket is
    not lost and the next person (or a supervisor) can finish it.
    """
    if not actor.is_staff:
        raise Forbidden("只有工作人员可以退出登录 (only staff log out).")
    with ctx.db.read() as session:
        numbers = list(
            session.scalars(
                select(WindowRow.number).where(
                    WindowRow.hall_id == ctx.hall_id, WindowRow.staff_id == actor.id
                )
            )
        )
    policy = str(ctx.layout.policy.get("logout_window", "pause"))
    windows = []
    for number in numbers:
        windows.append(_leave(ctx, actor, number, policy, now))
    logout(ctx, token)
    return {"ok": True, "policy": policy, "windows": windows}


def _leave(
    ctx: HallContext, actor: Actor, number: int, policy: str, now: datetime | None
) -> dict[str, Any]:
    steps = ["close"] if policy == "close" else []
    steps.append("pause")
    for action in steps:
        try:
            result = window_action(
                ctx, actor, number, WindowCommand(action=action, reason=LOGOUT_REASON), now=now
            )
            return {"number": number, "action": action, "state": result["window"]["state"]}
        except DomainError:
            continue  # closing refused (a ticket is at the window) or already paused
    return {"number": number, "action": "", "state": _state_of(ctx, number)}


def _state_of(ctx: HallContext, number: int) -> str:
    with ctx.db.read() as session:
        return _window_row(session, ctx, number).state


def keypad_config(ctx: HallContext, actor: Actor) -> dict[str, Any]:
    """What a keypad agent needs: its windows, the ticket prefixes they serve, its options."""
    if actor.kind != "device" or actor.role != "agent":
        raise Forbidden("只有叫号器代理可以读取 (only a keypad agent reads this).")
    layout = ctx.layout
    with ctx.db.read() as session:
        device = session.get(Device, actor.id)
        assert device is not None
        options = dict(device.options or {})
    windows = []
    for number in actor.windows:
        info = layout.windows.get(number)
        if info is None:
            continue
        codes = sorted(info.weights, key=lambda c: (-info.weights[c], layout.services[c].prefix))
        windows.append(
            {
                "number": number,
                "name": info.name,
                "prefixes": list(dict.fromkeys(layout.services[c].prefix for c in codes)),
            }
        )
    return {"name": actor.name, "windows": windows, "options": options}
