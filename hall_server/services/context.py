"""The hall as the services see it: its layout cached, reloaded when the config changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..db import Database
from ..domain.errors import NotFound
from ..domain.numbering import Hours, NumberRule, parse_hhmm
from ..domain.queueing import CallPolicy
from ..models import Hall, Service, Window, WindowSkill


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """One service of the hall, as loaded from its row."""

    id: int
    code: str
    name: str
    name_en: str
    category: str
    prefix: str
    zone: str
    floor: int
    avg_handle_s: float
    sla_wait_min: int
    rule: NumberRule
    hours: Hours
    guide: dict[str, Any]
    hours_text: tuple[tuple[str, str], ...]
    wait_yellow_min: int | None
    wait_red_min: int | None

    def label(self) -> dict[str, Any]:
        """What every list of services shows of one: its names, kind, prefix and place."""
        return {"name": self.name, "name_en": self.name_en, "category": self.category,
                "prefix": self.prefix, "zone": self.zone, "floor": self.floor}  # fmt: skip


@dataclass(frozen=True, slots=True)
class WindowInfo:
    """One window's fixed facts: number, place and the weights of the services it serves."""

    id: int
    number: int
    name: str
    zone: str
    floor: int
    general: bool
    weights: dict[str, int]  # service code -> weight


@dataclass(slots=True)
class Layout:
    """A hall's services and windows at one config version."""

    version: int
    hall_id: int
    code: str
    name: str
    name_en: str
    tz: ZoneInfo
    policy: dict[str, Any]
    voice: dict[str, Any]
    alarms: dict[str, Any]
    issuing: dict[str, Any]
    call_policy: CallPolicy
    services: dict[str, ServiceInfo] = field(default_factory=dict)
    services_by_id: dict[int, ServiceInfo] = field(default_factory=dict)
    windows: dict[int, WindowInfo] = field(default_factory=dict)

    def service(self, code: str) -> ServiceInfo:
        """Find a service by code, or raise NotFound naming it."""
        try:
            return self.services[code]
        except KeyError:
            raise NotFound(f"没有此事项：{code} (no service with code {code!r}).") from None

    def window(self, number: int) -> WindowInfo:
        """Find a window by number, or raise NotFound naming it."""
        try:
            return self.windows[number]
        except KeyError:
            raise NotFound(f"没有{number}号窗口 (no window {number}).") from None

    def local(self, now: datetime) -> datetime:
        return now.astimezone(self.tz)


def _periods(pairs: list[Any]) -> tuple[tuple[time, time], ...]:
    return tuple((parse_hhmm(a), parse_hhmm(b)) for a, b in pairs)


def load_layout(session: Session, hall: Hall) -> Layout:
    """Read a hall's services, windows and skills into a Layout."""
    policy = dict(hall.policy)
    layout = Layout(
        version=hall.config_version,
        hall_id=hall.id,
        code=hall.code,
        name=hall.name,
        name_en=hall.name_en,
        tz=ZoneInfo(hall.timezone),
        policy=policy,
        voice=dict(hall.voice),
        alarms=dict(hall.alarms),
        issuing=dict(hall.issuing),
        call_policy=CallPolicy(
            priority_swap_ratio=int(policy.get("priority_swap_ratio", 3)),
            aging_min=int(policy.get("aging_min", 20)),
            appointment_early_min=int(policy.get("appointment_early_min", 30)),
        ),
    )
    rows = session.scalars(
        select(Service)
        .where(Service.hall_id == hall.id, Service.active)
        .order_by(Service.sort_order, Service.id)
    )
    for s in rows:
        info = ServiceInfo(
            id=s.id,
            code=s.code,
            name=s.name,
            name_en=s.name_en,
            category=s.category,
            prefix=s.prefix,
            zone=s.zone,
            floor=s.floor,
            avg_handle_s=s.avg_handle_min * 60,
            sla_wait_min=s.sla_wait_min,
            rule=NumberRule(s.name, s.prefix, s.number_start, s.number_end, s.digits, s.daily_cap),
            hours=Hours(
                periods=_periods(s.hours),
                weekdays=frozenset(int(d) for d in s.weekdays),
                weekday_periods={
                    int(day): _periods(periods) for day, periods in s.weekday_hours.items()
                },
            ),
            guide=dict(s.guide),
            hours_text=tuple((a, b) for a, b in s.hours),
            wait_yellow_min=s.wait_yellow_min,
            wait_red_min=s.wait_red_min,
        )
        layout.services[s.code] = info
        layout.services_by_id[s.id] = info
    skills: dict[int, dict[str, int]] = {}
    for skill in session.scalars(select(WindowSkill).where(WindowSkill.hall_id == hall.id)):
        svc = layout.services_by_id.get(skill.service_id)
        if svc is not None:
            skills.setdefault(skill.window_id, {})[svc.code] = skill.weight
    for w in session.scalars(
        select(Window).where(Window.hall_id == hall.id, Window.active).order_by(Window.number)
    ):
        weights = dict(skills.get(w.id, {}))
        if w.general:
            for code in layout.services:
                weights.setdefault(code, 1)
        layout.windows[w.number] = WindowInfo(
            w.id, w.number, w.name, w.zone, w.floor, w.general, weights
        )
    return layout


class HallContext:
    """One hall served by this process: its database, its layout cache and its write lock."""

    def __init__(
        self, db: Database, hall_code: str, *, secret: str, resync_max_events: int = 500
    ) -> None:
        self.db = db
        self.resync_max_events = resync_max_events
        self.secret = secret  # keys the hashes of phone and ID numbers
        self.hall_code = hall_code
        # One writer per hall per process: the database serialises writers anyway (the hall
        # row lock, SQLite's single writer); taking the lock here first keeps threads from
        # queueing inside the database and makes events publish in seq order.
        self.write_lock = threading.Lock()
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.subscribers: list[Callable[[list[dict[str, Any]]], None]] = []
        # token SHA-256 -> (actor, trusted until (monotonic), token expiry); see auth.authenticate
        self.token_cache: dict[str, tuple[Any, float, datetime]] = {}
        self._layout: Layout | None = None
        with db.read() as session:
            hall = session.scalar(select(Hall).where(Hall.code == hall_code))
            if hall is None:
                raise LookupError(f"hall {hall_code!r} is not in the database: run `hall init`")
            self.hall_id = hall.id
            self._layout = load_layout(session, hall)

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Hand committed events (in seq order) to every subscriber."""
        for subscriber in self.subscribers:
            subscriber(events)

    @property
    def layout(self) -> Layout:
        assert self._layout is not None
        return self._layout

    def current_layout(self) -> Layout:
        """The layout as the database has it now: one read of the hall's config version (an
        admin's change may have been made in another server process, which this one hears of
        only through the database), the layout loaded again only when it moved on. For pages
        and device settings; the hall's writes refresh it in their own transaction. While the
        database does not answer, the last layout known: a TV restarted then still gets its
        page (which says it is offline) instead of an error."""
        try:
            with self.db.read() as session:
                version = session.scalar(select(Hall.config_version).where(Hall.id == self.hall_id))
                return self.refresh(session, version or 0)
        except DBAPIError:
            if self._layout is None:
                raise
            return self._layout

    def refresh(self, session: Session, version: int) -> Layout:
        """Reload the layout when the hall's config version moved on."""
        if self._layout is None or self._layout.version != version:
            hall = session.get(Hall, self.hall_id)
            assert hall is not None
            self._layout = load_layout(session, hall)
        return self._layout
