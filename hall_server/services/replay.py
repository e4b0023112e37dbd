"""Exact replay (重放): read a recorded day of the hall log, rebuild its hall in a fresh database.

The replay itself (``hall_server/simulation/replay.py``) drives the services command by
command; this module is what it needs of the database: the day's events and the recorded
rows they do not carry (a ticket's 预约 code and green-channel kind, a rating's comment),
a fresh database holding the hall as it stood when the day began — the same services,
windows, staff and devices under the same ids, the windows, device parts, open alarms and
tickets left over from earlier days as the log says they were at the day's first event —
and the ids the services hand out (tickets, alarms) lined up with the recorded ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from ..db import Database
from ..domain.errors import InvalidInput, NotFound
from ..migrate import upgrade
from ..models import (
    Alarm,
    Appointment,
    Device,
    Evaluation,
    Hall,
    LogEvent,
    Notice,
    Service,
    Staff,
    Ticket,
    Window,
    WindowSkill,
)
from .auth import NO_LOGIN, _lock
from .context import HallContext

# config.changed sections that change what the services do with a command: the replay builds
# the hall from today's layout, so a day at or before such a change cannot be rebuilt (but
# for the hall's settings, whose changes log their old values: _settings_at_day).
LAYOUT_SECTIONS = frozenset({"services", "windows", "settings", "layout"})
_HALL_SETTINGS = frozenset({"name", "name_en", "policy", "voice", "alarms", "issuing"})
_OPEN_STATES = ("waiting", "called", "serving", "held", "no_show")
RECENT = timedelta(hours=2)  # earlier tickets copied as they are: longer than any alarm looks back


class ReplayRefused(InvalidInput):
    """The day cannot be replayed (no events, or its layout is not the one in the database)."""

    code = "replay_refused"


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One row of the hall log, as the replay compares it."""

    seq: int
    at: datetime
    type: str
    actor_kind: str
    actor_id: int | None
    actor_name: str
    ticket_id: int | None
    window_no: int | None
    payload: dict[str, Any]

    def fields(self) -> dict[str, str]:
        """Every column as the exact text compared (payload: canonical JSON)."""
        return {
            "seq": str(self.seq),
            "at": self.at.isoformat(),
            "type": self.type,
            "actor_kind": self.actor_kind,
            "actor_id": str(self.actor_id),
            "actor_name": self.actor_name,
            "ticket_id": str(self.ticket_id),
            "window_no": str(self.window_no),
            "payload": canonical_json(self.payload),
        }


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces and the characters as they are."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


_LOG_COLUMNS = (LogEvent.seq, LogEvent.at, LogEvent.type, LogEvent.actor_kind,
                LogEvent.actor_id, LogEvent.actor_name, LogEvent.ticket_id, LogEvent.window_no,
                LogEvent.payload)  # fmt: skip


def read_events(
    db: Database, hall_id: int, *, after: int, upto: int | None = None
) -> list[LoggedEvent]:
    """The hall's events with ``after < seq <= upto``, in seq order."""
    query = select(*_LOG_COLUMNS).where(LogEvent.hall_id == hall_id, LogEvent.seq > after)
    if upto is not None:
        query = query.where(LogEvent.seq <= upto)
    with db.read() as session:
        return [LoggedEvent(*row) for row in session.execute(query.order_by(LogEvent.seq))]


@dataclass
class RecordedDay:
    """A business day of a hall as recorded: its events and the rows they refer to."""

    day: date
    hall_id: int
    start: datetime  # the day's local midnight
    events: list[LoggedEvent]
    issued: dict[int, dict[str, Any]] = field(default_factory=dict)  # ticket id -> row facts
    comments: dict[int, str] = field(default_factory=dict)  # ticket id -> rating comment
    roles: dict[tuple[str, int], str] = field(default_factory=dict)  # (kind, id) -> role
    device_windows: dict[int, tuple[int, ...]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # hall settings changed since

    @property
    def first_seq(self) -> int:
        return self.events[0].seq


def read_recorded_day(ctx: HallContext, day: date) -> RecordedDay:
    """Read ``day``'s events of the hall and the recorded rows the replay needs."""
    tz = ctx.layout.tz
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    with ctx.db.read() as session:
        seqs = session.execute(
            select(func.min(LogEvent.seq), func.max(LogEvent.seq)).where(
                LogEvent.hall_id == ctx.hall_id, LogEvent.at >= start, LogEvent.at < end
            )
        ).one()
        if seqs[0] is None:
            raise ReplayRefused(
                f"{day} 没有大厅日志，无法重放 (the hall log has no events on {day})."
            )
        settings = _settings_at_day(session, ctx.hall_id, (seqs[0], seqs[1]), day)
    events = read_events(ctx.db, ctx.hall_id, after=seqs[0] - 1, upto=seqs[1])
    record = RecordedDay(day=day, hall_id=ctx.hall_id, start=start, events=events,
                         settings=settings)  # fmt: skip
    issued = [e.ticket_id for e in events if e.type == "ticket.issued" and e.ticket_id]
    with ctx.db.read() as session:
        for row in session.execute(
            select(Ticket.id, Ticket.number, Ticket.priority_kind, Appointment.code)
            .outerjoin(Appointment, Appointment.id == Ticket.appointment_id)
            .where(Ticket.id.in_(issued))
        ):
            record.issued[row[0]] = {"number": row[1], "priority_kind": row[2],
                                     "appointment_code": row[3]}  # fmt: skip
        rated = [e.ticket_id for e in events if e.type == "evaluation.recorded" and e.ticket_id]
        for ticket_id, comment in session.execute(
            select(Evaluation.ticket_id, Evaluation.comment).where(Evaluation.ticket_id.in_(rated))
        ):
            record.comments[ticket_id] = comment
        for staff_id, role in session.execute(
            select(Staff.id, Staff.role).where(Staff.hall_id == ctx.hall_id)
        ):
            record.roles["staff", staff_id] = role
        for device_id, kind, windows in session.execute(
            select(Device.id, Device.kind, Device.windows).where(Device.hall_id == ctx.hall_id)
        ):
            record.roles["device", device_id] = kind
            record.device_windows[device_id] = tuple(int(n) for n in windows or [])
    return record


def _settings_at_day(
    session: Session, hall_id: int, seqs: tuple[int, int], day: date
) -> dict[str, Any]:
    """The hall settings in force on the day, where an admin changed them later.

    A change of the hall's settings (names, policy, voice, alarms, issuing) logs each
    changed field's old and new value: the old value of its first change after the day is
    the day's. A change of services, windows or the whole layout on or after the day, or of
    the settings during it, refuses the replay: the database keeps only the layout now.
    """
    first, last = seqs
    rows = session.execute(
        select(LogEvent.seq, LogEvent.payload)
        .where(LogEvent.hall_id == hall_id, LogEvent.seq >= first,
               LogEvent.type == "config.changed")
        .order_by(LogEvent.seq)
    )  # fmt: skip
    undone: dict[str, Any] = {}
    for seq, payload in rows:
        section = str(payload.get("section", ""))
        if section == "settings" and seq > last:
            for name, (old, _new) in dict(payload.get("changes", {})).items():
                if name in _HALL_SETTINGS:
                    undone.setdefault(name, old)
        elif section in LAYOUT_SECTIONS:
            when = "当天" if seq <= last else "之后"
            raise ReplayRefused(
                f"{day}{when}大厅布局有改动（seq {seq}，{section}），数据库中只有改动后的布局，"
                f"无法精确重放 (the hall layout changed {'on' if seq <= last else 'after'} "
                f"{day} — seq {seq}, {section} — and the database holds only the changed "
                f"layout: the day cannot be replayed exactly)."
            )
    return undone


# ---------------------------------------------------------------- the fresh hall


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _rows(session: Session, model: type[Any], *where: Any) -> list[dict[str, Any]]:
    table = _table(model)
    return [dict(r) for r in session.execute(select(table).where(*where)).mappings()]


def _put(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(_table(model)), rows)


def _last_before(session: Session, hall_id: int, first_seq: int, *where: Any) -> list[Any]:
    """Events before the day matching ``where``, oldest first."""
    return list(
        session.execute(
            select(LogEvent.seq, LogEvent.at, LogEvent.actor_kind, LogEvent.actor_id,
                   LogEvent.ticket_id, LogEvent.window_no, LogEvent.payload, LogEvent.type)
            .where(LogEvent.hall_id == hall_id, LogEvent.seq < first_seq, *where)
            .order_by(LogEvent.seq)
        )
    )  # fmt: skip


def build_replay_hall(source: Database, record: RecordedDay, url: str) -> Database:
    """A new database at ``url`` holding the recorded hall as it stood when the day began.

    Copied with their ids: the hall (its seq just before the day's first event, its
    settings as they were that day), every service, window and skill, staff (with no
    password anyone can use) and devices (no token). Set from the log before the day: each
    window's state, holder and green-channel streak, each device part's status and whether
    the device was revoked, the notices (when the day or a later day changed them), the
    alarms open at the day's start, and the earlier days' tickets the day's events touch
    (the day's start ends them: 过期), in the state their last event left them.
    """
    upgrade(url)
    target = Database(url, sqlite_synchronous="normal")
    hall_id, first = record.hall_id, record.first_seq
    start = record.start
    touched = {e.ticket_id for e in record.events if e.ticket_id} - set(record.issued)
    with source.read() as src, target.write() as dst:
        halls = _rows(src, Hall, Hall.id == hall_id)
        _put(dst, Hall, [h | record.settings | {"last_seq": first - 1} for h in halls])
        _put(dst, Staff, [s | {"password_hash": NO_LOGIN, "locked_until": None}
                          for s in _rows(src, Staff, Staff.hall_id == hall_id)])  # fmt: skip
        _put(dst, Service, _rows(src, Service, Service.hall_id == hall_id))
        _put(dst, Window, _windows_at_start(src, hall_id, first))
        _put(dst, WindowSkill, _rows(src, WindowSkill, WindowSkill.hall_id == hall_id))
        status: dict[str, dict[str, Any]] = {}
        for e in _last_before(src, hall_id, first, LogEvent.type == "device.status"):
            part = dict(e.payload.get("status", {}))
            status.setdefault(str(e.payload.get("device")), {})[str(part.pop("part", ""))] = part
        revoked = _revoked_at_start(src, hall_id, first)
        _put(dst, Device, [d | {"token_hash": None, "status": status.get(d["name"], {}),
                                "status_at": None, "last_seen_at": None,
                                "revoked": revoked.get(d["name"], d["revoked"])}
                           for d in _rows(src, Device, Device.hall_id == hall_id)])  # fmt: skip
        _put(dst, Notice, _notices_at_start(src, hall_id, first))
        _copy_open_alarms(src, dst, hall_id, first, start)
        booked = [r["appointment_code"] for r in record.issued.values() if r["appointment_code"]]
        _put(dst, Appointment, [a | {"state": "booked", "ticket_id": None}
                                for a in _rows(src, Appointment, Appointment.hall_id == hall_id,
                                               Appointment.code.in_(booked))])  # fmt: skip
        _copy_open_tickets(src, dst, record, touched, booked)
    return target


def _windows_at_start(src: Session, hall_id: int, first: int) -> list[dict[str, Any]]:
    """The hall's windows as the log left them before ``first``.

    As ``windows._window_state`` keeps them: staff who open a window hold it until it
    closes; closing resets the green-channel streak, which call-next moves (a green-channel
    call adds one, a normal call resets it; targeted, 预约 and 特呼 calls leave it).
    """
    windows = _rows(src, Window, Window.hall_id == hall_id)
    state = {w["number"]: ("closed", "", None, None) for w in windows}
    closed_at: dict[int, int] = {}
    for e in _last_before(src, hall_id, first, LogEvent.type.like("window.%")):
        by = state.get(e.window_no, ("", "", None, None))[3]
        if e.type == "window.opened" and e.actor_kind == "staff":
            by = e.actor_id
        elif e.type == "window.closed":
            by, closed_at[e.window_no] = None, e.seq
        state[e.window_no] = (e.payload.get("state", "closed"), e.payload.get("reason", ""),
                              e.at, by)  # fmt: skip
    streak: dict[int, int] = {}
    for number, (now_state, *_) in state.items():
        if now_state == "closed":
            continue
        calls = _last_before(src, hall_id, first, LogEvent.type == "ticket.called",
                             LogEvent.window_no == number,
                             LogEvent.seq > closed_at.get(number, 0))  # fmt: skip
        for e in calls:
            reason = e.payload.get("reason")
            if reason == "priority":
                streak[number] = streak.get(number, 0) + 1
            elif reason == "weighted":
                streak[number] = 0
    keys = ("state", "pause_reason", "state_since", "staff_id")
    return [w | dict(zip(keys, state[w["number"]], strict=True),
                     priority_streak=streak.get(w["number"], 0)) for w in windows]  # fmt: skip


def _revoked_at_start(src: Session, hall_id: int, first: int) -> dict[str, bool]:
    """Whether each device whose token was revoked or rotated was revoked at ``first``.

    The last such change before the day says; a device changed only later was not revoked
    (revoked devices raise no device alarms, so a later revocation must not reach back).
    """
    found: dict[str, bool] = {}
    rows = src.execute(
        select(LogEvent.seq, LogEvent.payload)
        .where(LogEvent.hall_id == hall_id, LogEvent.type == "config.changed")
        .order_by(LogEvent.seq)
    )
    for seq, payload in rows:
        if payload.get("section") != "devices" or payload.get("action") not in _TOKEN_ACTIONS:
            continue
        name = str(payload.get("key", ""))
        if seq < first:
            found[name] = payload["action"] == "revoked"
        else:
            found.setdefault(name, False)
    return found


_TOKEN_ACTIONS = ("revoked", "rotated")


def _notices_at_start(src: Session, hall_id: int, first: int) -> list[dict[str, Any]]:
    changed_later = src.scalar(
        select(func.count()).where(LogEvent.hall_id == hall_id, LogEvent.seq >= first,
                                   LogEvent.type == "notice.changed")
    )  # fmt: skip
    if not changed_later:
        return _rows(src, Notice, Notice.hall_id == hall_id)
    before = _last_before(src, hall_id, first, LogEvent.type == "notice.changed")
    lines = list(before[-1].payload.get("notices", [])) if before else []
    return [{"hall_id": hall_id, "text": text, "sort_order": i, "active": True}
            for i, text in enumerate(lines)]  # fmt: skip


def _copy_open_alarms(
    src: Session, dst: Session, hall_id: int, first: int, start: datetime
) -> None:
    rows = _rows(src, Alarm, Alarm.hall_id == hall_id, Alarm.raised_at < start)
    last: dict[int, dict[str, Any]] = {}
    for e in _last_before(
        src, hall_id, first, LogEvent.type.in_(["alarm.raised", "alarm.cleared"])
    ):
        last[int(e.payload.get("alarm_id", 0))] = {"type": e.type, **e.payload}
    still = []
    for row in rows:
        seen = last.get(row["id"])
        if seen is None or seen["type"] != "alarm.raised":
            continue  # cleared before the day (or never logged)
        acked = seen.get("acked_by") or ""
        still.append(row | {"level": seen["level"], "message": seen["message"],
                            "cleared_at": None, "acked_by": acked,
                            "acked_at": row["acked_at"] if acked else None})  # fmt: skip
    _put(dst, Alarm, still)


def _copy_open_tickets(src: Session, dst: Session, record: RecordedDay,
                       touched: set[int], booked: list[str]) -> None:  # fmt: skip
    """Earlier days' tickets the day reads: those its events touch, in their state then; and
    as they are, those still open that it never touched and the last hours' (the open-window
    alarm counts the arrivals of the last minutes)."""
    hall_id, first = record.hall_id, record.first_seq
    untouched = _rows(
        src, Ticket, Ticket.hall_id == hall_id, Ticket.business_day < record.day,
        Ticket.id.not_in(touched),
        or_(Ticket.state.in_(_OPEN_STATES), Ticket.issued_at >= record.start - RECENT),
    )  # fmt: skip
    last: dict[int, dict[str, Any]] = {}
    for e in _last_before(src, hall_id, first, LogEvent.ticket_id.in_(touched),
                          LogEvent.type.like("ticket.%")):  # fmt: skip
        last[e.ticket_id] = e.payload
    rows = []
    for row in _rows(src, Ticket, Ticket.id.in_(touched)):
        seen = last.get(row["id"])
        if seen is None or seen.get("state") not in _OPEN_STATES:
            continue
        rows.append(row | {"state": seen["state"], "window_no": seen.get("window"),
                           "call_count": seen.get("call_count", 0), "ended_at": None})  # fmt: skip
    rows += untouched
    used = {row["appointment_id"] for row in rows} - {None}
    _put(dst, Appointment, _rows(src, Appointment, Appointment.id.in_(used),
                                 Appointment.code.not_in(booked)))  # fmt: skip
    _put(dst, Ticket, rows)


# ---------------------------------------------------------------- ids and numbers


_GAP_DAY = date(2000, 1, 1)
_GAP_AT = datetime(2000, 1, 1, tzinfo=UTC)


@contextmanager
def next_ids(db: Database, hall_id: int, *, ticket: int | None = None,
             alarm: int | None = None) -> Iterator[None]:  # fmt: skip
    """Make the next ticket (alarm) row the database creates take id ``ticket`` (``alarm``).

    SQLite gives a new row the largest id plus one: a placeholder row just below the wanted
    id, removed again after the command, lines the replayed ids up with the recorded ones
    when the recorded hall's ids have gaps (other halls, refused requests on PostgreSQL).
    """
    placed: list[tuple[type[Any], int]] = []
    with db.read() as session:
        ticket = ticket if ticket is not None and _max_id(session, Ticket) < ticket - 1 else None
        alarm = alarm if alarm is not None and _max_id(session, Alarm) < alarm - 1 else None
    if ticket is None and alarm is None:  # the usual case: the ids follow on
        yield
        return
    with db.write() as session:
        if ticket is not None:
            service_id = session.scalar(select(Service.id).where(Service.hall_id == hall_id))
            session.execute(insert(_table(Ticket)).values(
                id=ticket - 1, hall_id=hall_id, service_id=service_id, business_day=_GAP_DAY,
                number=f"~{ticket - 1}", token=f"replay-gap-{ticket - 1}", state="expired",
                issued_at=_GAP_AT,
                queued_at=_GAP_AT,
            ))  # fmt: skip
            placed.append((Ticket, ticket - 1))
        if alarm is not None:
            at = _GAP_AT
            session.execute(insert(_table(Alarm)).values(
                id=alarm - 1, hall_id=hall_id, kind="replay_gap", level="yellow",
                subject="", message="", raised_at=at, cleared_at=at, acked_by="",
            ))  # fmt: skip
            placed.append((Alarm, alarm - 1))
    try:
        yield
    finally:
        if placed:
            with db.write() as session:
                for model, row_id in placed:
                    session.execute(delete(_table(model)).where(_table(model).c.id == row_id))


def max_ids(db: Database) -> dict[str, int]:
    """The largest ticket and alarm ids in the database (0 when there are none)."""
    with db.read() as session:
        return {"ticket": _max_id(session, Ticket), "alarm": _max_id(session, Alarm)}


def _max_id(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.max(_table(model).c.id))) or 0)


def day_numbers(db: Database, hall_id: int, day: date) -> dict[int, str]:
    """The ticket numbers of a business day, by ticket id."""
    with db.read() as session:
        return dict(
            session.execute(
                select(Ticket.id, Ticket.number).where(
                    Ticket.hall_id == hall_id, Ticket.business_day == day
                )
            ).all()
        )


def lock_login_again(ctx: HallContext, login: str, until: str, failures: int, address: str) -> None:
    """Lock ``login`` as a recorded ``login.locked`` did, until the recorded time (重放).

    The wrong passwords that filled the count are not in the log, only the lock they caused.
    """
    with ctx.db.read() as session:
        staff_id = session.scalar(
            select(Staff.id).where(Staff.hall_id == ctx.hall_id, Staff.login == login)
        )
    if staff_id is None:
        raise NotFound(f"没有此账号 {login} (no login {login}).")
    seconds = (datetime.fromisoformat(until) - ctx.clock()).total_seconds()
    _lock(ctx, staff_id, seconds, address, failures=failures)  # type: ignore[arg-type]
