"""The kiosk (取号机) as the server sees it: what it may offer, its printer, its print jobs.

A kiosk issues only when its printer can print (``options.printer = false`` marks a kiosk
without one): the agent reports ``agent`` and ``printer`` parts through the device status,
and a kiosk whose printer is out of paper, offline or silent points the visitor to another
kiosk before any number is taken. A print that fails after issuing leaves the ticket
valid; the failure is logged (``device.status``) and alarmed (``alarm.raised``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import DomainError, Forbidden, NotFound, NumbersExhausted, ServiceClosed
from ..domain.numbering import (
    Counter,
    business_day,
    check_open,
    ends_past_closing,
    next_number,
)
from ..models import Counter as CounterRow
from ..models import Device, IdempotentRequest, Notice, PrintJob
from .actors import Actor
from .context import HallContext
from .devices import report_status
from .hall_views import list_services
from .issuing import check_kiosk_rate
from .tickets import IssueRequest, issue_ticket

READY_HEALTH = frozenset({"ok", "warning"})  # paper low still prints
JOB_RESEND_S = 120  # a job not printed by then is failed: the visitor has walked away
# The agent reports at least once a minute; after this long silent its "online" is stale
# (e.g. the server restarted while the agent was away).
AGENT_SILENT = timedelta(seconds=150)


class PrinterUnavailable(DomainError):
    """The kiosk's printer cannot print now; nothing was issued (HTTP 409)."""

    code = "printer_unavailable"


def kiosk_row(session: Session, ctx: HallContext, actor: Actor) -> Device:
    """Load the calling kiosk's device row."""
    if actor.kind != "device" or actor.role != "kiosk" or actor.id is None:
        raise Forbidden("只有取号机可以这样做 (only a kiosk may do this).")
    device = session.get(Device, actor.id)
    if device is None or device.hall_id != ctx.hall_id:
        raise NotFound("没有此取号机 (no such kiosk).")
    return device


def has_printer(device: Device) -> bool:
    return (device.options or {}).get("printer") is not False


def printer_state(device: Device, now: datetime) -> dict[str, Any]:
    """Tell whether the kiosk can print now, and why not in a sentence."""
    if not has_printer(device):
        return {"ready": True, "has_printer": False, "health": "ok", "message": ""}
    status = device.status or {}
    agent, printer = status.get("agent") or {}, status.get("printer") or {}
    heard = device.last_seen_at is not None and now - device.last_seen_at < AGENT_SILENT
    if not agent.get("online") or not heard:
        return {
            "ready": False,
            "has_printer": True,
            "health": "unknown",
            "message": "本机打印服务未连接 / the kiosk's printer service is not connected",
        }
    health = printer.get("health", "unknown")
    message = printer.get("message") or "打印机状态未知 / printer status unknown"
    return {
        "ready": health in READY_HEALTH,
        "has_printer": True,
        "health": health,
        "message": message,
        "paper": (printer.get("detail") or {}).get("paper"),
    }


def _place(device: Device) -> str:
    """Where a visitor finds the kiosk: its label from the config ("1楼东侧自助机"), else
    its floor and zone ("1楼 大厅入口"), never only its device id."""
    if device.label:
        return device.label
    parts = [f"{device.floor}楼" if device.floor is not None else "", device.zone]
    return " ".join(p for p in parts if p)


def other_kiosks(
    session: Session, ctx: HallContext, exclude_id: int, now: datetime
) -> list[dict[str, Any]]:
    """The hall's other kiosks that can print now, with where they stand."""
    rows = session.scalars(
        select(Device)
        .where(Device.hall_id == ctx.hall_id, Device.kind == "kiosk", ~Device.revoked)
        .order_by(Device.floor, Device.name)
    )
    return [
        {"name": d.name, "zone": d.zone, "floor": d.floor, "place": _place(d)}
        for d in rows
        if d.id != exclude_id and printer_state(d, now)["ready"]
    ]


def _split(message: str) -> tuple[str, str]:
    """Split a device sentence "中文 / English" into its two languages."""
    zh, _, en = message.partition(" / ")
    return zh.strip().rstrip("。."), en.strip().rstrip(".")


def unavailable_message(state: dict[str, Any], others: list[dict[str, Any]]) -> str:
    """The sentence a visitor reads when this kiosk cannot print: Chinese (English)."""
    zh, en = _split(state["message"])
    names = [o["place"] or o["name"] for o in others]  # a visitor knows places, not device ids
    where = "、".join(names)
    go = f"请到其他取号机取号：{where}" if where else "请到咨询台取号"
    go_en = (
        f"please use another kiosk: {', '.join(names)}" if names else "please ask at the help desk"
    )
    return f"本机暂停取号：{zh}。{go} (This kiosk cannot print now: {en or zh}; {go_en})."


def kiosk_services(ctx: HallContext, now: datetime) -> list[dict[str, Any]]:
    """Every service with waiting, ETA and whether a number can be taken now (and why not)."""
    services = list_services(ctx, now)
    layout = ctx.layout
    day = business_day(now, layout.tz)
    with ctx.db.read() as session:
        counters = {
            service_id: Counter(last, issued or 0)
            for service_id, last, issued in session.execute(
                select(CounterRow.service_id, CounterRow.last_number, CounterRow.issued).where(
                    CounterRow.hall_id == ctx.hall_id, CounterRow.business_day == day
                )
            )
        }
    for view in services:
        info = layout.services[view["code"]]
        counter = counters.get(info.id, Counter())
        reason = ""
        try:
            check_open(info.name, info.hours, now, layout.tz)
            next_number(info.rule, counter)
        except (ServiceClosed, NumbersExhausted) as refused:
            reason = refused.message
        issued = counter.issued
        view.update(
            available=not reason,
            reason=reason,
            daily_cap=info.rule.daily_cap,
            left=None if info.rule.daily_cap is None else max(info.rule.daily_cap - issued, 0),
        )
    return services


def kiosk_printer(ctx: HallContext, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """This kiosk's printer state; when not ready, the sentence and the kiosks to go to."""
    now = now or ctx.clock()
    with ctx.db.read() as session:
        device = kiosk_row(session, ctx, actor)
        printer = printer_state(device, now)
        if not printer["ready"]:
            printer["other_kiosks"] = other_kiosks(session, ctx, device.id, now)
            printer["sentence"] = unavailable_message(printer, printer["other_kiosks"])
    return printer


def kiosk_state(ctx: HallContext, actor: Actor, *, now: datetime | None = None) -> dict[str, Any]:
    """What the kiosk page shows: the hall, its services, notices and this kiosk's printer."""
    now = now or ctx.clock()
    printer = kiosk_printer(ctx, actor, now)
    with ctx.db.read() as session:
        device = kiosk_row(session, ctx, actor)
        notices = list(
            session.scalars(
                select(Notice.text)
                .where(Notice.hall_id == ctx.hall_id, Notice.active)
                .order_by(Notice.sort_order)
            )
        )
        kiosk = {"name": device.name, "zone": device.zone, "floor": device.floor}
    layout = ctx.layout
    return {
        "hall": {
            "code": layout.code,
            "name": layout.name,
            "name_en": layout.name_en,
            "timezone": layout.tz.key,
        },
        "kiosk": kiosk,
        "at": now.isoformat(),
        "services": kiosk_services(ctx, now),
        "notices": notices,
        "printer": printer,
    }


def answered_before(ctx: HallContext, actor: Actor, key: str | None) -> bool:
    """Tell whether a POST /tickets with this idempotency key was already answered."""
    if not key:
        return False
    scope = f"{actor.kind}:{actor.id}:POST /tickets"
    with ctx.db.read() as session:
        return session.get(IdempotentRequest, (ctx.hall_id, scope, key)) is not None


def issue_at_kiosk(
    ctx: HallContext,
    actor: Actor,
    request: IssueRequest,
    *,
    qr_base: str,
    rate_per_min: int,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Issue a ticket at a kiosk whose printer is ready and queue its print job.

    Returns the ticket (as POST /tickets answers) with ``qr_url`` and ``print`` (the job;
    None for a kiosk without printer). A retry with the same key returns the same ticket
    and job, and prints nothing again.
    """
    retry = answered_before(ctx, actor, idempotency_key)
    if not retry:
        check_kiosk_rate(ctx, actor, rate_per_min, now=now)
        printer = kiosk_printer(ctx, actor, now)
        if not printer["ready"]:
            raise PrinterUnavailable(printer["sentence"])
    ticket = issue_ticket(ctx, actor, request, idempotency_key=idempotency_key, now=now)
    ticket["qr_url"] = f"{qr_base.rstrip('/')}/t/{ticket['token']}"
    with ctx.db.write() as session:
        device = kiosk_row(session, ctx, actor)
        job = session.scalar(select(PrintJob).where(PrintJob.ticket_id == ticket["id"]))
        if job is None and has_printer(device) and not retry:
            job = PrintJob(
                hall_id=ctx.hall_id,
                device_id=device.id,
                ticket_id=ticket["id"],
                state="pending",
                payload=print_payload(ctx, ticket, session),
                created_at=now or ctx.clock(),
            )
            session.add(job)
            session.flush()
        ticket["print"] = job_view(job) if job is not None else None
    # Send the job now only the first time: a retry's job went out (or waits for the agent).
    ticket["dispatch"] = job is not None and not retry and job.state == "pending"
    return ticket


def print_payload(ctx: HallContext, ticket: dict[str, Any], session: Session) -> dict[str, Any]:
    """What the agent needs to lay out the paper ticket (devices.printer.TicketPrint)."""
    layout = ctx.layout
    service = layout.services[ticket["service"]]
    issued = datetime.fromisoformat(ticket["issued_at"]).astimezone(layout.tz)
    notices = tuple(
        session.scalars(
            select(Notice.text)
            .where(Notice.hall_id == ctx.hall_id, Notice.active)
            .order_by(Notice.sort_order)
        )
    )
    eta = ticket.get("eta_s")
    priority_kind = ticket.get("priority_kind") or ""
    return {
        "hall_name": layout.name,
        "service_name": service.name,
        "service_name_en": service.name_en,
        "number": ticket["number"],
        "people_ahead": ticket["people_ahead"],
        "eta_min": None if eta is None else max(1, round(eta / 60)),
        "eta_past_closing": eta is not None and ends_past_closing(service.hours, issued, eta),
        "issued_at": issued.isoformat(),
        "zone": service.zone,
        "floor": str(service.floor),
        "qr_url": ticket["qr_url"],
        "notices": list(notices),
        "priority_label": "" if priority_kind in ("", "预约") else f"绿色通道·{priority_kind}",
        "appointment_label": "预约 Appointment" if priority_kind == "预约" else "",
    }


def job_view(job: PrintJob) -> dict[str, Any]:
    """A print job as the agent and the kiosk page see it."""
    return {
        "job_id": job.id,
        "ticket_id": job.ticket_id,
        "number": job.payload.get("number"),
        "state": job.state,
        "error": job.error,
        "ticket": job.payload,
    }


def raise_alarm(
    ctx: HallContext,
    actor: Actor,
    *,
    part: str,
    message: str,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Put one part of this kiosk in fault (``device.status``) and let the alarms follow.

    The dashboard's alarm check turns a device part in fault into a red ``device_fault``
    alarm and clears it when the part is healthy again; it runs here at once so the alarm
    is raised before the kiosk is answered.
    """
    status = {"health": "fault", "online": None, "detail": detail or {}, "message": message}
    report_status(ctx, actor, part=part, status=status, now=now)
    _check_alarms(ctx, now)


def clear_alarm(
    ctx: HallContext, actor: Actor, *, part: str, message: str, now: datetime | None = None
) -> None:
    """Report a part that was in fault healthy again (its alarm clears)."""
    with ctx.db.read() as session:
        device = kiosk_row(session, ctx, actor)
        faulty = ((device.status or {}).get(part) or {}).get("health") == "fault"
    if faulty:
        report_status(ctx, actor, part=part, status={"health": "ok", "online": True,
                                                     "message": message}, now=now)  # fmt: skip
        _check_alarms(ctx, now)


def _check_alarms(ctx: HallContext, now: datetime | None) -> None:
    try:
        from .alarms import check_alarms
    except ImportError:  # a server without the alarm watcher: the device.status event stays
        return
    check_alarms(ctx, now)


def record_print_result(
    ctx: HallContext,
    actor: Actor,
    job_id: int,
    *,
    ok: bool,
    error: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Take the agent's answer to a job; a failure is logged and alarmed, the ticket stays."""
    with ctx.db.write() as session:
        job = session.get(PrintJob, job_id)
        if job is None or job.hall_id != ctx.hall_id or job.device_id != actor.id:
            raise NotFound(f"没有此打印任务 (no print job {job_id} for this kiosk).")
        if job.state != "pending":
            return job_view(job)  # answered already (a resent job printed twice is ignored)
        job.done_at = now or ctx.clock()
        job.state = "printed" if ok else "failed"
        job.error = "" if ok else (error or "打印失败 / print failed")[:300]
        view = job_view(job)
    if ok:
        clear_alarm(ctx, actor, part="print", message=f"{view['number']} 已打印 / printed", now=now)
    else:
        _print_failed(ctx, actor, view, now)
    return view


def _print_failed(
    ctx: HallContext, actor: Actor, job: dict[str, Any], now: datetime | None
) -> None:
    message = (
        f"{actor.name} 打印 {job['number']} 失败：{job['error']}（号票有效，已显示在取号机屏幕上）"
    )
    detail = {"job_id": job["job_id"], "ticket_id": job["ticket_id"], "number": job["number"]}
    raise_alarm(ctx, actor, part="print", message=message, detail=detail, now=now)


def jobs_to_resend(
    ctx: HallContext, actor: Actor, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Pending jobs a reconnecting agent should still print; older ones are failed."""
    now = now or ctx.clock()
    cutoff = now - timedelta(seconds=JOB_RESEND_S)
    with ctx.db.read() as session:
        pending = session.scalars(
            select(PrintJob)
            .where(
                PrintJob.hall_id == ctx.hall_id,
                PrintJob.device_id == actor.id,
                PrintJob.state == "pending",
            )
            .order_by(PrintJob.id)
        ).all()
        fresh = [job_view(j) for j in pending if j.created_at > cutoff]
        stale = [j.id for j in pending if j.created_at <= cutoff]
    for job_id in stale:
        record_print_result(
            ctx, actor, job_id, ok=False,
            error="打印服务离线，未能及时打印 / the printer agent was away", now=now,
        )  # fmt: skip
    return fresh


def agent_presence(
    ctx: HallContext, actor: Actor, *, online: bool, now: datetime | None = None
) -> None:
    """Record that the kiosk's printer agent connected or went away (``agent`` part)."""
    status = (
        {"health": "ok", "online": True, "message": "打印服务已连接 / printer agent connected"}
        if online
        else {
            "health": "fault",
            "online": False,
            "message": "打印服务已断开 / printer agent disconnected",
        }
    )
    report_status(ctx, actor, part="agent", status=status, now=now)
