"""Alarms (预警): find what is wrong in the hall now, raise and clear alarms as hall events.

An alarm stands for one cause — a service's long wait, a window's long handling, an idle
window while its services have a queue, a pause over its limit, a device fault, one 差评 —
named by ``(kind, subject)``. While the cause lasts there is one open alarm row: raised
yellow (or straight red), escalated in place to red, cleared when the cause ends. Escalation
and acknowledgement re-send ``alarm.raised`` for the same ``alarm_id`` with ``update`` saying
which; the contract's event types stay as they are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import events as ev
from ..domain.errors import NotFound
from ..domain.numbering import business_day
from ..domain.tickets import AT_WINDOW, TicketState
from ..models import Alarm, Device, Evaluation, Hall
from ..models import Service as ServiceRow
from ..models import Ticket as TicketRow
from ..models import Window as WindowRow
from .actors import SYSTEM, Actor
from .context import HallContext, Layout
from .hall_log import HallWrite, hall_write
from .staffing import open_window_causes
from .ticket_rows import iso

log = logging.getLogger(__name__)

LONG_WAIT, LONG_HANDLE, IDLE_WINDOW = "long_wait", "long_handle", "idle_window"
LONG_PAUSE, DEVICE_FAULT, BAD_RATING = "long_pause", "device_fault", "bad_rating"
OPEN_WINDOW = "open_window"
KIND_NAMES = {
    LONG_WAIT: ("等候超时", "long wait"),
    LONG_HANDLE: ("办理超时", "long handling"),
    IDLE_WINDOW: ("窗口空闲有人等候", "idle window with a queue"),
    LONG_PAUSE: ("暂停超时", "long pause"),
    DEVICE_FAULT: ("设备故障", "device fault"),
    BAD_RATING: ("差评", "bad rating"),
    OPEN_WINDOW: ("请加开窗口", "open another window"),
}
YELLOW, RED = "yellow", "red"
RANK = {YELLOW: 1, RED: 2}
# Defaults for thresholds a hall's [alarms] table may leave out.
DEFAULTS = {
    "wait_yellow_min": 20,
    "wait_red_min": 40,
    "handle_yellow_min": 20,
    "handle_red_min": 40,
    "idle_with_queue_min": 5,
    "pause_yellow_min": 15,
    "pause_red_min": 30,
}
# Events after which the hall may have a new or an ended cause.
TRIGGERS = ("ticket.", "window.", "device.status", "evaluation.recorded")


@dataclass(frozen=True, slots=True)
class Cause:
    """Something wrong in the hall now, at a level."""

    kind: str
    subject: str
    level: str
    message: str


def _threshold(layout: Layout, key: str) -> float:
    return float(layout.alarms.get(key) or DEFAULTS[key])


def _level(minutes: float, yellow: float, red: float) -> str | None:
    if minutes >= red:
        return RED
    if minutes >= yellow:
        return YELLOW
    return None


def _minutes(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else (now - since).total_seconds() / 60


def find_causes(
    session: Session, layout: Layout, hall_id: int, now: datetime
) -> dict[tuple[str, str], Cause]:
    """Read the hall and return every cause of an alarm at ``now``, by (kind, subject)."""
    causes: dict[tuple[str, str], Cause] = {}

    def add(kind: str, subject: str, level: str | None, zh: str, en: str) -> None:
        if level is not None:
            causes[(kind, subject)] = Cause(kind, subject, level, f"{zh} ({en})")

    waiting = (TicketRow.hall_id == hall_id, TicketRow.state == TicketState.WAITING.value)
    # Each service's oldest from the queue index's first entry: a GROUP BY over the waiting
    # tickets grew with the queue and, once a second, stalled the server (docs/BENCHMARKS.md).
    first_of_service = (
        select(func.min(TicketRow.queued_at))
        .where(*waiting, TicketRow.service_id == ServiceRow.id)
        .scalar_subquery()
    )
    oldest: dict[int, datetime] = {
        service_id: first
        for service_id, first in session.execute(
            select(ServiceRow.id, first_of_service).where(ServiceRow.hall_id == hall_id)
        )
        if first is not None
    }
    targeted: dict[int, datetime] = {
        target: first
        for target, first in session.execute(
            select(TicketRow.target_window, func.min(TicketRow.queued_at))
            .where(*waiting, TicketRow.target_window.is_not(None))
            .group_by(TicketRow.target_window)
        )
        if target is not None and first is not None
    }
    for service_id, first in oldest.items():
        service = layout.services_by_id.get(service_id)
        if service is None:
            continue
        yellow = service.wait_yellow_min or _threshold(layout, "wait_yellow_min")
        red = service.wait_red_min or _threshold(layout, "wait_red_min")
        waited = _minutes(now, first)
        add(
            LONG_WAIT,
            f"service:{service.code}",
            _level(waited, yellow, red),
            f"{service.name}最长等候{waited:.0f}分钟",
            f"{service.name_en or service.code}: longest wait {waited:.0f} min",
        )

    _windows(session, layout, hall_id, now, oldest, targeted, add)
    _devices(session, hall_id, add)
    _bad_ratings(session, layout, hall_id, now, add)
    open_window_causes(session, layout, hall_id, now, add, OPEN_WINDOW)
    return causes


def _windows(
    session: Session,
    layout: Layout,
    hall_id: int,
    now: datetime,
    oldest: dict[int, datetime],
    targeted: dict[int, datetime],
    add: Callable[[str, str, str | None, str, str], None],
) -> None:
    at_window = {
        t.window_no: t
        for t in session.scalars(
            select(TicketRow).where(
                TicketRow.hall_id == hall_id,
                TicketRow.state.in_([s.value for s in AT_WINDOW]),
            )
        )
    }
    day = business_day(now, layout.tz)
    # Today's rows by the day index. Grouped by ``window_no + 0``: grouped by the bare column,
    # SQLite (without ANALYZE statistics) walks every ticket of every day through the window
    # index instead; folded in Python, the day's rows stalled the server once a second.
    window = (TicketRow.window_no + 0).label("window")
    last_ended: dict[int, datetime] = {
        number: ended
        for number, ended in session.execute(
            select(window, func.max(TicketRow.ended_at))
            .where(
                TicketRow.hall_id == hall_id,
                TicketRow.business_day == day,
                TicketRow.ended_at.is_not(None),
                TicketRow.window_no.is_not(None),
            )
            .group_by(window)
        )
        if number is not None and ended is not None
    }
    for row in session.scalars(
        select(WindowRow).where(WindowRow.hall_id == hall_id, WindowRow.active)
    ):
        info = layout.windows.get(row.number)
        if info is None:
            continue
        subject, name = f"window:{row.number}", f"{row.number}号窗口"
        ticket = at_window.get(row.number)
        if ticket is not None:
            since = (
                ticket.started_at if ticket.state == TicketState.SERVING.value else ticket.called_at
            )
            handled = ticket.handle_s / 60 + _minutes(now, since)
            level = _level(
                handled,
                _threshold(layout, "handle_yellow_min"),
                _threshold(layout, "handle_red_min"),
            )
            add(
                LONG_HANDLE,
                subject,
                level,
                f"{name}办理{ticket.number}已{handled:.0f}分钟",
                f"window {row.number}: {ticket.number} for {handled:.0f} min",
            )
        if row.state == "paused":
            paused = _minutes(now, row.state_since)
            level = _level(
                paused, _threshold(layout, "pause_yellow_min"), _threshold(layout, "pause_red_min")
            )
            reason = f"（{row.pause_reason}）" if row.pause_reason else ""
            add(
                LONG_PAUSE,
                subject,
                level,
                f"{name}暂停{paused:.0f}分钟{reason}",
                f"window {row.number} paused {paused:.0f} min",
            )
        if row.state == "open" and ticket is None:
            queued = [
                oldest[layout.services[c].id]
                for c in info.weights
                if layout.services[c].id in oldest
            ]
            if row.number in targeted:
                queued.append(targeted[row.number])
            if not queued:
                continue
            moments = [min(queued), row.state_since, last_ended.get(row.number)]
            idle = _minutes(now, max(m for m in moments if m is not None))
            limit = _threshold(layout, "idle_with_queue_min")
            add(
                IDLE_WINDOW,
                subject,
                _level(idle, limit, 2 * limit),
                f"{name}空闲{idle:.0f}分钟，仍有群众等候",
                f"window {row.number} idle {idle:.0f} min while visitors wait",
            )


def _devices(
    session: Session, hall_id: int, add: Callable[[str, str, str | None, str, str], None]
) -> None:
    for device in session.scalars(
        select(Device).where(Device.hall_id == hall_id, Device.revoked.is_(False))
    ):
        for part, status in sorted((device.status or {}).items()):
            if not isinstance(status, dict):
                continue
            health = status.get("health")
            level = RED if health == "fault" or status.get("online") is False else None
            level = level or (YELLOW if health == "warning" else None)
            text = str(status.get("message") or health or "")
            # Device sentences read "中文 / English": each half in its own language.
            zh, _, en = text.partition(" / ")
            # Staff find a device by its place ("1楼东侧自助机"), when the config names one.
            name = f"{device.label} {device.name}" if device.label else device.name
            add(
                DEVICE_FAULT,
                f"device:{device.name}/{part}"[:64],
                level,
                f"设备{name}（{part}）：{zh}",
                f"device {device.name} {part}: {en or zh}",
            )


def _bad_ratings(
    session: Session,
    layout: Layout,
    hall_id: int,
    now: datetime,
    add: Callable[[str, str, str | None, str, str], None],
) -> None:
    """Today's 差评 that were never alarmed, or whose alarm is still open (not yet followed up)."""
    day = business_day(now, layout.tz)
    alarmed = {
        subject: cleared
        for subject, cleared in session.execute(
            select(Alarm.subject, Alarm.cleared_at).where(
                Alarm.hall_id == hall_id, Alarm.kind == BAD_RATING
            )
        )
    }
    rows = session.execute(
        select(Evaluation.ticket_id, Evaluation.score, Evaluation.window_no, TicketRow.number)
        .select_from(TicketRow)
        .join(Evaluation, Evaluation.ticket_id == TicketRow.id)
        # from today's tickets (the day index) to their ratings, not through every rating
        .where(TicketRow.hall_id == hall_id, TicketRow.business_day == day, Evaluation.score <= 2)
    )
    for ticket_id, score, window, number in rows:
        subject = f"ticket:{ticket_id}"
        if subject in alarmed and alarmed[subject] is not None:
            continue  # followed up already: one 差评 is one alarm, never raised again
        where = f"{window}号窗口" if window else ""
        add(
            BAD_RATING,
            subject,
            RED if score == 1 else YELLOW,
            f"{where}{number}收到差评（{score}分）",
            f"bad rating {score} for {number}",
        )


def _open_alarms(session: Session, hall_id: int) -> dict[tuple[str, str], Alarm]:
    return {
        (a.kind, a.subject): a
        for a in session.scalars(
            select(Alarm).where(Alarm.hall_id == hall_id, Alarm.cleared_at.is_(None))
        )
    }


def _needs_change(causes: dict[tuple[str, str], Cause], open_: dict[tuple[str, str], Any]) -> bool:
    if set(causes) != set(open_):
        return True
    return any(
        RANK[c.level] > RANK[open_[key].level] or _recovered(c, open_[key])
        for key, c in causes.items()
    )


def _recovered(cause: Cause, alarm: Any) -> bool:
    """A device part back to a lesser state (缺纸 → 纸将尽): its fault is over, the lesser
    state is a new alarm. A wait or a pause only grows, so theirs stay until they end."""
    return cause.kind == DEVICE_FAULT and RANK[cause.level] < RANK[alarm.level]


def check_alarms(ctx: HallContext, now: datetime | None = None) -> list[dict[str, Any]]:
    """Raise, escalate and clear alarms so they match the hall at ``now``; return the events."""
    now = now or ctx.clock()
    with ctx.db.read() as session:
        hall = session.get(Hall, ctx.hall_id)
        assert hall is not None
        layout = ctx.refresh(session, hall.config_version)
        if not _needs_change(
            find_causes(session, layout, ctx.hall_id, now), _open_alarms(session, ctx.hall_id)
        ):
            return []
    with hall_write(ctx, SYSTEM, now) as write:
        causes = find_causes(write.session, write.layout, write.hall.id, write.now)
        open_ = _open_alarms(write.session, write.hall.id)
        for key, alarm in list(open_.items()):
            if key not in causes or _recovered(causes[key], alarm):
                _clear(write, alarm, "resolved")
                del open_[key]
        for key, cause in causes.items():
            found = open_.get(key)
            if found is None:
                alarm = Alarm(
                    hall_id=write.hall.id,
                    kind=cause.kind,
                    level=cause.level,
                    subject=cause.subject,
                    message=cause.message[:300],
                    raised_at=write.now,
                    acked_by="",
                )
                write.session.add(alarm)
                write.session.flush()
                write.log(_raised(alarm, "raised"))
            elif RANK[cause.level] > RANK[found.level]:
                found.level, found.message = cause.level, cause.message[:300]
                write.log(_raised(found, "escalated"))
    return list(write.events)


def _raised(alarm: Alarm, update: str) -> ev.AlarmRaised:
    return ev.AlarmRaised(
        alarm_id=alarm.id,
        kind=alarm.kind,
        level=alarm.level,
        subject=alarm.subject,
        message=alarm.message,
        extra={
            "update": update,
            "raised_at": iso(alarm.raised_at),
            "acked_by": alarm.acked_by,
            "acked_at": iso(alarm.acked_at),
        },
    )


def acknowledge_alarm(
    ctx: HallContext, actor: Actor, alarm_id: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """Record who acknowledged an alarm; a 差评 alarm is followed up and so cleared."""
    with hall_write(ctx, actor, now) as write:
        alarm = write.session.get(Alarm, alarm_id)
        if alarm is None or alarm.hall_id != write.hall.id:
            raise NotFound(f"没有此预警 (no alarm with id {alarm_id}).")
        if not alarm.acked_by:
            alarm.acked_by, alarm.acked_at = actor.name, write.now
            write.log(_raised(alarm, "acknowledged"))
            if alarm.kind == BAD_RATING and alarm.cleared_at is None:
                _clear(write, alarm, "followed_up")
        return alarm_view(alarm)


def _clear(write: HallWrite, alarm: Alarm, reason: str) -> None:
    """Clear an open alarm now and log why ("resolved", "followed_up")."""
    alarm.cleared_at = write.now
    write.log(
        ev.AlarmCleared(
            alarm_id=alarm.id, kind=alarm.kind, subject=alarm.subject, extra={"reason": reason}
        )
    )


def alarm_view(alarm: Alarm) -> dict[str, Any]:
    """An alarm as the dashboard shows it."""
    zh, en = KIND_NAMES.get(alarm.kind, (alarm.kind, alarm.kind))
    return {
        "id": alarm.id,
        "kind": alarm.kind,
        "kind_name": zh,
        "kind_name_en": en,
        "level": alarm.level,
        "subject": alarm.subject,
        "message": alarm.message,
        "raised_at": iso(alarm.raised_at),
        "cleared_at": iso(alarm.cleared_at),
        "acked_by": alarm.acked_by,
        "acked_at": iso(alarm.acked_at),
    }


def list_alarms(
    ctx: HallContext, *, open_only: bool = True, limit: int = 200
) -> list[dict[str, Any]]:
    """The open alarms (or the latest ones, cleared too), newest first."""
    with ctx.db.read() as session:
        query = select(Alarm).where(Alarm.hall_id == ctx.hall_id)
        if open_only:
            query = query.where(Alarm.cleared_at.is_(None))
        rows = session.scalars(query.order_by(Alarm.id.desc()).limit(limit))
        return [alarm_view(a) for a in rows]


class AlarmWatch:
    """A hall subscriber that re-checks alarms after relevant events, off the writer's thread.

    Publishing happens right after a write commits, inside the request: the check itself
    (a read, perhaps a write) runs in a background task; bursts of events fold into one run,
    and runs start at most every ``min_interval_s`` — at hundreds of tickets a second a
    check per burst cost as much CPU as issuing the tickets, and a check reads the whole
    queue, so at a thousand a second each one held the server 10-30 ms. Thresholds are
    whole minutes: five seconds late is on time.
    """

    def __init__(
        self,
        ctx: HallContext,
        spawn: Callable[[Callable[[], None]], Any],
        sleep: Callable[[float], Any] = time.sleep,
        min_interval_s: float = 5.0,
    ) -> None:
        self.ctx, self.spawn, self.sleep = ctx, spawn, sleep
        self.min_interval_s = min_interval_s
        self._last_start = -min_interval_s
        self._lock = threading.Lock()
        self._running = self._again = False

    def __call__(self, events: list[dict[str, Any]]) -> None:
        if any(e["type"].startswith(TRIGGERS) for e in events):
            self.poke()

    def poke(self) -> None:
        """Ask for a check soon; never blocks."""
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        self.spawn(self._run)

    def _run(self) -> None:
        while True:
            self.sleep(max(0.0, self._last_start + self.min_interval_s - time.monotonic()))
            self._last_start = time.monotonic()
            try:
                check_alarms(self.ctx)
            except Exception:  # a failed check must not stop later ones
                log.exception("alarm check failed")
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False


def watch_alarms(
    ctx: HallContext,
    spawn: Callable[[Callable[[], None]], Any],
    sleep: Callable[[float], Any] = time.sleep,
) -> AlarmWatch:
    """Subscribe an AlarmWatch to the hall's published events and return it."""
    watch = AlarmWatch(ctx, spawn, sleep)
    ctx.subscribers.append(watch)
    return watch
