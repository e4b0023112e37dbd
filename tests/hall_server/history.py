"""A generated hall history: many days of finished ticket rows (and ratings) written straight
into the database, for report correctness tests and the reports benchmark.

Deterministic for a seed. Tickets are spread over office hours, services are weighted, and
outcomes cover every report figure: served, no-show (some served after returning), cancelled,
expired, transferred; ratings on about 40% of served visits, some of them 差评.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from hall_server.db import Database
from hall_server.models import Hall, Service, Staff, Ticket, Window, WindowSkill

BATCH = 20_000


@dataclass(frozen=True)
class HallShape:
    services: list[tuple[int, str]]  # (id, prefix)
    weights: list[float]
    windows_for: dict[int, list[int]]  # service id -> window numbers
    staff: list[int]
    tz: ZoneInfo


def _shape(db: Database, hall_id: int, staff_count: int) -> HallShape:
    with db.write() as session:
        services = [
            (s.id, s.prefix)
            for s in session.scalars(
                select(Service)
                .where(Service.hall_id == hall_id, Service.active)
                .order_by(Service.id)
            )
        ]
        windows = list(
            session.scalars(select(Window).where(Window.hall_id == hall_id, Window.active))
        )
        skills = session.execute(select(WindowSkill.window_id, WindowSkill.service_id)).all()
        by_id = {w.id: w.number for w in windows}
        windows_for: dict[int, list[int]] = {sid: [] for sid, _ in services}
        for w in windows:
            if w.general:
                for sid in windows_for:
                    windows_for[sid].append(w.number)
        for window_id, service_id in skills:
            if window_id in by_id and service_id in windows_for:
                windows_for[service_id].append(by_id[window_id])
        staff = list(session.scalars(select(Staff.id).where(Staff.hall_id == hall_id)))
        for n in range(len(staff), staff_count):
            row = Staff(
                hall_id=hall_id,
                login=f"gen{n:03d}",
                name=f"工作人员{n:03d}",
                role="staff",
                password_hash="!",
                created_at=datetime.now(UTC),
            )
            session.add(row)
            session.flush()
            staff.append(row.id)
        hall = session.get(Hall, hall_id)
        assert hall is not None
        tz = ZoneInfo(hall.timezone)
    rng = random.Random(len(services))
    weights = [rng.uniform(0.5, 3.0) for _ in services]
    return HallShape(services, weights, windows_for, staff, tz)


def generate_history(
    db: Database,
    hall_id: int,
    *,
    last_day: date,
    days: int,
    tickets_per_day: int,
    seed: int = 7,
    staff_count: int = 12,
    rated_share: float = 0.4,
) -> int:
    """Write ``days`` business days ending at ``last_day`` (weekends lighter); return tickets."""
    rng = random.Random(seed)
    shape = _shape(db, hall_id, staff_count)
    with db.read() as session:
        next_id = (session.scalar(select(func.max(Ticket.id))) or 0) + 1
    total = 0
    tickets: list[dict[str, Any]] = []
    ratings: list[dict[str, Any]] = []
    staff_of = {
        n: shape.staff[i % len(shape.staff)]
        for i, n in enumerate(sorted({n for ws in shape.windows_for.values() for n in ws}))
    }
    for offset in range(days - 1, -1, -1):
        day = last_day - timedelta(days=offset)
        count = tickets_per_day if day.isoweekday() <= 5 else tickets_per_day // 5
        count = max(1, int(count * rng.uniform(0.8, 1.2)))
        opening = datetime.combine(day, time(8, 30), shape.tz)
        numbers: dict[int, int] = {}
        for _ in range(count):
            service_id, prefix = rng.choices(shape.services, shape.weights)[0]
            numbers[service_id] = numbers.get(service_id, 0) + 1
            issued = opening + timedelta(seconds=rng.uniform(0, 9 * 3600))
            row = _ticket(
                rng,
                next_id,
                hall_id,
                day,
                service_id,
                f"{prefix}{numbers[service_id]:04d}",
                issued,
                shape,
                staff_of,
            )
            tickets.append(row)
            if row["state"] == "done" and rng.random() < rated_share:
                score = rng.choices([5, 4, 3, 2, 1], [60, 25, 8, 4, 3])[0]
                ratings.append(
                    {
                        "hall_id": hall_id,
                        "ticket_id": next_id,
                        "window_no": row["window_no"],
                        "staff_id": row["staff_id"],
                        "score": score,
                        "reasons": ["等候时间长"] if score <= 2 else [],
                        "comment": "",
                        "created_at": row["finished_at"] + timedelta(seconds=30),
                    }
                )
            next_id += 1
            total += 1
        if len(tickets) >= BATCH:
            _flush(db, tickets, ratings)
    _flush(db, tickets, ratings)
    return total


def _ticket(
    rng: random.Random,
    ticket_id: int,
    hall_id: int,
    day: date,
    service_id: int,
    number: str,
    issued: datetime,
    shape: HallShape,
    staff_of: dict[int, int],
) -> dict[str, Any]:
    issued = issued.astimezone(UTC)
    row: dict[str, Any] = {
        "id": ticket_id,
        "hall_id": hall_id,
        "service_id": service_id,
        "business_day": day,
        "number": number,
        "token": f"gen{ticket_id:030d}",
        "priority": rng.random() < 0.05,
        "priority_kind": "",
        "window_no": None,
        "target_window": None,
        "staff_id": None,
        "kiosk_id": None,
        "appointment_id": None,
        "issued_at": issued,
        "queued_at": issued,
        "first_called_at": None,
        "called_at": None,
        "started_at": None,
        "finished_at": None,
        "ended_at": None,
        "call_count": 0,
        "recalls": 0,
        "hold_count": 0,
        "transfer_count": 0,
        "no_show_count": 0,
        "wait_s": None,
        "handle_s": 0.0,
        "phone_hash": None,
        "phone_masked": "",
        "id_hash": None,
        "id_masked": "",
        "case_no": "",
        "version": 1,
    }
    fate = rng.random()
    if fate < 0.03:  # cancelled while waiting
        row.update(state="cancelled", ended_at=issued + timedelta(seconds=rng.uniform(60, 1800)))
        return row
    if fate < 0.05:  # still waiting at day end
        row.update(state="expired", ended_at=issued + timedelta(hours=10))
        return row
    wait = rng.expovariate(1 / 600) + rng.uniform(0, 60)
    window = rng.choice(shape.windows_for[service_id])
    called = issued + timedelta(seconds=wait)
    row.update(
        window_no=window,
        staff_id=staff_of[window],
        first_called_at=called,
        called_at=called,
        call_count=1 + (rng.random() < 0.2),
        wait_s=wait,
    )
    if fate < 0.10:  # 过号, never back
        row.update(
            state=rng.choice(["no_show", "expired"]),
            no_show_count=1,
            ended_at=called + timedelta(minutes=3),
        )
        return row
    if fate < 0.12:  # 过号, came back and was served
        row.update(no_show_count=1, call_count=row["call_count"] + 1)
    handle = max(20.0, rng.gauss(480, 240))
    started = called + timedelta(seconds=rng.uniform(10, 90))
    finished = started + timedelta(seconds=handle)
    row.update(
        state="done",
        started_at=started,
        finished_at=finished,
        ended_at=finished,
        handle_s=handle,
        transfer_count=int(rng.random() < 0.03),
        case_no=f"BJ{ticket_id:08d}" if rng.random() < 0.5 else "",
    )
    return row


def _flush(db: Database, tickets: list[dict[str, Any]], ratings: list[dict[str, Any]]) -> None:
    """Insert straight through the driver: SQLAlchemy's per-value conversion would take
    longer than the database for millions of rows."""
    if not tickets:
        return
    with db.write() as session:
        connection = session.connection()
        for table, rows in (("tickets", tickets), ("evaluations", ratings)):
            if not rows:
                continue
            columns = list(rows[0])
            mark = "?" if db.is_sqlite else "%s"
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join([mark] * len(columns))})"
            )
            connection.exec_driver_sql(
                sql, [tuple(_value(db, r[c]) for c in columns) for r in rows]
            )
    tickets.clear()
    ratings.clear()


def _value(db: Database, value: Any) -> Any:
    if isinstance(value, datetime):
        if db.is_sqlite:  # SQLAlchemy's SQLite DATETIME text, naive UTC (models.UTCDateTime)
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return value
    if isinstance(value, date):
        return value.isoformat() if db.is_sqlite else value
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return value
