"""What the open-a-window alarm adds to an alarm check, at a 10,000-ticket day.

    .venv/bin/python benchmarks/staffing_alarm_cost.py [--repeat 20]

Runs the city hall's day (benchmarks/simulation/city_day.toml) through the simulator, then
at 16:00 times the whole alarm check's read (``find_causes``) and, in the same run, the
part the staffing alarm adds (``live_group_loads``): its share of the check is the figure.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hall_server.services.alarms import find_causes
from hall_server.services.staffing import live_group_loads
from hall_server.simulation.engine import simulated_hall
from hall_server.simulation.scenario import load_scenario

DAY = Path(__file__).resolve().parent / "simulation" / "city_day.toml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    scenario = load_scenario(DAY, date(2026, 12, 7))
    with simulated_hall(scenario) as sim:
        result = sim.run_day(scenario.day, scenario.seed)
        ctx = sim.ctx
        now = datetime.combine(scenario.day, clock(16, 0), tzinfo=ctx.layout.tz)
        timings: dict[str, float] = {}
        with ctx.db.read() as session:
            parts = {
                "find_causes (whole check)": lambda: find_causes(session, ctx.layout,
                                                                 ctx.hall_id, now),
                "live_group_loads (staffing)": lambda: live_group_loads(session, ctx.layout,
                                                                        ctx.hall_id, now),
            }  # fmt: skip
            for name, part in parts.items():
                part()
                started = time.perf_counter()
                for _ in range(args.repeat):
                    part()
                timings[name] = (time.perf_counter() - started) / args.repeat * 1000
    print(f"{result.visitors:,} visitors in the day; at 16:00, mean of {args.repeat}:")
    for name, ms in timings.items():
        print(f"  {name}: {ms:.1f} ms")
    whole, staffing = timings.values()
    print(f"  staffing share of the check: {staffing / whole:.0%}")


if __name__ == "__main__":
    main()
