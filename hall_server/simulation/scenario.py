"""A simulated hall day, as a scenario file says it (TOML): arrivals, handling, windows.

```toml
hall = "config/halls/demo.toml"  # the site file whose services and windows are simulated
day = "2026-12-07"               # first business day (default: next Monday)
days = 1
seed = 7
policy = { aging_min = 20 }      # call-next settings over the hall's [hall.policy]

[arrivals.a]                     # visitors per hour of service a, by local hour …
"09" = 45
[arrivals.b]
rate = 30                        # … or the same rate in every hour the service is open

[handling.a]                     # handling time; default: the service's avg_handle_s
mean_s = 420
dist = "lognormal"               # exponential (default) | lognormal | fixed
cv = 0.8

[visitors]
no_show = 0.03                   # share of called visitors who do not come (过号)
no_show_after_s = 120            # how long staff wait before pressing 过号
transfer = 0.02                  # share of visits transferred to another service (转移)
priority = 0.05                  # share of arrivals in the green channel (绿色通道)

[windows]
open = "08:30"                   # default: when the first service a window serves opens
close = "17:30"                  # default: when its last one closes
only = [1, 2, 3]                 # default: every window of the hall

[[pauses]]                       # a window stops calling for a while (暂停)
window = 3
at = "10:00"
minutes = 20
reason = "会议"
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

from ..domain.errors import InvalidInput

DISTRIBUTIONS = ("exponential", "lognormal", "fixed")


@dataclass(frozen=True, slots=True)
class Handling:
    """How long one visit at a window takes."""

    mean_s: float
    dist: str = "exponential"
    cv: float = 1.0  # lognormal: standard deviation / mean


@dataclass(frozen=True, slots=True)
class Pause:
    window: int
    at: time
    minutes: float
    reason: str = "暂离"


@dataclass(frozen=True, slots=True)
class Shift:
    """One period a window is staffed (a staffing plan's hours)."""

    opens: time
    closes: time
    drain: bool = False


@dataclass(frozen=True, slots=True)
class Visitors:
    no_show: float = 0.0
    no_show_after_s: float = 120.0
    transfer: float = 0.0
    priority: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """Everything a simulation run needs, checked."""

    hall: Path
    day: date
    days: int = 1
    seed: int = 1
    policy: dict[str, Any] = field(default_factory=dict)
    arrivals: dict[str, dict[int, float]] = field(default_factory=dict)  # service -> hour -> /h
    rate: dict[str, float] = field(default_factory=dict)  # service -> /h in every open hour
    handling: dict[str, Handling] = field(default_factory=dict)
    visitors: Visitors = Visitors()
    open_at: time | None = None
    close_at: time | None = None
    only_windows: tuple[int, ...] = ()
    pauses: tuple[Pause, ...] = ()
    # A staffing plan: window -> the periods it is staffed (open, close, drain). With drain,
    # the window serves the visitors already waiting for its services before it closes (the
    # end of a morning or a day); without, it closes after its current visitor (a shift ends).
    shifts: dict[int, tuple[Shift, ...]] = field(default_factory=dict)


def _next_monday(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def _clock(text: Any, key: str) -> time:
    try:
        return time.fromisoformat(str(text))
    except ValueError:
        raise InvalidInput(f"{key} 不是时刻 (not a time of day: {text!r}; use 08:30).") from None


def _share(value: Any, key: str) -> float:
    if not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidInput(f"{key} 须在 0 到 1 之间 (must be a share between 0 and 1: {value!r}).")
    return float(value)


def _positive(value: Any, key: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise InvalidInput(f"{key} 须为非负数 (must be a number ≥ 0: {value!r}).")
    return float(value)


KNOWN = {"hall", "day", "days", "seed", "policy", "arrivals", "handling", "visitors", "windows",
         "pauses"}  # fmt: skip


def scenario_from(data: Mapping[str, Any], base: Path, today: date) -> Scenario:
    """Check a scenario mapping (from TOML); paths are relative to ``base``."""
    unknown = sorted(set(data) - KNOWN)
    if unknown:
        raise InvalidInput(f"场景文件有未知项 {', '.join(unknown)} (unknown keys in the scenario).")
    if "hall" not in data:
        raise InvalidInput("场景文件须写明 hall (the scenario must name the hall's site file).")
    hall = (base / str(data["hall"])).resolve()
    if not hall.is_file():
        raise InvalidInput(f"找不到大厅配置 {hall} (no such site file).")
    try:
        day = date.fromisoformat(str(data["day"])) if "day" in data else _next_monday(today)
    except ValueError:
        raise InvalidInput(f"day 不是日期 (not a date: {data['day']!r}).") from None
    arrivals: dict[str, dict[int, float]] = {}
    rate: dict[str, float] = {}
    for service, spec in dict(data.get("arrivals", {})).items():
        spec = dict(spec)
        if "rate" in spec:
            rate[service] = _positive(spec.pop("rate"), f"arrivals.{service}.rate")
        hours: dict[int, float] = {}
        for hour, value in spec.items():
            if not str(hour).isdigit() or not 0 <= int(hour) <= 23:
                raise InvalidInput(f"arrivals.{service}: {hour!r} 不是小时 (not an hour 0–23).")
            hours[int(hour)] = _positive(value, f"arrivals.{service}.{hour}")
        arrivals[service] = hours
    handling: dict[str, Handling] = {}
    for service, spec in dict(data.get("handling", {})).items():
        dist = spec.get("dist", "exponential")
        if dist not in DISTRIBUTIONS:
            raise InvalidInput(
                f"handling.{service}.dist 须为 {' | '.join(DISTRIBUTIONS)} (got {dist!r})."
            )
        handling[service] = Handling(
            mean_s=_positive(spec.get("mean_s", 0), f"handling.{service}.mean_s") or 1.0,
            dist=dist,
            cv=_positive(spec.get("cv", 1.0), f"handling.{service}.cv"),
        )
    v = dict(data.get("visitors", {}))
    visitors = Visitors(
        no_show=_share(v.get("no_show", 0.0), "visitors.no_show"),
        no_show_after_s=_positive(v.get("no_show_after_s", 120), "visitors.no_show_after_s"),
        transfer=_share(v.get("transfer", 0.0), "visitors.transfer"),
        priority=_share(v.get("priority", 0.0), "visitors.priority"),
    )
    w = dict(data.get("windows", {}))
    pauses = tuple(
        Pause(int(p["window"]), _clock(p["at"], "pauses.at"),
              _positive(p["minutes"], "pauses.minutes"), str(p.get("reason", "暂离")))
        for p in data.get("pauses", [])
    )  # fmt: skip
    return Scenario(
        hall=hall,
        day=day,
        days=int(data.get("days", 1)),
        seed=int(data.get("seed", 1)),
        policy=dict(data.get("policy", {})),
        arrivals=arrivals,
        rate=rate,
        handling=handling,
        visitors=visitors,
        open_at=_clock(w["open"], "windows.open") if "open" in w else None,
        close_at=_clock(w["close"], "windows.close") if "close" in w else None,
        only_windows=tuple(int(n) for n in w.get("only", ())),
        pauses=pauses,
    )


def load_scenario(path: Path, today: date) -> Scenario:
    """Read and check a scenario file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"找不到场景文件 {path} (no such scenario file).") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(
            f"场景文件不是有效的 TOML (the scenario is not valid TOML: {error})."
        ) from None
    return scenario_from(data, path.parent, today)
