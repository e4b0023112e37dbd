"""The hall simulator drives the real services: its M/M/c days agree with Erlang C and with
ciw, call-next settings are compared on the very same visitors, and its figures are the
dashboard's."""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hall_server.commands import cli
from hall_server.domain import erlang
from hall_server.services.snapshot import events_after
from hall_server.simulation.engine import simulate, simulated_hall
from hall_server.simulation.scenario import Scenario, load_scenario, scenario_from

SMALL_HALL = Path(__file__).parents[1] / "small_hall.toml"
MONDAY = date(2026, 11, 23)
# One service (b: open round the clock) on two windows (1 is general, 3 serves b), FIFO:
# an M/M/2 queue as long as nobody is a priority, an appointment, or transferred.
RATE_H, HANDLE_S, WINDOWS = 30.0, 180.0, 2  # 1.5 erlangs on 2 windows: ρ = 0.75


def mmc(days: int, seed: int = 1, **extra: Any) -> Scenario:
    data = {"hall": str(SMALL_HALL), "day": MONDAY.isoformat(), "days": days, "seed": seed,
            "policy": {"aging_min": 0}, "arrivals": {"b": {"rate": RATE_H}},
            "handling": {"b": {"mean_s": HANDLE_S}}, "windows": {"only": [1, 3]},
            **extra}  # fmt: skip
    return scenario_from(data, Path("."), MONDAY)


def steady_waits(result: Any) -> list[list[float]]:
    """Per day, the waits of visitors who came between 02:00 and 22:00 (the queue is in its
    steady state then, and every one of them is called before the windows close)."""
    out = []
    for day in result.days:
        lo, hi = day.start + timedelta(hours=2), day.start + timedelta(hours=22)
        waits = [v.waits_s[0] for v in day.visits if lo <= v.arrive < hi]
        assert all(v.waits_s for v in day.visits if lo <= v.arrive < hi)
        out.append(waits)
    return out


def interval(samples: list[float]) -> tuple[float, float]:
    """Mean and 99 % confidence half-width over independent replications."""
    return statistics.mean(samples), 2.576 * statistics.stdev(samples) / math.sqrt(len(samples))


def ciw_day_waits(seed: int) -> list[float]:
    ciw = pytest.importorskip("ciw")  # in the test extra: present in CI
    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(RATE_H / 3600)],
        service_distributions=[ciw.dists.Exponential(1 / HANDLE_S)],
        number_of_servers=[WINDOWS],
    )
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(24 * 3600)
    return [r.waiting_time for r in simulation.get_all_records()
            if 2 * 3600 <= r.arrival_date < 22 * 3600]  # fmt: skip


@pytest.mark.slow
def test_m_m_c_days_agree_with_erlang_c_and_with_ciw() -> None:
    """12 independent days (≈ 7,000 tickets through the services): the mean wait and the
    share waiting over 5 minutes agree with Erlang C within the 99 % confidence interval of
    the days, and with ciw's days of the same λ, μ and c."""
    result = simulate(mmc(days=12))
    days = steady_waits(result)
    load = RATE_H / 3600 * HANDLE_S
    means = [statistics.mean(w) for w in days]
    tails = [sum(x > 300 for x in w) / len(w) for w in days]
    mean, half = interval(means)
    assert abs(mean - erlang.mean_wait_s(WINDOWS, load, HANDLE_S)) <= half, (mean, half)
    tail, half = interval(tails)
    assert abs(tail - erlang.wait_exceeds(WINDOWS, load, HANDLE_S, 300)) <= half, (tail, half)

    theirs = [statistics.mean(ciw_day_waits(seed)) for seed in range(12)]
    difference = abs(statistics.mean(means) - statistics.mean(theirs))
    spread = 2.576 * math.sqrt(statistics.variance(means) / 12 + statistics.variance(theirs) / 12)
    assert difference <= spread, (statistics.mean(means), statistics.mean(theirs), spread)


def test_the_figures_are_the_dashboards_and_a_seed_repeats_a_day() -> None:
    scenario = mmc(days=1, visitors={"no_show": 0.1})
    first, again = simulate(scenario), simulate(scenario)
    day = first.days[0]
    kpis = day.figures["kpis"]
    assert kpis["tickets"] == day.visitors - day.refused > 500
    assert kpis["no_show"] == sum(v.no_show for v in day.visits if v.waits_s) > 0
    assert kpis["served"] + kpis["no_show"] == kpis["tickets"] - day.left_waiting
    # The dashboard's mean wait is over every call; ours over first calls: no re-calls here.
    waits = [v.waits_s[0] for v in day.visits if v.waits_s]
    assert kpis["wait_mean_s"] == pytest.approx(statistics.mean(waits), abs=0.1)
    assert again.days[0].figures == day.figures


def test_call_next_settings_are_compared_on_the_same_visitors() -> None:
    base = mmc(days=1, visitors={"priority": 0.25}, windows={"only": [1, 3]})
    always = simulate(dataclasses.replace(base, policy={"aging_min": 0, "priority_swap_ratio": 0}))
    mixed = simulate(dataclasses.replace(base, policy={"aging_min": 0, "priority_swap_ratio": 1}))
    a, m = always.days[0], mixed.days[0]
    assert [(v.arrive, v.service, v.priority) for v in a.visits] == [
        (v.arrive, v.service, v.priority) for v in m.visits
    ]
    # Green channel always first: its visitors wait less, everyone else more.
    assert a.classes["priority"]["wait_mean_s"] < m.classes["priority"]["wait_mean_s"]
    assert a.classes["normal"]["wait_mean_s"] > m.classes["normal"]["wait_mean_s"]


def test_a_paused_window_calls_nobody_until_it_resumes() -> None:
    scenario = mmc(days=1, pauses=[{"window": 3, "at": "10:00", "minutes": 20, "reason": "会议"}])
    with simulated_hall(scenario) as sim:
        sim.ctx.resync_max_events = 10**9
        sim.run_day(MONDAY, 1)
        log = events_after(sim.ctx, 0, staff=True)["events"]
    tz = sim.ctx.layout.tz
    paused = [e for e in log if e["type"] == "window.paused" and e["window"] == 3]
    resumed = [e for e in log if e["type"] == "window.resumed" and e["window"] == 3]
    assert len(paused) == len(resumed) == 1
    start, end = (datetime.fromisoformat(e["at"]).astimezone(tz) for e in (*paused, *resumed))
    assert time(10, 0) <= start.time() < time(10, 30)  # after the visitor at the window
    assert end - start == timedelta(minutes=20)
    calls = [datetime.fromisoformat(e["at"]) for e in log
             if e["type"] == "ticket.called" and e["window"] == 3]  # fmt: skip
    assert calls and not any(start < at < end for at in calls)


def test_hall_simulate_prints_figures_and_compares_policies(tmp_path: Path) -> None:
    scenario = tmp_path / "day.toml"
    scenario.write_text(
        f'hall = "{SMALL_HALL}"\nday = "2026-11-23"\n[arrivals.b]\nrate = 12\n'
        '[windows]\nonly = [1, 3]\n', encoding="utf-8")  # fmt: skip
    runner = CliRunner()
    out = runner.invoke(cli, ["simulate", str(scenario), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["days"][0]["figures"]["kpis"]["tickets"] > 100
    table = runner.invoke(cli, ["simulate", str(scenario), "--policy", "aging_min=5"])
    assert table.exit_code == 0, table.output
    assert "平均等候 mean wait" in table.output and "call-next settings compared" in table.output


def test_a_bad_scenario_is_named_in_chinese_and_english(tmp_path: Path) -> None:
    scenario = tmp_path / "day.toml"
    scenario.write_text(f'hall = "{SMALL_HALL}"\n[visitors]\nno_show = 3\n', encoding="utf-8")
    out = CliRunner().invoke(cli, ["simulate", str(scenario)])
    assert out.exit_code != 0
    assert "visitors.no_show 须在 0 到 1 之间 (must be a share between 0 and 1" in out.output
    with pytest.raises(Exception, match="unknown keys"):
        load_scenario_text(tmp_path, 'hall = "x"\nwindow = 1\n')


def load_scenario_text(folder: Path, text: str) -> Scenario:
    path = folder / "s.toml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path, MONDAY)
