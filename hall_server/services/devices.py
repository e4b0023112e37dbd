"""The hall's devices: the one lookup by name, and their health reports (printer paper, LED
signs …; a change is a hall event)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import events as ev
from ..domain.errors import Forbidden, InvalidInput
from ..models import Device
from .actors import Actor
from .context import HallContext
from .hall_log import hall_write

HEALTH = frozenset({"ok", "warning", "fault", "unknown"})
PRINTS = frozenset({"ok", "warning"})  # a printer in these prints (paper low still prints)
PRINT_JOBS = "print"  # the part a failed print job puts in fault (services/kiosk.py)


@dataclass(frozen=True)
class DeviceInfo:
    """One device as pages and sockets need it (never its token)."""

    id: int
    name: str
    kind: str
    layout: str
    zone: str
    floor: int | None
    windows: tuple[int, ...]
    options: dict[str, Any]
    revoked: bool


def device_row(session: Session, hall_id: int, name: str) -> Device | None:
    """The hall's device of this name, as a row of ``session``, or None."""
    return session.scalar(select(Device).where(Device.hall_id == hall_id, Device.name == name))


def find_device(ctx: HallContext, name: str) -> DeviceInfo | None:
    """Look up the hall's device of this name (revoked ones too: the caller decides)."""
    with ctx.db.read() as session:
        row = device_row(session, ctx.hall_id, name)
        if row is None:
            return None
        return DeviceInfo(
            id=row.id,
            name=row.name,
            kind=row.kind,
            layout=row.layout or "all",
            zone=row.zone or "",
            floor=row.floor,
            windows=tuple(int(n) for n in row.windows or []),
            options=dict(row.options or {}),
            revoked=row.revoked,
        )


def report_status(
    ctx: HallContext,
    actor: Actor,
    *,
    part: str,
    status: dict[str, Any],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store a device part's status (e.g. part "printer"); log ``device.status`` when it changed."""
    if actor.kind != "device":
        raise Forbidden("只有设备可以上报状态 (only a device reports its status).")
    if status.get("health") not in HEALTH:
        raise InvalidInput(
            f"health 必须是 {'/'.join(sorted(HEALTH))} (got {status.get('health')!r})."
        )
    part = part.strip()[:40] or "device"
    with hall_write(ctx, actor, now) as write:
        device = write.session.get(Device, actor.id)
        assert device is not None
        device.last_seen_at = write.now
        before = dict(device.status or {})
        current = {
            "health": status["health"],
            "online": status.get("online"),
            "detail": dict(status.get("detail") or {}),
            "message": str(status.get("message", ""))[:200],
        }
        if before.get(part) == current:
            return {"device": device.name, "part": part, "changed": False}
        changes = {part: current}
        failed = before.get(PRINT_JOBS) or {}
        if part == "printer" and current["health"] in PRINTS and failed.get("health") == "fault":
            # The printer can print again: its failed print (缺纸时的打印失败) is over too, so
            # the alarm of that fault clears with the printer's own.
            changes[PRINT_JOBS] = {"health": "ok", "online": True, "detail": {},
                                   "message": "打印机已恢复 / printer ready again"}  # fmt: skip
        device.status = {**before, **changes}
        device.status_at = write.now
        for name, state in changes.items():
            write.log(
                ev.DeviceStatusChanged(
                    device=device.name, kind=device.kind, status={"part": name, **state}
                )
            )
        return {"device": device.name, "part": part, "changed": True}


def device_views(ctx: HallContext, session: Any) -> list[dict[str, Any]]:
    """Every device of the hall with its parts' last status (staff view)."""
    rows = session.scalars(select(Device).where(Device.hall_id == ctx.hall_id).order_by(Device.id))
    return [
        {
            "name": d.name,
            "kind": d.kind,
            "label": d.label,
            "zone": d.zone,
            "floor": d.floor,
            "windows": list(d.windows),
            "status": dict(d.status or {}),
            "last_seen_at": d.last_seen_at.isoformat() if d.last_seen_at else None,
            "revoked": d.revoked,
        }
        for d in rows
    ]
