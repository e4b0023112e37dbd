"""How right the hall's waiting times are: our ETA against the naive one and the best possible.

Drives the simulator (the real services on a simulated clock) and, at each visitor's
arrival, right after the ticket is issued, records:

- **naive**: people of the same service ahead × the configured mean handling / open windows
  that list the service (what the hall said before);
- **ours**: the forecast of ``hall_server/services/forecast.py`` (median and 80 % range);
- **best** (M/M/c days only): the median wait given the hall's exact state — with q ahead
  and every one of the c windows busy, the wait is the time to the (q+1)-th departure at
  rate c·μ, an Erlang(q+1, c·μ) whose median is taken (0 when a window is free);

then compares each with the visitor's actual wait (to the first call).

    .venv/bin/python benchmarks/eta_accuracy.py            # both scenarios, 5 days each
    .venv/bin/python benchmarks/eta_accuracy.py --days 2 --scenario mixed

Results go to docs/SIMULATION.md, "Waiting times (ETA)".
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as wallclock
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hall_server.domain.errors import DomainError  # noqa: E402
from hall_server.domain.forecast import gamma_quantile  # noqa: E402
from hall_server.services import forecast as fc  # noqa: E402
from hall_server.services.tickets import IssueRequest, issue_ticket  # noqa: E402
from hall_server.services.visits import create_appointment  # noqa: E402
from hall_server.simulation.engine import KIOSK, Simulation, Visitor, simulated_hall  # noqa: E402
from hall_server.simulation.scenario import scenario_from  # noqa: E402

HERE = ROOT / "benchmarks" / "simulation"
MONDAY = date(2026, 12, 7)

MMC_MEAN_S = 300.0
LEAN = False  # --lean: the issue answer's read (the windows connected to the service)
SCENARIOS: dict[str, dict[str, Any]] = {
    # M/M/4 at ρ = 0.90: one service, exponential handling as configured, FIFO.
    "mmc": {
        "hall": "eta_mmc_hall.toml",
        "arrivals": {"a": {"rate": 43.2}},
        "handling": {"a": {"mean_s": MMC_MEAN_S}},
    },
    # Three services sharing six windows with weights (ρ ≈ 0.88), green channel 8 %,
    # appointments 10 % of 医保, no-shows 3 %, window 2 paused 20 minutes at 10:30, and
    # 社保's configured mean (4.2 min) 40 % below its real one (7 min).
    "mixed": {
        "hall": "eta_mixed_hall.toml",
        "arrivals": {"shebao": {"rate": 20}, "yibao": {"rate": 21}, "budongchan": {"rate": 8}},
        "handling": {
            "shebao": {"mean_s": 420, "dist": "lognormal", "cv": 0.7},
            "yibao": {"mean_s": 300, "dist": "lognormal", "cv": 0.7},
            "budongchan": {"mean_s": 600, "dist": "lognormal", "cv": 0.7},
        },
        "visitors": {"priority": 0.08, "no_show": 0.03},
        "pauses": [{"window": 2, "at": "10:30", "minutes": 20, "reason": "会议"}],
        "appointments": {"yibao": 0.10},
    },
}


@dataclass
class Record:
    visitor: Visitor
    naive_s: float | None
    ours_s: float | None
    low_s: float | None
    high_s: float | None
    best_s: float | None
    ahead: int


def _naive(hall: fc.HallNow, ctx: Any, tid: int) -> tuple[float | None, int]:
    me = next((c for c in hall.waiting if c.id == tid), None)
    if me is None:
        return 0.0, 0
    ahead = sum(1 for c in hall.waiting if c.service == me.service
                and (c.queued_at, c.id) < (me.queued_at, me.id))  # fmt: skip
    serving = sum(1 for w in hall.windows if w.state == "open" and me.service in w.weights)
    if serving == 0:
        return None, ahead
    return ahead * ctx.layout.service(me.service).avg_handle_s / serving, ahead


def _best(hall: fc.HallNow, tid: int) -> float | None:
    """Median wait in FIFO M/M/c given the exact state (only valid on the M/M/c scenario)."""
    me = next((c for c in hall.waiting if c.id == tid), None)
    if me is None:
        return 0.0
    ahead = sum(1 for c in hall.waiting if (c.queued_at, c.id) < (me.queued_at, me.id))
    open_windows = [w for w in hall.windows if w.state == "open"]
    if any(w.busy_service is None for w in open_windows):
        return 0.0
    c = len(open_windows)
    return MMC_MEAN_S / c * gamma_quantile(float(ahead + 1), 0.5)


def run(name: str, days: int, seed: int) -> tuple[list[Record], dict[str, float]]:
    spec = dict(SCENARIOS[name])
    appointments = spec.pop("appointments", {})
    data = {**spec, "day": MONDAY.isoformat(), "days": days, "seed": seed}
    scenario = scenario_from(data, HERE, MONDAY)
    records: list[Record] = []
    cost = {"issue": 0.0, "read": 0.0, "forecast": 0.0, "n": 0, "waiting": 0}
    with simulated_hall(scenario) as sim:
        ctx = sim.ctx
        rng = random.Random(f"{seed}:appointments")
        booked = 0
        original = sim.arrive

        def arrive(visitor: Visitor) -> None:
            nonlocal booked
            share = appointments.get(visitor.service, 0.0)
            started = wallclock.perf_counter()
            if share and not visitor.priority and rng.random() < share:
                booked += 1
                code = f"Y{booked:05d}"
                slot = sim.now + timedelta(minutes=rng.choice((0, 5, 10, 15, 20)))
                end = slot + timedelta(minutes=30)
                create_appointment(ctx, sim.guide, service=visitor.service, code=code,
                                   slot_start=slot, slot_end=end)  # fmt: skip
                _issue_booked(sim, visitor, code)
            else:
                original(visitor)
            cost["issue"] += wallclock.perf_counter() - started
            if visitor.ticket_id is None:
                return
            if visitor.waits_s:  # called at once: every estimate says 0
                best0 = 0.0 if name == "mmc" else None
                records.append(Record(visitor, 0.0, 0.0, 0.0, 0.0, best0, 0))
                return
            with ctx.db.read() as session:
                connection = session.connection()
                t0 = wallclock.perf_counter()
                only = visitor.service if LEAN else None
                hall = fc.read_hall(ctx, connection, sim.now, for_service=only)
                t1 = wallclock.perf_counter()
                me = next(c for c in hall.waiting if c.id == visitor.ticket_id)
                eta = fc.forecast_ticket(hall, me, ctx)
                t2 = wallclock.perf_counter()
            cost["read"] += t1 - t0
            cost["forecast"] += t2 - t1
            cost["n"] += 1
            cost["waiting"] += len(hall.waiting)
            naive, ahead = _naive(hall, ctx, visitor.ticket_id)
            best = _best(hall, visitor.ticket_id) if name == "mmc" else None
            records.append(Record(
                visitor, naive, eta.median_s if eta else None, eta.low_s if eta else None,
                eta.high_s if eta else None, best, ahead,
            ))  # fmt: skip

        sim.arrive = arrive  # type: ignore[method-assign]
        for offset in range(days):
            sim.run_day(MONDAY + timedelta(days=offset), seed)
    return records, cost


def _issue_booked(sim: Simulation, visitor: Visitor, code: str) -> None:
    """What Simulation.arrive does, for a visitor checking in with an appointment code."""
    sim.calls += 1
    try:
        ticket = issue_ticket(sim.ctx, KIOSK, IssueRequest(visitor.service, appointment_code=code),
                              now=sim.now)  # fmt: skip
    except DomainError as error:
        visitor.refused = error.code
        return
    visitor.ticket_id, visitor.number = ticket["id"], ticket["number"]
    visitor.queued_at = sim.now
    sim._by_ticket[ticket["id"]] = visitor
    sim._wake(visitor.service)


def summary(records: list[Record]) -> dict[str, Any]:
    # Visitors still waiting when the windows closed were called the next morning (the
    # simulator keeps their tickets): they are left out, as the hall sends them home.
    done = [
        r
        for r in records
        if r.visitor.waits_s and r.ours_s is not None and r.visitor.waits_s[0] < 8 * 3600
    ]
    actual = [r.visitor.waits_s[0] for r in done]

    def mae(values: list[float | None]) -> float | None:
        pairs = [(v, a) for v, a in zip(values, actual, strict=True) if v is not None]
        if not pairs:
            return None
        return statistics.mean(abs(v - a) for v, a in pairs) / 60

    n = len(done)
    inside = sum(
        1
        for r, a in zip(done, actual, strict=True)
        if r.low_s is not None and r.high_s is not None and r.low_s <= a <= r.high_s
    )
    # visitors who found every window that may call them busy (told a wait above 0)
    busy = [(r, a) for r, a in zip(done, actual, strict=True) if (r.high_s or 0) > 0]
    inside_busy = sum(1 for r, a in busy if (r.low_s or 0) <= a <= (r.high_s or 0))
    late_point = sum(1 for r, a in zip(done, actual, strict=True) if a > (r.ours_s or 0) + 300)
    late_high = sum(1 for r, a in zip(done, actual, strict=True) if a > (r.high_s or 0) + 300)
    late_best = sum(1 for r, a in zip(done, actual, strict=True)
                    if r.best_s is not None and a > r.best_s + 300)  # fmt: skip
    late_naive = sum(1 for r, a in zip(done, actual, strict=True)
                     if r.naive_s is not None and a > r.naive_s + 300)  # fmt: skip
    waited = [r for r, a in zip(done, actual, strict=True) if a > 0]
    return {
        "visitors": n,
        "waited": len(waited),
        "mean_wait_min": statistics.mean(actual) / 60 if actual else 0.0,
        "mae_naive_min": mae([r.naive_s for r in done]),
        "mae_ours_min": mae([r.ours_s for r in done]),
        "mae_best_min": mae([r.best_s for r in done]),
        "inside_80": inside / n if n else 0.0,
        "told_wait": len(busy),
        "inside_80_told_wait": inside_busy / len(busy) if busy else 0.0,
        "mae_ours_told_wait_min": statistics.mean(abs((r.ours_s or 0) - a) for r, a in busy) / 60
        if busy
        else None,
        "mae_naive_told_wait_min": statistics.mean(abs((r.naive_s or 0) - a) for r, a in busy) / 60
        if busy
        else None,
        "late5_point": late_point / n if n else 0.0,
        "late5_high": late_high / n if n else 0.0,
        "late5_naive": late_naive / n if n else 0.0,
        "late5_best": late_best / n if n else 0.0,
    }


def forecast_cost(waiting: int, repeat: int = 200) -> float:
    """Milliseconds for one forecast of the last of ``waiting`` normal tickets over the mixed
    hall's six windows (three services, weights, every window busy), the replay alone."""
    from datetime import UTC, datetime

    from hall_server.domain.forecast import Handling, WindowNow, forecast
    from hall_server.domain.queueing import CallPolicy, Candidate

    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    weights = [{"a": 3, "b": 1}, {"a": 3, "b": 1}, {"b": 3, "c": 1}, {"b": 3, "a": 1},
               {"c": 3, "a": 1}, {"a": 1, "b": 1, "c": 2}]  # fmt: skip
    windows = [WindowNow(n + 1, w, busy_service="a", elapsed_s=60.0 * n)
               for n, w in enumerate(weights)]  # fmt: skip
    codes = ("a", "b", "c")
    tickets = [Candidate(i, codes[i % 3], now - timedelta(seconds=20 * (waiting - i)),
                         priority=i % 13 == 0) for i in range(waiting)]  # fmt: skip
    handling = {c: Handling(300.0 + 100 * i, 0.5) for i, c in enumerate(codes)}
    rates = {(c, g): 0.003 for c in codes for g in (False, True)}
    target = tickets[-1]
    started = wallclock.perf_counter()
    for _ in range(repeat):
        forecast(target, windows, tickets, handling, CallPolicy(3, 20), now, arrival_rates=rates)
    return (wallclock.perf_counter() - started) / repeat * 1e3


def report(name: str, days: int, seed: int) -> str:
    """Run one scenario and seed, print its figures; return its Markdown table row."""
    started = wallclock.perf_counter()
    records, cost = run(name, days, seed)
    s = summary(records)
    wall = wallclock.perf_counter() - started
    print(
        f"== {name}: {days} days, seed {seed}, {s['visitors']} visitors "
        f"({s['waited']} waited; mean wait {s['mean_wait_min']:.1f} min), {wall:.1f} s"
    )
    for key in ("mae_naive_min", "mae_ours_min", "mae_best_min"):
        value = s[key]
        print(f"  {key:16s} {'-' if value is None else f'{value:.2f}'}")
    if s["mae_naive_min"]:
        print(f"  ours / naive     {s['mae_ours_min'] / s['mae_naive_min']:.3f}")
    if s["mae_best_min"]:
        print(f"  ours / best      {s['mae_ours_min'] / s['mae_best_min']:.3f}")
    print(
        f"  inside 80% range {s['inside_80']:.1%} of all; {s['inside_80_told_wait']:.1%} of "
        f"the {s['told_wait']} told a wait (MAE ours {s['mae_ours_told_wait_min']:.2f}, "
        f"naive {s['mae_naive_told_wait_min']:.2f} min)"
    )
    print(
        f"  >5 min after ETA {s['late5_point']:.1%} (point), {s['late5_high']:.1%} "
        f"(range's upper end); naive {s['late5_naive']:.1%}, best {s['late5_best']:.1%}"
    )
    n = max(cost["n"], 1)
    issues = max(len(records), 1)
    print(f"  cost per ETA: read {cost['read'] / n * 1e3:.2f} ms + forecast "
          f"{cost['forecast'] / n * 1e3:.2f} ms (mean {cost['waiting'] / n:.0f} waiting); "
          f"an issue {cost['issue'] / issues * 1e3:.2f} ms in the same run")  # fmt: skip
    best = s["mae_best_min"]
    label = {"mmc": "M/M/4, ρ = 0.90", "mixed": "mixed"}[name]
    to_best = "—" if best is None else f"{s['mae_ours_min'] / best:.3f}"
    late_best = "—" if best is None else f"{s['late5_best']:.1%}"
    return (
        f"| {label} | {seed} | {s['visitors']:,} ({s['waited']:,}) | "
        f"{s['mae_naive_min']:.2f} / {s['mae_ours_min']:.2f} / "
        f"{'—' if best is None else f'{best:.2f}'} | "
        f"{s['mae_ours_min'] / s['mae_naive_min']:.3f} | "
        f"{to_best} | "
        f"{s['inside_80']:.1%} / {s['inside_80_told_wait']:.1%} | "
        f"{s['late5_point']:.1%} / {s['late5_high']:.1%} ({s['late5_naive']:.1%}; "
        f"{late_best}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), action="append")
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", help="several seeds, e.g. 1,2,3: ends with a Markdown table")
    parser.add_argument("--cost", action="store_true", help="also time the replay alone")
    parser.add_argument("--lean", action="store_true", help="the issue answer's lean read")
    args = parser.parse_args()
    global LEAN
    LEAN = args.lean
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [args.seed]
    rows: list[str] = []
    for seed in seeds:
        for name in args.scenario or ["mmc", "mixed"]:
            rows.append(report(name, args.days, seed))
    if args.seeds:
        print(
            "\n| scenario | seed | visitors (waited) | MAE naive / ours / best (min) | ours / "
            "naive | ours / best | in 80 % range: all / told a wait | > 5 min after the "
            "median / the range's top (naive; best) |"
        )
        print("|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))

    if args.cost:
        for waiting in (10, 30, 100, 400):
            print(f"  replay for the last of {waiting} waiting: {forecast_cost(waiting):.2f} ms")


if __name__ == "__main__":
    main()
