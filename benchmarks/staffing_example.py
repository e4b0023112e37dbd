"""The example staffing plan of docs/SIMULATION.md: four weeks of simulated history for the
demo hall, then ``advise`` on that database (what ``hall advise`` prints).

    .venv/bin/python benchmarks/staffing_example.py [--weeks 4] [--check-days 3] [--json]

Twenty weekdays of a busy demo-hall day (the arrivals below, by hour: a morning peak and a
smaller afternoon one) run through the real services into one scratch database; the plan is
then made for the Monday after, from the four Mondays before it, and checked by simulation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hall_server.commands import plan_table
from hall_server.simulation.engine import simulated_hall
from hall_server.simulation.scenario import scenario_from
from hall_server.simulation.staffing import advise

DEMO = Path(__file__).resolve().parents[1] / "config" / "halls" / "demo.toml"
FIRST = date(2026, 11, 2)  # a Monday
# Visitors per hour by local hour, as a weekday at a busy city hall: peaks at 9-10 and 14-15.
SHAPE = {8: 0.6, 9: 1.4, 10: 1.3, 11: 1.0, 13: 0.7, 14: 1.2, 15: 1.0, 16: 0.8, 17: 0.3}
BASE = {"shebao": 6, "yibao": 8, "huji": 7, "churujing": 6, "gongjijin": 5,
        "budongchan": 3, "shuiwu": 4, "qiye": 1.5, "jiaoguan": 6}  # fmt: skip
HANDLING = {"shebao": 600, "yibao": 420, "huji": 540, "churujing": 480, "gongjijin": 660,
            "budongchan": 1200, "shuiwu": 720, "qiye": 1500, "jiaoguan": 420}  # fmt: skip


def history_scenario(weeks: int):  # type: ignore[no-untyped-def]
    data = {
        "hall": str(DEMO),
        "day": FIRST.isoformat(),
        "seed": 11,
        "arrivals": {code: {f"{h:02d}": per_h * f for h, f in SHAPE.items()}
                     for code, per_h in BASE.items()},
        "handling": {code: {"mean_s": s, "dist": "lognormal", "cv": 0.7}
                     for code, s in HANDLING.items()},
        "visitors": {"no_show": 0.04, "priority": 0.05},
    }  # fmt: skip
    return scenario_from(data, Path("."), FIRST)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--check-days", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    with simulated_hall(history_scenario(args.weeks)) as sim:
        days = [FIRST + timedelta(days=d) for d in range(7 * args.weeks) if (d % 7) < 5]
        tickets = 0
        for n, day in enumerate(days):
            tickets += sim.run_day(day, 11 + n).visitors
        history_s = time.perf_counter() - started
        target = FIRST + timedelta(weeks=args.weeks)
        started = time.perf_counter()
        plan = advise(sim.ctx, target, weeks=args.weeks, check_days=args.check_days)
        advise_s = time.perf_counter() - started
    if args.json:
        print(json.dumps(plan.json(), ensure_ascii=False, indent=2))
        return
    print(f"history: {len(days)} weekdays, {tickets:,} visitors, {history_s:.1f} s; "
          f"plan for {target} in {advise_s:.1f} s")  # fmt: skip
    print(plan_table(plan.json()))


if __name__ == "__main__":
    main()
