"""Ticket numbers and service hours as the hall's front desk knows them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from hall_server.domain.errors import NumbersExhausted, ServiceClosed
from hall_server.domain.numbering import (
    Counter,
    Hours,
    NumberRule,
    business_day,
    check_open,
    format_number,
    is_open,
    next_number,
    parse_hhmm,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = frozenset({1, 2, 3, 4, 5})
OFFICE = Hours(periods=[(time(8, 30), time(12, 0)), (time(13, 30), time(17, 0))], weekdays=WEEKDAYS)
SATURDAY_ONLY = Hours(periods=[(time(9, 0), time(12, 0))], weekdays=frozenset({6}))


def local(day: int, hhmm: str) -> datetime:
    """June 2024 in the hall: the 14th is a Friday, the 15th a Saturday."""
    t = parse_hhmm(hhmm)
    return datetime(2024, 6, day, t.hour, t.minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (datetime(2024, 6, 14, 15, 59, 59, tzinfo=UTC), date(2024, 6, 14)),
        (datetime(2024, 6, 14, 16, 0, 0, tzinfo=UTC), date(2024, 6, 15)),
        (datetime(2024, 6, 14, 0, 0, 0, tzinfo=UTC), date(2024, 6, 14)),
        (datetime(2024, 12, 31, 16, 0, 0, tzinfo=UTC), date(2025, 1, 1)),
        (datetime(2024, 6, 15, 0, 0, 0, tzinfo=SHANGHAI), date(2024, 6, 15)),
    ],
    ids=["23:59:59-local", "00:00-local-next-day", "08:00-local", "new-year", "local-midnight"],
)
def test_business_day_is_the_halls_calendar_day(now: datetime, day: date) -> None:
    assert business_day(now, SHANGHAI) == day


def test_business_day_refuses_a_time_without_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_day(datetime(2024, 6, 14, 9, 0), SHANGHAI)


@pytest.mark.parametrize(
    ("prefix", "n", "digits", "text"),
    [
        ("A", 12, 3, "A012"),
        ("A", 1, 3, "A001"),
        ("B", 999, 3, "B999"),
        ("C", 7, 4, "C0007"),
        ("VIP", 5, 2, "VIP05"),
        ("A", 1000, 3, "A1000"),
    ],
)
def test_format_number_pads_with_zeros(prefix: str, n: int, digits: int, text: str) -> None:
    assert format_number(prefix, n, digits) == text


SOCIAL = NumberRule(name="社保业务", prefix="A", start=1, end=999, digits=3, daily_cap=None)


@pytest.mark.parametrize(
    ("rule", "counter", "number", "after"),
    [
        (SOCIAL, Counter(), "A001", Counter(last=1, issued=1)),
        (SOCIAL, Counter(last=11, issued=11), "A012", Counter(last=12, issued=12)),
        (SOCIAL, Counter(last=998, issued=998), "A999", Counter(last=999, issued=999)),
        (
            NumberRule(name="公积金", prefix="G", start=101, end=199, digits=3, daily_cap=50),
            Counter(),
            "G101",
            Counter(last=101, issued=1),
        ),
        (
            NumberRule(name="公积金", prefix="G", start=101, end=199, digits=3, daily_cap=50),
            Counter(last=149, issued=49),
            "G150",
            Counter(last=150, issued=50),
        ),
    ],
    ids=["first-of-day", "next", "last-of-range", "range-not-from-1", "last-under-cap"],
)
def test_next_number_counts_up_from_the_start_of_the_range(
    rule: NumberRule, counter: Counter, number: str, after: Counter
) -> None:
    assert next_number(rule, counter) == (number, after)


@pytest.mark.parametrize(
    ("rule", "counter", "words"),
    [
        (SOCIAL, Counter(last=999, issued=999), "社保业务今日号段已用完，请明日再来"),
        (
            NumberRule(name="公积金", prefix="G", start=101, end=199, digits=3, daily_cap=50),
            Counter(last=150, issued=50),
            "公积金今日号源已发完（每日限50个），请明日再来",
        ),
        (
            NumberRule(name="不动产登记", prefix="D", start=1, end=999, digits=3, daily_cap=0),
            Counter(),
            "不动产登记今日号源已发完（每日限0个）",
        ),
    ],
    ids=["end-of-range", "daily-cap", "cap-zero"],
)
def test_next_number_refuses_when_numbers_run_out(
    rule: NumberRule, counter: Counter, words: str
) -> None:
    with pytest.raises(NumbersExhausted, match=words) as refused:
        next_number(rule, counter)
    assert refused.value.code == "numbers_exhausted"


def test_a_whole_day_of_numbers_never_repeats() -> None:
    rule = NumberRule(name="社保业务", prefix="A", start=1, end=20, digits=3, daily_cap=15)
    counter, numbers = Counter(), []
    with pytest.raises(NumbersExhausted):
        while True:
            number, counter = next_number(rule, counter)
            numbers.append(number)
    assert numbers == [f"A{n:03d}" for n in range(1, 16)]


@pytest.mark.parametrize(
    ("hours", "now", "closed_because"),
    [
        (OFFICE, local(14, "08:00"), "社保业务将于08:30开始取号"),
        (OFFICE, local(14, "08:30"), None),
        (OFFICE, local(14, "11:59"), None),
        (OFFICE, local(14, "12:00"), "社保业务将于13:30开始取号"),
        (OFFICE, local(14, "12:45"), "社保业务将于13:30开始取号"),
        (OFFICE, local(14, "13:30"), None),
        (OFFICE, local(14, "16:59"), None),
        (OFFICE, local(14, "17:00"), "社保业务今日已停止取号"),
        (OFFICE, local(14, "21:00"), "社保业务今日已停止取号"),
        (OFFICE, local(15, "10:00"), "社保业务今日不办理"),
        (OFFICE, local(16, "10:00"), "社保业务今日不办理"),
        (SATURDAY_ONLY, local(15, "10:00"), None),
        (SATURDAY_ONLY, local(15, "08:59"), "社保业务将于09:00开始取号"),
        (SATURDAY_ONLY, local(15, "12:00"), "社保业务今日已停止取号"),
        (SATURDAY_ONLY, local(14, "10:00"), "社保业务今日不办理"),
        # Friday 16:00 UTC is already Saturday 00:00 in the hall
        (SATURDAY_ONLY, datetime(2024, 6, 14, 16, 0, tzinfo=UTC), "社保业务将于09:00开始取号"),
        (OFFICE, datetime(2024, 6, 14, 1, 0, tzinfo=UTC), None),
    ],
    ids=[
        "before-opening",
        "at-opening",
        "morning",
        "lunch-starts",
        "lunch-break",
        "afternoon-opens",
        "last-minute",
        "at-closing",
        "evening",
        "saturday-closed",
        "sunday-closed",
        "saturday-hours",
        "saturday-before-opening",
        "saturday-after-closing",
        "weekday-when-saturday-only",
        "utc-friday-night-is-local-saturday",
        "utc-0100-is-local-0900",
    ],
)
def test_service_hours_decide_whether_tickets_are_issued(
    hours: Hours, now: datetime, closed_because: str | None
) -> None:
    assert is_open(hours, now, SHANGHAI) is (closed_because is None)
    if closed_because is None:
        check_open("社保业务", hours, now, SHANGHAI)
    else:
        with pytest.raises(ServiceClosed, match=closed_because) as refused:
            check_open("社保业务", hours, now, SHANGHAI)
        assert refused.value.code == "service_closed"


@pytest.mark.parametrize(("text", "t"), [("08:30", time(8, 30)), ("17:00", time(17, 0))])
def test_parse_hhmm_reads_config_times(text: str, t: time) -> None:
    assert parse_hhmm(text) == t


def test_a_period_to_2400_issues_in_the_days_last_minute_and_stops_at_midnight() -> None:
    round_the_clock = Hours(periods=[(parse_hhmm("00:00"), parse_hhmm("24:00"))],
                            weekdays=frozenset(range(1, 8)))  # fmt: skip
    last_second = datetime(2024, 6, 14, 23, 59, 59, 999_000, tzinfo=SHANGHAI)
    assert is_open(round_the_clock, last_second, SHANGHAI)
    assert is_open(round_the_clock, datetime(2024, 6, 15, 0, 0, tzinfo=SHANGHAI), SHANGHAI)
    evening = Hours(periods=[(parse_hhmm("18:00"), parse_hhmm("24:00"))], weekdays=WEEKDAYS)
    assert is_open(evening, last_second, SHANGHAI)
    assert not is_open(evening, datetime(2024, 6, 14, 0, 0, tzinfo=SHANGHAI), SHANGHAI)
