"""Exact replay's speed: one simulated city-hall day recorded through the services, then
replayed from its hall log (`hall replay`), as a ratio of the recording's own wall time.

    .venv/bin/python benchmarks/replay_day.py [--scale 0.2]

``--scale`` thins the arrivals (1.0: the 10,000-visitor city day of benchmarks/simulation).
Prints events, the recording's and the replay's seconds, and their ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from datetime import date
from pathlib import Path

from hall_server.simulation.engine import simulated_hall
from hall_server.simulation.replay import replay_day
from hall_server.simulation.scenario import load_scenario

CITY_DAY = Path(__file__).parent / "simulation" / "city_day.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.2)
    args = parser.parse_args()
    scenario = load_scenario(CITY_DAY, date.today())
    arrivals = {code: {hour: rate * args.scale for hour, rate in hours.items()}
                for code, hours in scenario.arrivals.items()}  # fmt: skip
    rate = {code: r * args.scale for code, r in scenario.rate.items()}
    scenario = dataclasses.replace(scenario, arrivals=arrivals, rate=rate, days=1)
    with simulated_hall(scenario) as sim:
        started = time.perf_counter()
        day = sim.run_day(scenario.day, scenario.seed)
        recorded_s = time.perf_counter() - started
        started = time.perf_counter()
        result = replay_day(sim.ctx, scenario.day)
        replay_s = time.perf_counter() - started
    print(result.summary())
    ratio = replay_s / recorded_s
    print(f"visitors {day.visitors}, events {result.events}: recorded in {recorded_s:.1f} s, "
          f"replayed in {replay_s:.1f} s — replay / recording = {ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
