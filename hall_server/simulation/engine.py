"""Drive the real services through whole hall days on a simulated clock.

Every ticket is issued by ``issue_ticket`` and every window press is ``window_action``, on a
real database (SQLite, in memory-backed storage when the machine has it), so what the
simulation measures is what the hall would do: the same call-next policy, numbering, hall
log and report figures. Only the visitors and the staff are simulated: when visitors come,
how long a visit takes, who does not come when called, who is transferred, and when staff
open, pause and close their windows.

The visitors of a day are drawn before the day runs, from their own random streams, so two
runs with different call-next settings (``--policy``) see exactly the same visitors.
"""

from __future__ import annotations

import heapq
import math
import random
import shutil
import tempfile
import time as wallclock
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ..domain.errors import DomainError
from ..domain.numbering import parse_hhmm
from ..services.actors import Actor
from ..services.auth import add_staff_without_login
from ..services.context import HallContext, Layout, ServiceInfo
from ..services.forecast import answer_issues_without_eta
from ..services.reports import today_figures
from ..services.setup import init_database
from ..services.tickets import IssueRequest, issue_ticket
from ..services.windows import WindowCommand, window_action
from ..settings import Settings, load_settings
from .scenario import Handling, Scenario

KIOSK = Actor(kind="device", name="模拟取号机 simulated kiosk", role="kiosk")


@dataclass(slots=True)
class Visitor:
    """One visitor of the simulated day, drawn before the day runs."""

    service: str
    arrive: datetime
    priority: bool
    handle_s: float
    no_show: bool
    transfer_to: str | None  # the service a window sends them on to, if any
    handle_after_s: float  # the second visit's handling time, when transferred
    ticket_id: int | None = None
    number: str = ""
    waits_s: list[float] = field(default_factory=list)  # one per time called from a queue
    queued_at: datetime | None = None
    refused: str = ""


@dataclass(slots=True)
class WindowState:
    number: int
    actor: Actor
    services: frozenset[str]
    open: bool = False
    paused: bool = False
    closing: bool = False
    pending_pause: tuple[float, str] | None = None
    visitor: Visitor | None = None
    drain: bool = False  # closing: serve the waiting visitors of its services first


@dataclass
class DayResult:
    """One simulated day: the dashboard's figures, waits by class, and what was left."""

    day: date
    start: datetime  # the business day's local midnight
    figures: dict[str, Any]
    classes: dict[str, dict[str, Any]]
    visitors: int
    refused: int
    left_waiting: int
    service_calls: int
    visits: list[Visitor] = field(default_factory=list, repr=False)  # every visitor, in order


@dataclass
class SimulationResult:
    days: list[DayResult]
    wall_s: float
    tickets: int

    @property
    def tickets_per_s(self) -> float:
        return self.tickets / self.wall_s if self.wall_s > 0 else math.inf


def wait_summary(waits: list[float]) -> dict[str, Any]:
    """Count, mean, p90 and max of a list of waits in seconds."""
    if not waits:
        return {"visitors": 0, "wait_mean_s": None, "wait_p90_s": None, "wait_max_s": None}
    ordered = sorted(waits)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    return {
        "visitors": len(ordered),
        "wait_mean_s": round(sum(ordered) / len(ordered), 1),
        "wait_p90_s": round(p90, 1),
        "wait_max_s": round(ordered[-1], 1),
    }


def draw_handling(rng: random.Random, spec: Handling) -> float:
    """One handling time in seconds from the service's distribution."""
    if spec.dist == "fixed":
        return spec.mean_s
    if spec.dist == "lognormal":
        sigma2 = math.log(1 + spec.cv**2)
        return rng.lognormvariate(math.log(spec.mean_s) - sigma2 / 2, math.sqrt(sigma2))
    return rng.expovariate(1 / spec.mean_s)


def _open_periods(service: ServiceInfo) -> list[tuple[time, time]]:
    periods = [(parse_hhmm(a), parse_hhmm(b)) for a, b in service.hours_text]
    return periods or [(time(0, 0), time.max)]


class Day:
    """The visitors and window plan of one business day."""

    def __init__(self, scenario: Scenario, layout: Layout, day: date, seed: int) -> None:
        self.scenario, self.layout, self.day = scenario, layout, day
        self.tz = layout.tz
        self.visitors = self._draw_visitors(seed)

    def at(self, clock: time) -> datetime:
        return datetime.combine(self.day, clock, tzinfo=self.tz).astimezone(UTC)

    def handling(self, service: str) -> Handling:
        spec = self.scenario.handling.get(service)
        return spec or Handling(mean_s=self.layout.service(service).avg_handle_s or 300.0)

    def _rates(self, code: str) -> list[tuple[datetime, datetime, float]]:
        """Pieces of the day with a constant arrival rate (per second)."""
        service = self.layout.service(code)
        pieces: list[tuple[datetime, datetime, float]] = []
        if code in self.scenario.rate:
            per_s = self.scenario.rate[code] / 3600
            for opens, closes in _open_periods(service):
                pieces.append((self.at(opens), self.at(closes), per_s))
        for hour, per_h in sorted(self.scenario.arrivals.get(code, {}).items()):
            begin = self.at(time(hour, 0))
            pieces.append((begin, begin + timedelta(hours=1), per_h / 3600))
        return pieces

    def _draw_visitors(self, seed: int) -> list[Visitor]:
        visitors: list[Visitor] = []
        v = self.scenario.visitors
        codes = sorted(set(self.scenario.arrivals) | set(self.scenario.rate))
        served = {c for w in self.layout.windows.values() for c in w.weights}
        for index, code in enumerate(codes):
            self.layout.service(code)  # NotFound names a service the hall does not have
            # One stream per service and purpose: changing one never moves another.
            arrive_rng = random.Random(f"{seed}:{self.day}:{index}:arrive")
            who_rng = random.Random(f"{seed}:{self.day}:{index}:who")
            others = sorted(served - {code})
            for start, end, per_s in self._rates(code):
                if per_s <= 0:
                    continue
                t = start + timedelta(seconds=arrive_rng.expovariate(per_s))
                while t < end:
                    transfer_to = (
                        who_rng.choice(others) if others and who_rng.random() < v.transfer else None
                    )
                    visitors.append(
                        Visitor(
                            service=code,
                            arrive=t,
                            priority=who_rng.random() < v.priority,
                            handle_s=draw_handling(who_rng, self.handling(code)),
                            no_show=who_rng.random() < v.no_show,
                            transfer_to=transfer_to,
                            handle_after_s=draw_handling(
                                who_rng, self.handling(transfer_to or code)
                            ),
                        )
                    )
                    t += timedelta(seconds=arrive_rng.expovariate(per_s))
        visitors.sort(key=lambda x: (x.arrive, x.service))
        return visitors

    def window_hours(self, number: int) -> tuple[datetime, datetime]:
        """When a window opens and closes: the scenario's, or its services' hours."""
        info = self.layout.window(number)
        periods = [p for code in info.weights for p in _open_periods(self.layout.service(code))]
        opens = self.scenario.open_at or min((p[0] for p in periods), default=time(8, 30))
        closes = self.scenario.close_at or max((p[1] for p in periods), default=time(17, 30))
        return self.at(opens), self.at(closes)


class Simulation:
    """One run of a scenario through the real services of a fresh hall database."""

    def __init__(self, scenario: Scenario, ctx: HallContext, staff: dict[int, Actor],
                 guide: Actor) -> None:  # fmt: skip
        self.scenario, self.ctx, self.guide = scenario, ctx, guide
        self.now = datetime.combine(scenario.day, time(0), tzinfo=ctx.layout.tz).astimezone(UTC)
        ctx.clock = lambda: self.now
        only = set(scenario.only_windows)
        self.windows = {
            n: WindowState(n, staff[n], frozenset(info.weights))
            for n, info in ctx.layout.windows.items()
            if not only or n in only
        }
        self._queue: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self._order = 0
        self.calls = 0  # service calls made (issues and window presses)
        self._by_ticket: dict[int, Visitor] = {}

    # ------------------------------------------------------------------ the event queue

    def at(self, when: datetime, action: Callable[..., None], *args: Any) -> None:
        self._order += 1
        heapq.heappush(self._queue, (when, self._order, action, args))

    def _press(self, window: WindowState, action: str, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        return window_action(
            self.ctx, window.actor, window.number, WindowCommand(action, **kw), now=self.now
        )

    # ------------------------------------------------------------------ visitors

    def arrive(self, visitor: Visitor) -> None:
        actor = self.guide if visitor.priority else KIOSK  # staff grant the green channel
        self.calls += 1
        try:
            ticket = issue_ticket(
                self.ctx, actor, IssueRequest(visitor.service, priority=visitor.priority),
                now=self.now,
            )  # fmt: skip
        except DomainError as error:  # closed, daily cap reached …
            visitor.refused = error.code
            return
        visitor.ticket_id, visitor.number = ticket["id"], ticket["number"]
        visitor.queued_at = self.now
        self._by_ticket[ticket["id"]] = visitor
        self._wake(visitor.service)

    def _wake(self, service: str) -> None:
        """Idle windows that serve ``service`` press 叫号, in a random order, until one calls."""
        idle = [w for w in self.windows.values() if service in w.services and self._can_call(w)]
        self._rng.shuffle(idle)
        for window in idle:
            if self._call(window):
                return

    # ------------------------------------------------------------------ windows

    def _can_call(self, w: WindowState) -> bool:
        return w.open and not w.paused and not w.closing and w.visitor is None

    def _call(self, w: WindowState) -> bool:
        answer = self._press(w, "call-next")
        ticket = answer["ticket"]
        if ticket is None:
            return False
        visitor = self._by_ticket[ticket["id"]]
        assert visitor.queued_at is not None
        visitor.waits_s.append((self.now - visitor.queued_at).total_seconds())
        w.visitor = visitor
        if visitor.no_show:
            self.at(self.now + timedelta(seconds=self.scenario.visitors.no_show_after_s),
                    self.no_show, w)  # fmt: skip
        else:
            handle = visitor.handle_s if len(visitor.waits_s) == 1 else visitor.handle_after_s
            self.at(self.now + timedelta(seconds=handle), self.done, w)
        return True

    def open(self, w: WindowState) -> None:
        if w.open:  # a shift starts while the last one's visitor is still at the window
            w.closing = w.drain = False
            return
        self._press(w, "open")
        w.open = True
        self._next(w)

    def done(self, w: WindowState) -> None:
        visitor = w.visitor
        assert visitor is not None
        w.visitor = None
        if visitor.transfer_to and len(visitor.waits_s) == 1:
            self._press(w, "transfer", service=visitor.transfer_to)
            visitor.service, visitor.queued_at = visitor.transfer_to, self.now
            self._wake(visitor.service)
        else:
            self._press(w, "finish")
        self._next(w)

    def no_show(self, w: WindowState) -> None:
        w.visitor = None
        self._press(w, "no-show")
        self._next(w)

    def _next(self, w: WindowState) -> None:
        """After a visit: pause or close if asked meanwhile, else call the next."""
        if w.pending_pause is not None:
            minutes, reason = w.pending_pause
            w.pending_pause = None
            self._pause_now(w, minutes, reason)
        elif w.closing:
            if w.drain and not w.paused and self._call(w):
                return
            self._press(w, "close")
            w.open = w.closing = w.drain = False
        elif self._can_call(w):
            self._call(w)

    def pause(self, w: WindowState, minutes: float, reason: str) -> None:
        if not w.open:
            return
        if w.visitor is not None:
            w.pending_pause = (minutes, reason)  # after the visitor at the window
        else:
            self._pause_now(w, minutes, reason)

    def _pause_now(self, w: WindowState, minutes: float, reason: str) -> None:
        self._press(w, "pause", reason=reason)
        w.paused = True
        self.at(self.now + timedelta(minutes=minutes), self.resume, w)

    def resume(self, w: WindowState) -> None:
        if w.open and w.paused:
            self._press(w, "resume")
            w.paused = False
            self._next(w)

    def close(self, w: WindowState, drain: bool = False) -> None:
        if not w.open:
            return
        if w.visitor is not None or w.pending_pause is not None:
            w.closing, w.drain = True, drain  # after the visitor at the window
            return
        if drain and not w.paused and self._call(w):
            w.closing = w.drain = True
            return
        self._press(w, "close")
        w.open = w.paused = False

    # ------------------------------------------------------------------ a day

    def run_day(self, day: date, seed: int) -> DayResult:
        plan = Day(self.scenario, self.ctx.layout, day, seed)
        self._rng = random.Random(f"{seed}:{day}:windows")
        calls_before = self.calls
        for w in self.windows.values():
            shifts = self.scenario.shifts.get(w.number)
            if shifts is not None:
                for shift in shifts:
                    self.at(plan.at(shift.opens), self.open, w)
                    self.at(plan.at(shift.closes), self.close, w, shift.drain)
                continue
            opens, closes = plan.window_hours(w.number)
            self.at(opens, self.open, w)
            self.at(closes, self.close, w)
        for p in self.scenario.pauses:
            if p.window in self.windows:
                self.at(plan.at(p.at), self.pause, self.windows[p.window], p.minutes, p.reason)
        for visitor in plan.visitors:
            self.at(visitor.arrive, self.arrive, visitor)
        while self._queue:
            when, _, action, args = heapq.heappop(self._queue)
            self.now = max(self.now, when)
            action(*args)
        return self._result(plan, calls_before)

    def _result(self, plan: Day, calls_before: int) -> DayResult:
        classes: dict[str, list[float]] = {"normal": [], "priority": [], "transferred": []}
        left = refused = 0
        for v in plan.visitors:
            if v.refused:
                refused += 1
                continue
            if not v.waits_s:
                left += 1
                continue
            classes["priority" if v.priority else "normal"].append(v.waits_s[0])
            if len(v.waits_s) > 1:
                classes["transferred"].append(v.waits_s[1])
        return DayResult(
            day=plan.day,
            start=plan.at(time(0)),
            figures=today_figures(self.ctx, plan.at(time(23, 59, 59))),
            classes={name: wait_summary(waits) for name, waits in classes.items()},
            visitors=len(plan.visitors),
            refused=refused,
            left_waiting=left,
            service_calls=self.calls - calls_before,
            visits=plan.visitors,
        )


@contextmanager
def _workdir() -> Iterator[Path]:
    """A scratch folder, in memory-backed storage when there is some (commits cost no disk)."""
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="hall-sim-", dir=shm if shm.is_dir() else None))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def simulation_settings(scenario: Scenario, folder: Path) -> Settings:
    """The hall's site file with the scenario's policy, on a scratch SQLite database."""
    overrides: dict[str, Any] = {
        "config_path": str(scenario.hall),
        "server": {"database_url": f"sqlite:///{folder / 'hall.db'}", "var_dir": str(folder),
                   "secret_key": "simulation", "async_mode": "threading",
                   "sqlite_synchronous": "normal"},
    }  # fmt: skip
    if scenario.policy:
        overrides["hall"] = {"policy": scenario.policy}
    return load_settings(overrides, environ={})


@contextmanager
def simulated_hall(scenario: Scenario) -> Iterator[Simulation]:
    """A fresh hall database for ``scenario`` with a member of staff per window."""
    with _workdir() as folder:
        settings = simulation_settings(scenario, folder)
        db, hall_id, _ = init_database(settings, settings.server.database_url)
        try:
            ctx = HallContext(db, settings.hall.code, secret="simulation")
            answer_issues_without_eta(ctx)  # nobody reads them (benchmarks/eta_accuracy.py does)
            first = datetime.combine(scenario.day, time(0), tzinfo=ctx.layout.tz)

            numbers = sorted(ctx.layout.windows)
            people = [(f"sim{n:03d}", f"{n}号窗口") for n in numbers] + [("sim-guide", "导办")]
            rows = add_staff_without_login(db, hall_id, people, now=first)
            actors = [Actor(kind="staff", id=r.id, name=r.name, role="staff") for r in rows]
            windows = dict(zip(numbers, actors, strict=False))
            yield Simulation(scenario, ctx, windows, guide=actors[-1])
        finally:
            db.dispose()


def simulate(
    scenario: Scenario, *, on_day: Callable[[DayResult], None] | None = None
) -> SimulationResult:
    """Run every day of ``scenario`` through a fresh hall; return the figures of each day."""
    with simulated_hall(scenario) as sim:
        started = wallclock.perf_counter()
        days: list[DayResult] = []
        for offset in range(scenario.days):
            result = sim.run_day(scenario.day + timedelta(days=offset), scenario.seed)
            days.append(result)
            if on_day is not None:
                on_day(result)
        wall = wallclock.perf_counter() - started
    tickets = sum(d.visitors - d.refused for d in days)
    return SimulationResult(days=days, wall_s=wall, tickets=tickets)
