"""Appointments (预约) in bulk: import a booking system's CSV, mark no-shows after their slot."""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..domain.errors import DomainError, InvalidInput
from ..models import Appointment
from .actors import Actor
from .context import HallContext
from .visits import create_appointment

log = logging.getLogger(__name__)

COLUMNS = ("code", "service", "slot_start", "slot_end")
OPTIONAL = ("name", "phone", "id_number")
MAX_ROWS = 5000


def _when(ctx: HallContext, text: str, column: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{column} 不是有效时间 (not a time: {text!r}; use 2026-11-23 09:00 or ISO 8601)"
        ) from None
    # A booking export without an offset means the hall's own clock.
    return value if value.tzinfo else value.replace(tzinfo=ctx.layout.tz)


def import_appointments(ctx: HallContext, actor: Actor, text: str) -> dict[str, Any]:
    """Create an appointment per CSV row; rows with a problem are reported, the rest kept.

    Columns (header row, any order): code, service, slot_start, slot_end, and optionally
    name, phone, id_number. Times without an offset are in the hall's time zone.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InvalidInput(
            f"CSV 缺少列 {', '.join(missing)} (missing columns; the header must name "
            f"{', '.join(COLUMNS)} and may add {', '.join(OPTIONAL)})."
        )
    unknown = [h for h in header if h not in COLUMNS + OPTIONAL]
    if unknown:
        raise InvalidInput(f"CSV 有未知列 {', '.join(unknown)} (unknown columns).")
    created: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for line, raw in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            raise InvalidInput(f"CSV 超过 {MAX_ROWS} 行 (at most {MAX_ROWS} rows per file).")
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        try:
            created.append(
                create_appointment(
                    ctx,
                    actor,
                    service=row["service"],
                    code=row["code"],
                    slot_start=_when(ctx, row["slot_start"], "slot_start"),
                    slot_end=_when(ctx, row["slot_end"], "slot_end"),
                    name=row.get("name", ""),
                    phone=row.get("phone") or None,
                    id_number=row.get("id_number") or None,
                )
            )
        except DomainError as error:
            errors.append({"line": line, "code": row.get("code", ""), "message": error.message})
    return {"created": len(created), "appointments": created, "errors": errors}


def mark_no_shows(ctx: HallContext, *, now: datetime | None = None) -> int:
    """Mark booked appointments whose check-in window has ended as no-show; return how many.

    The window ends ``appointment_late_min`` after the slot ends: the hall's policy lets a
    late visitor check in until then, so the mark never refuses someone still allowed in.
    """
    now = now or ctx.clock()
    late = timedelta(minutes=int(ctx.layout.policy.get("appointment_late_min", 15)))
    with ctx.db.write() as session:
        rows = session.scalars(
            select(Appointment).where(
                Appointment.hall_id == ctx.hall_id,
                Appointment.state == "booked",
                Appointment.slot_end < now - late,
            )
        ).all()
        for row in rows:
            row.state = "no_show"
    if rows:
        log.info("marked %d appointments no-show", len(rows))
    return len(rows)
