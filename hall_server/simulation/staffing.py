"""Check a staffing plan (排班建议) by simulating it: the hall's real mix through the services.

Erlang's advice treats each group and hour on its own and in steady state. The check runs
the plan's day through the real services (``engine.py``) with the learned arrival rates
per service and hour, the learned handling (mean and spread) per service, the measured
no-show and green-channel shares, each group's windows staffed hour by hour as advised —
so the morning's queue carries into the next hour, shared windows follow their weights
and a window that leaves at a shift's end leaves its queue to the others. Where the
simulated share called within the target falls short, a window is added and the day is
simulated again.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

from ..domain.errors import InvalidInput
from ..services.admin import export_toml
from ..services.context import HallContext, Layout
from ..services.staffing import (
    Cell,
    History,
    Plan,
    erlang_plan,
    group_windows,
    groups_of,
    read_history,
    repredict,
)
from .engine import _workdir, simulated_hall
from .scenario import Handling, Scenario, Shift, Visitors


def _shifts(plan: Plan, layout: Layout) -> dict[int, tuple[Shift, ...]]:
    """Each window's staffed periods: a group's first k own windows in an hour it needs k."""
    hours_of: dict[int, set[int]] = defaultdict(set)  # window -> hours staffed
    group_hours: dict[str, set[int]] = defaultdict(set)
    groups = groups_of(layout)
    for cell in plan.cells:
        group_hours[cell.group].add(cell.hour)
        for number in group_windows(layout, groups[cell.group])[: cell.windows]:
            hours_of[number].add(cell.hour)
    group_of_window = {n: g for g, codes in groups.items() for n in group_windows(layout, codes)}
    shifts: dict[int, tuple[Shift, ...]] = {}
    for number, hours in hours_of.items():
        periods: list[Shift] = []
        ordered = sorted(hours)
        start = prev = ordered[0]
        for hour in [*ordered[1:], None]:
            if hour is not None and hour == prev + 1:
                prev = hour
                continue
            # The group's visitors stop coming after this period (lunch, the day's end): the
            # window serves those still waiting before it goes; otherwise its shift just ends.
            drain = prev + 1 not in group_hours[group_of_window[number]]
            end = time(prev + 1, 0) if prev < 23 else time.max
            periods.append(Shift(time(start, 0), end, drain))
            if hour is not None:
                start = prev = hour
        shifts[number] = tuple(periods)
    return shifts


def plan_scenario(plan: Plan, layout: Layout, history: History, hall_file: Path,
                  seed: int = 1) -> Scenario:  # fmt: skip
    """The plan's day as a scenario: learned arrivals and handling, the advised windows."""
    groups = groups_of(layout)
    arrivals: dict[str, dict[int, float]] = {}
    handling: dict[str, Handling] = {}
    for codes in groups.values():
        if not group_windows(layout, codes):
            continue  # served only by 综合窗口: not in the check
        for code in codes:
            service, weekday = layout.services[code], plan.day.isoweekday()
            hours = {h: history.rate_while_open(service, weekday, h)
                     for h in history.arrivals.get(code, {})}  # fmt: skip
            if not hours:
                continue
            arrivals[code] = hours
            mean = history.mean_handle_s(code, layout.services[code].avg_handle_s)
            cv = history.handle_cv(code)
            handling[code] = (Handling(mean, "lognormal", cv) if abs(cv - 1) > 0.1
                              else Handling(mean))  # fmt: skip
    tickets = max(1, history.tickets)
    shifts = _shifts(plan, layout)
    return Scenario(
        hall=hall_file,
        day=plan.day,
        seed=seed,
        arrivals=arrivals,
        handling=handling,
        visitors=Visitors(
            # 过号 take the window while staff wait; the visits' handling is the finished ones'
            no_show=history.no_show_share(),
            no_show_after_s=history.mean_no_show_s(),
            priority=history.priority / tickets,
        ),
        only_windows=tuple(sorted(shifts)),
        shifts=shifts,
    )


def simulate_plan(plan: Plan, layout: Layout, history: History, hall_file: Path,
                  days: int, seed: int = 1) -> None:  # fmt: skip
    """Simulate the plan's day ``days`` times; write each cell's simulated share and wait."""
    scenario = plan_scenario(plan, layout, history, hall_file, seed)
    category = {code: group for group, codes in groups_of(layout).items() for code in codes}
    within: dict[tuple[str, int], list[bool]] = defaultdict(list)
    waits: dict[tuple[str, int], list[float]] = defaultdict(list)
    with simulated_hall(scenario) as sim:
        for k in range(days):
            # The same weekday in later weeks: the services keep their weekday's hours.
            result = sim.run_day(plan.day + timedelta(weeks=k), seed + k)
            for v in result.visits:
                if v.refused:
                    continue
                key = (category[v.service], v.arrive.astimezone(layout.tz).hour)
                cell = next((c for c in plan.cells if (c.group, c.hour) == key), None)
                if cell is None:
                    continue
                within[key].append(bool(v.waits_s) and v.waits_s[0] <= cell.target_min * 60)
                if v.waits_s:
                    waits[key].append(v.waits_s[0])
    for cell in plan.cells:
        key = (cell.group, cell.hour)
        if within.get(key):
            cell.sim_visitors = len(within[key])
            cell.sim_share = sum(within[key]) / len(within[key])
            cell.sim_wait_mean_s = sum(waits[key]) / len(waits[key]) if waits[key] else None
        else:
            cell.sim_share = cell.sim_wait_mean_s = None
            cell.sim_visitors = 0
    plan.checked_days = days


def missed(cell: Cell, share: float) -> bool:
    """The simulated share called within the target fell short of it.

    The point estimate, not a test: in an hour of a few visitors a short fall may be chance
    and cost a window the steady state would not need; more simulated days narrow it. The
    visitors' side is the one a plan should err on.
    """
    return cell.sim_share is not None and cell.sim_share < share


def check_plan(plan: Plan, ctx: HallContext, history: History, days: int = 3,
               rounds: int = 2) -> Plan:  # fmt: skip
    """Simulate ``plan``; where it misses the target add a window and simulate again."""
    layout = ctx.layout
    with _workdir() as folder:
        hall_file = folder / "hall.toml"
        hall_file.write_text(export_toml(ctx), encoding="utf-8")
        for attempt in range(rounds + 1):
            simulate_plan(plan, layout, history, hall_file, days)
            short = [c for c in plan.cells if missed(c, plan.share) and c.windows < c.available]
            if not short or attempt == rounds:
                break
            for cell in short:
                cell.windows += 1
                cell.added += 1
                repredict(cell, plan.patience_s.get(cell.group))
    for cell in plan.cells:
        if cell.added:
            plan.notes.append(
                f"{cell.group} {cell.hour:02d}时：模拟未达标，加开{cell.added}个窗口 "
                f"({cell.group} at {cell.hour:02d}:00: the simulation missed the target; "
                f"{cell.added} window(s) added)"
            )
        if cell.windows > cell.available:
            plan.notes.append(
                f"{cell.group} {cell.hour:02d}时：需{cell.windows}个窗口，"
                f"本组只有{cell.available}个，请安排综合窗口 ({cell.group} at "
                f"{cell.hour:02d}:00 needs {cell.windows} windows, "
                f"the group has {cell.available}: staff a general window)"
            )
    for group, codes in groups_of(layout).items():
        if not group_windows(layout, codes) and any(c.group == group for c in plan.cells):
            plan.notes.append(
                f"{group}只由综合窗口办理，未作模拟核验 ({group} is served by general windows "
                f"only: not simulated)"
            )
    return plan


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


def advise(ctx: HallContext, day: date, *, weeks: int = 4, check_days: int = 3,
           share: float | None = None) -> Plan:  # fmt: skip
    """Tomorrow's (or ``day``'s) plan: Erlang's advice from the records, checked by simulation."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(
            f"日期须在 {FIRST_DAY} 与 {LAST_DAY} 之间 (the day must lie between {FIRST_DAY} "
            f"and {LAST_DAY}, got {day})."
        )
    history = read_history(ctx, day, weeks)
    plan = erlang_plan(ctx.layout, history, day, share)
    if plan.cells and check_days > 0:
        check_plan(plan, ctx, history, check_days)
    return plan


_CACHE: dict[tuple[str, int, int, date, int, int], dict[str, Any]] = {}
_CACHE_LOCK = threading.Lock()


def cached_advice(ctx: HallContext, day: date, *, weeks: int = 4,
                  check_days: int = 0) -> dict[str, Any]:  # fmt: skip
    """``advise`` as JSON, kept per hall layout, day and options while the records are past.

    A plan reads only days at least a week before ``day``; once those are all before today
    their records no longer change, so the dashboard computes tomorrow's plan once.
    """
    key = (str(ctx.db.engine.url), ctx.hall_id, ctx.layout.version, day, weeks, check_days)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    plan = advise(ctx, day, weeks=weeks, check_days=check_days).json()
    today = ctx.layout.local(ctx.clock()).date()
    if day - timedelta(weeks=1) < today:
        with _CACHE_LOCK:
            if len(_CACHE) > 64:
                _CACHE.clear()
            _CACHE[key] = plan
    return plan
