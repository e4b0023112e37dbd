"""What the ETA adds to an issue: the mixed hall with its windows busy and a normal queue,
issues interleaved with calls, timed with the forecast and without it in the same run.

    .venv/bin/python benchmarks/eta_issue_cost.py --rounds 300 --waiting 30

Each round: one issue timed with the ETA (the lean read of the windows serving its service,
after a call moved the hall on, so no cached read helps), one without it (the same hall,
``answer_issues_without_eta``), then a window finishes and calls the next. Figures in
docs/SIMULATION.md, "Waiting times (ETA)".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time as wallclock
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hall_server.services import forecast as fc  # noqa: E402
from hall_server.services.context import HallContext  # noqa: E402
from hall_server.services.tickets import IssueRequest, issue_ticket  # noqa: E402
from hall_server.services.windows import WindowCommand, window_action  # noqa: E402
from hall_server.simulation.engine import KIOSK, simulated_hall  # noqa: E402
from hall_server.simulation.scenario import scenario_from  # noqa: E402

HERE = ROOT / "benchmarks" / "simulation"
MONDAY = date(2026, 12, 7)
SERVICES = ("shebao", "yibao", "budongchan")


def rush(rounds: int) -> None:
    """What issue_throughput.py drives over HTTP, in process: issues in a row on the bench
    hall, whose windows are closed (every queue grows long)."""
    scenario = scenario_from({"hall": "../bench_hall.toml", "day": MONDAY.isoformat()}, HERE,
                             MONDAY)  # fmt: skip
    with simulated_hall(scenario) as sim:
        ctx = sim.ctx
        now = datetime.combine(MONDAY, time(10), tzinfo=ctx.layout.tz).astimezone(UTC)
        with_eta, without = in_blocks(ctx, max(rounds // 50, 2), 50, timedelta(milliseconds=1),
                                      now, "abcd")  # fmt: skip
        report("rush", with_eta, without)


def in_blocks(ctx: HallContext, blocks: int, size: int, step: timedelta, now: datetime,
              services: Sequence[str]) -> tuple[list[float], list[float]]:  # fmt: skip
    """Issues in a row, in blocks of ``size`` with the ETA and ``size`` without by turns;
    the CPU time of each, (with, without)."""
    spent: dict[bool, list[float]] = {True: [], False: []}
    for block in range(blocks):
        quiet = block % 2 == 1
        fc.answer_issues_without_eta(ctx, quiet)
        for i in range(size):
            now += step
            started = wallclock.process_time()
            issue_ticket(ctx, KIOSK, IssueRequest(services[i % len(services)]), now=now)
            spent[not quiet].append(wallclock.process_time() - started)
    return spent[True], spent[False]


def report(what: str, with_eta: list[float], without: list[float]) -> None:
    ms_with, ms_without = statistics.mean(with_eta) * 1e3, statistics.mean(without) * 1e3
    print(f"{what}: issue with ETA {ms_with:.3f} ms CPU, without {ms_without:.3f} ms "
          f"(mean of {len(with_eta)}; +{ms_with - ms_without:.3f} ms)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--waiting", type=int, default=30)
    parser.add_argument("--in-a-row", action="store_true",
                        help="issues only (as at a kiosk rush): blocks of 20 with the ETA and "
                        "20 without, no window action between them")  # fmt: skip
    parser.add_argument("--rush", action="store_true",
                        help="the HTTP benchmark's hall (benchmarks/bench_hall.toml, windows "
                        "closed, four services) in process: blocks of 50 issues in a row "
                        "with the ETA and 50 without, CPU time")  # fmt: skip
    args = parser.parse_args()
    if args.rush:
        rush(args.rounds)
        return
    scenario = scenario_from({"hall": "eta_mixed_hall.toml", "day": MONDAY.isoformat()}, HERE,
                             MONDAY)  # fmt: skip
    with simulated_hall(scenario) as sim:
        ctx = sim.ctx
        fc.answer_issues_without_eta(ctx, False)  # this benchmark wants the issues' ETA
        now = datetime.combine(MONDAY, time(10), tzinfo=ctx.layout.tz).astimezone(UTC)

        def press(n: int, action: str) -> None:
            window_action(ctx, sim.windows[n].actor, n, WindowCommand(action), now=now)

        for n in sim.windows:
            press(n, "open")
        for i in range(args.waiting):
            issue_ticket(ctx, KIOSK, IssueRequest(SERVICES[i % 3]), now=now)
        for n in sim.windows:
            press(n, "call-next")
        with_eta: list[float] = []
        without: list[float] = []
        if args.in_a_row:
            report("in a row", *in_blocks(ctx, args.rounds // 20, 20, timedelta(milliseconds=50),
                                          now, SERVICES))  # fmt: skip
            return
        for i in range(args.rounds):
            now += timedelta(seconds=20)
            service = SERVICES[i % 3]
            for quiet, into in ((False, with_eta), (True, without)):
                fc.answer_issues_without_eta(ctx, quiet)
                started = wallclock.perf_counter()
                issue_ticket(ctx, KIOSK, IssueRequest(service), now=now)
                into.append(wallclock.perf_counter() - started)
            for k in (0, 1):  # two visits end as two tickets came: the queue stays as long
                n = 1 + (2 * i + k) % len(sim.windows)
                press(n, "finish")
                press(n, "call-next")  # the hall moves on: the next issue reads it afresh
        ms_with, ms_without = statistics.median(with_eta) * 1e3, statistics.median(without) * 1e3
        print(f"issue with ETA {ms_with:.2f} ms, without {ms_without:.2f} ms "
              f"(median of {args.rounds}; x{ms_with / ms_without:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
