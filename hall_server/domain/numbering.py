"""Ticket numbers: the business day, ranges, daily caps and service hours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import NumbersExhausted, ServiceClosed


def business_day(now: datetime, tz: ZoneInfo) -> date:
    """Return the hall's calendar day at ``now`` (an aware datetime)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(tz).date()


def format_number(prefix: str, n: int, digits: int) -> str:
    """Format ``n`` as a ticket number: prefix + zero-padded digits (``A012``)."""
    return f"{prefix}{n:0{digits}d}"


@dataclass(frozen=True, slots=True)
class NumberRule:
    """How one service numbers its tickets."""

    name: str
    prefix: str
    start: int
    end: int
    digits: int
    daily_cap: int | None


@dataclass(frozen=True, slots=True)
class Counter:
    """Today's counter of one service: the last number given and how many were issued."""

    last: int | None = None
    issued: int = 0


def next_number(rule: NumberRule, counter: Counter) -> tuple[str, Counter]:
    """Return the next ticket number and the counter after it, or raise NumbersExhausted."""
    if rule.daily_cap is not None and counter.issued >= rule.daily_cap:
        raise NumbersExhausted(
            f"{rule.name}今日号源已发完（每日限{rule.daily_cap}个），请明日再来 "
            f"(today's {rule.daily_cap} tickets are all taken)."
        )
    n = rule.start if counter.last is None else counter.last + 1
    if n > rule.end:
        raise NumbersExhausted(
            f"{rule.name}今日号段已用完，请明日再来 (today's number range is used up)."
        )
    return format_number(rule.prefix, n, rule.digits), Counter(last=n, issued=counter.issued + 1)


@dataclass(frozen=True, slots=True)
class Hours:
    """When a service issues tickets: ISO weekdays and (start, end) periods in local time."""

    periods: Sequence[tuple[time, time]]
    weekdays: frozenset[int]
    # Days whose periods differ (e.g. Saturday morning only), by ISO weekday.
    weekday_periods: Mapping[int, Sequence[tuple[time, time]]] = field(default_factory=dict)

    def on(self, iso_weekday: int) -> Sequence[tuple[time, time]]:
        """Return the periods of one ISO weekday; () when closed that day."""
        if iso_weekday not in self.weekdays:
            return ()
        return self.weekday_periods.get(iso_weekday, self.periods)


def ends_past_closing(hours: Hours, start: datetime, wait_s: float) -> bool:
    """Whether a wait of ``wait_s`` from ``start`` (the hall's local time) ends after the
    service's last ticket period of that day (its own hours that weekday): never on a day
    without periods, nor for a period that runs to midnight (a hall open round the clock).
    Every surface then tells a long wait without a figure (超出今日办理时间)."""
    periods = hours.on(start.isoweekday())
    if not periods:
        return False
    last = max(end for _start, end in periods)
    if last == time.max:
        return False
    return start + timedelta(seconds=wait_s) > datetime.combine(start.date(), last, start.tzinfo)


def parse_hhmm(text: str) -> time:
    """Parse ``"08:30"``; ``"24:00"`` (a period that runs to midnight) is the day's last
    moment, so that ``start <= now < end`` holds all through 23:59."""
    hh, mm = text.split(":")
    if (int(hh), int(mm)) == (24, 0):
        return time.max
    return time(int(hh), int(mm))


def format_hhmm(moment: time) -> str:
    """``"08:30"``; the end of a period to midnight is ``"24:00"`` (parse_hhmm's inverse)."""
    return "24:00" if moment == time.max else moment.strftime("%H:%M")


def minute_of_day(moment: time) -> int:
    """Minutes since midnight; the end of a period to midnight (24:00) is 1440."""
    return 24 * 60 if moment == time.max else moment.hour * 60 + moment.minute


def check_open(name: str, hours: Hours, now: datetime, tz: ZoneInfo) -> None:
    """Raise ServiceClosed with the reason when ``name`` issues no tickets at ``now``."""
    local = now.astimezone(tz)
    if local.isoweekday() not in hours.weekdays:
        raise ServiceClosed(f"{name}今日不办理 (not served today).")
    t = local.time()
    periods = hours.on(local.isoweekday())
    if any(start <= t < end for start, end in periods):
        return
    later = [start for start, _ in periods if start > t]
    if later:
        opens = min(later).strftime("%H:%M")
        raise ServiceClosed(f"{name}将于{opens}开始取号 (tickets from {opens}).")
    raise ServiceClosed(f"{name}今日已停止取号 (no more tickets today).")


def is_open(hours: Hours, now: datetime, tz: ZoneInfo) -> bool:
    """Tell whether a service with ``hours`` issues tickets at ``now``."""
    try:
        check_open("", hours, now, tz)
    except ServiceClosed:
        return False
    return True
