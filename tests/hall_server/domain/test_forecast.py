"""Position and ETA: the call order call-next will follow, and the wait as median and range."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from hall_server.domain.forecast import (
    Handling,
    WindowNow,
    forecast,
    gamma_quantile,
    remaining_s,
)
from hall_server.domain.queueing import CallPolicy, Candidate

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
FIVE_MIN = {"a": Handling(300.0), "b": Handling(300.0)}


def queue(n: int, service: str = "a", start_id: int = 1) -> list[Candidate]:
    """``n`` normal tickets queued a minute apart, the first 30 minutes ago."""
    return [Candidate(start_id + i, service, NOW - timedelta(minutes=30 - i)) for i in range(n)]


def busy(
    number: int,
    weights: dict[str, int],
    service: str = "a",
    *,
    elapsed_s: float = 60.0,
    priority_streak: int = 0,
) -> WindowNow:
    return WindowNow(number, weights, busy_service=service, elapsed_s=elapsed_s,
                     priority_streak=priority_streak)  # fmt: skip


def test_a_green_channel_ticket_behind_ten_normal_ones_is_told_none_are_ahead() -> None:
    normal = queue(10)
    green = Candidate(99, "a", NOW, priority=True)
    windows = [busy(1, {"a": 1}), busy(2, {"a": 1})]
    eta = forecast(green, windows, [*normal, green], FIVE_MIN, CallPolicy(3, 0), NOW)
    assert eta is not None and eta.position == 0
    # the same ticket, naive: ten of its service ahead; ours: called at the first free window
    assert eta.median_s < 300


def test_the_swap_ratio_lets_one_normal_ticket_go_first() -> None:
    normal = queue(10)
    green = Candidate(99, "a", NOW, priority=True)
    window = busy(1, {"a": 1}, priority_streak=3)  # three green calls in a row: a normal one
    eta = forecast(green, [window], [*normal, green], FIVE_MIN, CallPolicy(3, 0), NOW)
    assert eta is not None and eta.position == 1


def test_an_appointment_in_its_slot_is_next() -> None:
    normal = queue(5)
    green = Candidate(50, "a", NOW - timedelta(minutes=40), priority=True)
    booked = Candidate(
        60, "a", NOW, priority=True, slot_start=NOW, slot_end=NOW + timedelta(minutes=30)
    )
    waiting = [*normal, green, booked]
    eta = forecast(booked, [busy(1, {"a": 1})], waiting, FIVE_MIN, CallPolicy(3, 0), NOW)
    assert eta is not None and eta.position == 0
    # and the green-channel ticket queued before it now has one ahead
    after = forecast(green, [busy(1, {"a": 1})], waiting, FIVE_MIN, CallPolicy(3, 0), NOW)
    assert after is not None and after.position == 1


def test_a_targeted_ticket_waits_only_for_its_window() -> None:
    normal = queue(8)
    back = Candidate(70, "a", NOW, target_window=2)  # returned from hold to window 2
    windows = [busy(1, {"a": 1}), busy(2, {"a": 1}, elapsed_s=0.0)]
    eta = forecast(back, windows, [*normal, back], FIVE_MIN, CallPolicy(3, 0), NOW)
    assert eta is not None and eta.position == 0
    # window 2 calls it first, so the first normal ticket has window 1 only for its first call
    first = forecast(normal[0], windows, [*normal, back], FIVE_MIN, CallPolicy(3, 0), NOW)
    assert first is not None and first.position == 0


def test_a_shared_window_serves_the_service_it_prefers_first() -> None:
    mine = Candidate(1, "a", NOW - timedelta(minutes=10))
    others = queue(3, "b", start_id=10)  # queued after mine, but weight 3 at the only window
    window = busy(1, {"a": 1, "b": 3}, service="b")
    eta = forecast(mine, [window], [mine, *others], FIVE_MIN, CallPolicy(3, 0), NOW)
    assert eta is not None and eta.position == 3
    # with a window of b's own beside it the shared one's share of b falls, and mine comes sooner
    both = [window, busy(2, {"b": 1}, service="b")]
    sooner = forecast(mine, both, [mine, *others], FIVE_MIN, CallPolicy(3, 0), NOW)
    assert sooner is not None and sooner.median_s < eta.median_s


def test_before_the_windows_open_the_eta_comes_from_the_hours() -> None:
    opens = NOW + timedelta(minutes=30)
    windows = [WindowNow(n, {"a": 1}, state="closed", opens_at=opens) for n in (1, 2)]
    waiting = queue(4)
    new = Candidate(-1, "a", NOW)
    eta = forecast(new, windows, waiting, FIVE_MIN, CallPolicy(3, 0), NOW)
    assert eta is not None and eta.position == 4
    # two windows at 30 min each take one, then four more calls at ~2.5 min apart
    assert 30 * 60 + 300 <= eta.median_s <= 30 * 60 + 3 * 300
    assert eta.low_s <= eta.median_s <= eta.high_s
    closed = [WindowNow(1, {"a": 1}, state="closed")]  # not again today
    assert forecast(new, closed, waiting, FIVE_MIN, CallPolicy(3, 0), NOW) is None


def test_a_paused_window_counts_from_its_expected_resume() -> None:
    back = NOW + timedelta(minutes=20)
    window = WindowNow(1, {"a": 1}, state="paused", resume_at=back)
    first = Candidate(1, "a", NOW)
    eta = forecast(first, [window], [first], FIVE_MIN, CallPolicy(3, 0), NOW)
    assert eta is not None and eta.position == 0
    assert eta.median_s == pytest.approx(20 * 60)
    second = Candidate(2, "a", NOW + timedelta(seconds=1))
    later = forecast(second, [window], [first, second], FIVE_MIN, CallPolicy(3, 0), NOW)
    assert later is not None and later.median_s > 20 * 60 + 60


def erlang_median(k: int, rate: float) -> float:
    """Median of Erlang(k, rate) by bisection on its closed-form distribution function."""

    def cdf(x: float) -> float:
        return 1 - sum(math.exp(-rate * x) * (rate * x) ** i / math.factorial(i) for i in range(k))

    lo, hi = 0.0, 100 * k / rate
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < 0.5 else (lo, mid)
    return lo


@pytest.mark.parametrize(("ahead", "windows"), [(0, 1), (0, 3), (4, 3), (12, 4), (30, 5)])
def test_mmc_median_with_every_window_busy_is_the_erlang_median(ahead: int, windows: int) -> None:
    """FIFO M/M/c, all c windows busy, q ahead: called at the (q+1)-th departure at rate c·μ."""
    mean = 300.0
    waiting = queue(ahead + 1)
    me = waiting[-1]
    busy_all = [busy(n, {"a": 1}, elapsed_s=float(n * 97)) for n in range(1, windows + 1)]
    eta = forecast(me, busy_all, waiting, {"a": Handling(mean, 1.0)}, CallPolicy(0, 0), NOW)
    assert eta is not None and eta.position == ahead
    assert eta.median_s == pytest.approx(erlang_median(ahead + 1, windows / mean), rel=1e-3)
    assert eta.low_s < eta.median_s < eta.high_s


def test_gamma_quantiles_invert_the_distribution() -> None:
    assert gamma_quantile(1.0, 0.5) == pytest.approx(math.log(2), rel=1e-9)
    assert gamma_quantile(1.0, 0.9) == pytest.approx(math.log(10), rel=1e-9)
    for k in (2, 5, 20):
        assert gamma_quantile(float(k), 0.5) == pytest.approx(erlang_median(k, 1.0), rel=1e-6)


def test_a_visit_that_lasted_long_has_less_left_unless_handling_is_memoryless() -> None:
    steady = Handling(300.0, 0.25)
    assert remaining_s(steady, 0.0) == pytest.approx(300.0)
    assert remaining_s(steady, 250.0) < 150.0
    assert remaining_s(Handling(300.0, 1.0), 250.0) == pytest.approx(300.0)
