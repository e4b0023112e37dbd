"""Erlang B, C and A against published table values, closed forms and ciw (an independent
discrete-event simulator): the figures behind staffing advice must be right."""

from __future__ import annotations

import math
import statistics

import pytest

from hall_server.domain import erlang

# The published Erlang B table at 1 % blocking (windows -> offered load in erlangs).
ERLANG_B_1_PERCENT = {1: 0.0101, 2: 0.153, 5: 1.361, 10: 4.461, 20: 12.031, 50: 37.901,
                      100: 84.064}  # fmt: skip


@pytest.mark.parametrize(("windows", "load"), ERLANG_B_1_PERCENT.items())
def test_erlang_b_matches_the_published_table(windows: int, load: float) -> None:
    assert erlang.erlang_b(windows, load) == pytest.approx(0.01, abs=5e-5)


def test_one_window_is_the_m_m_1_queue() -> None:
    rho, handle = 0.8, 300.0
    assert erlang.erlang_c(1, rho) == pytest.approx(rho)
    assert erlang.mean_wait_s(1, rho, handle) == pytest.approx(rho / (1 - rho) * handle)
    # P(W > t) = rho * exp(-(mu - lambda) t)
    assert erlang.wait_exceeds(1, rho, handle, 600) == pytest.approx(
        rho * math.exp(-(1 - rho) * 600 / handle)
    )


def test_two_windows_half_busy_wait_one_time_in_three() -> None:
    assert erlang.erlang_c(2, 1.0) == pytest.approx(1 / 3)


def test_the_worked_example_of_the_call_centre_literature() -> None:
    """100 arrivals in 30 minutes, 180 s handling (10 erlangs): 11 windows wait 68.21 % of
    the time, 122.8 s on average, 39.0 % called within 20 s; 80 % in 20 s needs 14."""
    assert erlang.erlang_c(11, 10) == pytest.approx(0.6821, abs=1e-4)
    assert erlang.mean_wait_s(11, 10, 180) == pytest.approx(122.8, abs=0.05)
    assert erlang.service_level(11, 10, 180, 20) == pytest.approx(0.390, abs=5e-4)
    assert erlang.fewest_windows(10, 180, 20, 0.80) == 14
    assert erlang.service_level(13, 10, 180, 20) < 0.80 <= erlang.service_level(14, 10, 180, 20)


def test_overloaded_halls_wait_for_ever() -> None:
    assert erlang.erlang_c(3, 3.0) == 1.0
    assert erlang.mean_wait_s(3, 4.0, 60) == math.inf
    assert erlang.fewest_windows(3.0, 60, 60, 0.8) >= 4


def test_the_wait_quantile_inverts_the_service_level() -> None:
    q = erlang.wait_quantile_s(12, 10, 180, 0.8)
    assert erlang.service_level(12, 10, 180, q) == pytest.approx(0.8)
    assert erlang.wait_quantile_s(30, 10, 180, 0.8) == 0.0  # most never wait


def test_city_hall_loads_do_not_overflow() -> None:
    assert 0 < erlang.erlang_c(400, 380) < 1
    assert erlang.fewest_windows(380, 600, 900, 0.8) > 380


def test_erlang_a_with_endless_patience_is_erlang_c() -> None:
    a = erlang.erlang_a(11, 10, 180, patience_s=1e9, t_s=20)
    assert a.p_wait == pytest.approx(erlang.erlang_c(11, 10), rel=1e-4)
    assert a.mean_wait_s == pytest.approx(erlang.mean_wait_s(11, 10, 180), rel=1e-3)
    assert a.service_level == pytest.approx(erlang.service_level(11, 10, 180, 20), rel=1e-4)
    assert a.p_abandon < 1e-5


def test_erlang_a_holds_even_when_overloaded() -> None:
    a = erlang.erlang_a(3, 4.0, 300, patience_s=600, t_s=300)
    assert 0 < a.p_abandon < 1 and a.mean_wait_s < math.inf


def _ciw_waits(windows: int, rate: float, handle_s: float, patience_s: float | None,
               seed: int, horizon_s: float = 150_000, warmup_s: float = 15_000):  # fmt: skip
    ciw = pytest.importorskip("ciw")  # in the test extra: present in CI
    params = {
        "arrival_distributions": [ciw.dists.Exponential(rate)],
        "service_distributions": [ciw.dists.Exponential(1 / handle_s)],
        "number_of_servers": [windows],
    }
    if patience_s is not None:
        params["reneging_time_distributions"] = [ciw.dists.Exponential(1 / patience_s)]
    ciw.seed(seed)
    simulation = ciw.Simulation(ciw.create_network(**params))
    simulation.simulate_until_max_time(horizon_s)
    return [r for r in simulation.get_all_records() if r.arrival_date > warmup_s]


def _interval(samples: list[float]) -> tuple[float, float]:
    """Mean and half-width of the 99 % confidence interval over replications."""
    return statistics.mean(samples), 2.576 * statistics.stdev(samples) / math.sqrt(len(samples))


@pytest.mark.slow
def test_erlang_c_agrees_with_ciw_on_mean_wait_and_the_tail() -> None:
    windows, rate, handle = 3, 1 / 60, 150.0  # 2.5 erlangs on 3 windows: ρ ≈ 0.83
    means, tails = [], []
    for seed in range(16):
        waits = [r.waiting_time for r in _ciw_waits(windows, rate, handle, None, seed)]
        means.append(statistics.mean(waits))
        tails.append(sum(w > 300 for w in waits) / len(waits))
    mean, half = _interval(means)
    assert abs(mean - erlang.mean_wait_s(windows, rate * handle, handle)) <= half
    tail, half = _interval(tails)
    assert abs(tail - erlang.wait_exceeds(windows, rate * handle, handle, 300)) <= half


@pytest.mark.slow
def test_erlang_a_agrees_with_ciw_when_visitors_walk_away() -> None:
    windows, rate, handle, patience, target = 3, 1 / 60, 150.0, 600.0, 120.0
    theory = erlang.erlang_a(windows, rate * handle, handle, patience, t_s=target)
    left, waited, within = [], [], []
    for seed in range(16):
        records = _ciw_waits(windows, rate, handle, patience, seed)
        left.append(sum(r.record_type == "renege" for r in records) / len(records))
        waited.append(statistics.mean(r.waiting_time for r in records))
        within.append(
            sum(r.record_type == "service" and r.waiting_time <= target for r in records)
            / len(records)
        )
    for samples, expected in ((left, theory.p_abandon), (waited, theory.mean_wait_s),
                              (within, theory.service_level)):  # fmt: skip
        mean, half = _interval(samples)
        assert abs(mean - expected) <= half, (mean, half, expected)
