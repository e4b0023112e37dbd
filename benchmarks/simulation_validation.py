"""The simulator against queueing theory and an independent simulator (docs/SIMULATION.md).

For M/M/c settings (one service open round the clock, c identical windows, FIFO: the hall of
benchmarks/simulation/mmc_hall.toml), ``hall simulate``'s days — every ticket issued, called
and finished through the real services — are compared with Erlang C's closed forms and with
ciw (PyPI) on the same λ, μ and c. Each simulated day is one replication; the waits of the
visitors who came between 02:00 and 22:00 are its sample (the queue is in its steady state
then, and all of them are called before the windows close at 23:59).

    .venv/bin/python benchmarks/simulation_validation.py [--days 12] [--charts docs/simulation]

Prints a Markdown table (and writes PNG charts with --charts; matplotlib, in the bench extra).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hall_server.domain import erlang  # noqa: E402
from hall_server.simulation.engine import simulate  # noqa: E402
from hall_server.simulation.scenario import scenario_from  # noqa: E402

HALL = ROOT / "benchmarks" / "simulation" / "mmc_hall.toml"
DAY = date(2026, 11, 23)
# (windows, arrivals per hour, mean handling in seconds): loads from ρ = 0.5 to 0.9.
SETTINGS = [(1, 10, 180), (2, 30, 180), (3, 45, 180), (4, 60, 216), (6, 80, 243),
            (8, 120, 216)]  # fmt: skip
TAIL_S = 300  # P(wait > 5 minutes)
Z99 = 2.576


def interval(samples: list[float]) -> tuple[float, float]:
    """Mean and 99 % confidence half-width over replications."""
    return statistics.mean(samples), Z99 * statistics.stdev(samples) / math.sqrt(len(samples))


def ours(c: int, per_h: float, handle: float, days: int, seed: int) -> dict[str, Any]:
    data = {"hall": str(HALL), "day": DAY.isoformat(), "days": days, "seed": seed,
            "arrivals": {"q": {"rate": per_h}}, "handling": {"q": {"mean_s": handle}},
            "windows": {"only": list(range(1, c + 1))}}  # fmt: skip
    started = time.perf_counter()
    result = simulate(scenario_from(data, ROOT, DAY))
    wall = time.perf_counter() - started
    means, tails, waits = [], [], []
    for day in result.days:
        lo, hi = day.start + timedelta(hours=2), day.start + timedelta(hours=22)
        sample = [v.waits_s[0] for v in day.visits if lo <= v.arrive < hi]
        means.append(statistics.mean(sample))
        tails.append(sum(w > TAIL_S for w in sample) / len(sample))
        waits += sample
    return {"means": means, "tails": tails, "waits": waits, "tickets": result.tickets,
            "wall_s": wall}  # fmt: skip


def theirs(c: int, per_h: float, handle: float, days: int, seed: int) -> dict[str, Any]:
    import ciw

    means, tails = [], []
    for day in range(days):
        ciw.seed(seed * 1000 + day)
        network = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(per_h / 3600)],
            service_distributions=[ciw.dists.Exponential(1 / handle)],
            number_of_servers=[c],
        )
        simulation = ciw.Simulation(network)
        simulation.simulate_until_max_time(24 * 3600)
        sample = [r.waiting_time for r in simulation.get_all_records()
                  if 2 * 3600 <= r.arrival_date < 22 * 3600]  # fmt: skip
        means.append(statistics.mean(sample))
        tails.append(sum(w > TAIL_S for w in sample) / len(sample))
    return {"means": means, "tails": tails}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=12, help="replications per setting")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--charts", type=Path, default=None, help="folder for PNG charts")
    args = parser.parse_args()
    rows, curves = [], []
    print("| c | λ /h | handling s | ρ | Erlang C mean wait s | ours (99 % CI) | ciw (99 % CI) "
          "| Erlang C P(W>5 min) | ours | ciw | agree |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---|---|---:|---|---|---|")
    total_tickets = total_wall = 0.0
    for c, per_h, handle in SETTINGS:
        load = per_h / 3600 * handle
        a = ours(c, per_h, handle, args.days, args.seed)
        b = theirs(c, per_h, handle, args.days, args.seed)
        total_tickets += a["tickets"]
        total_wall += a["wall_s"]
        theory_mean = erlang.mean_wait_s(c, load, handle)
        theory_tail = erlang.wait_exceeds(c, load, handle, TAIL_S)
        m, hm = interval(a["means"])
        t, ht = interval(a["tails"])
        cm, chm = interval(b["means"])
        ct, cht = interval(b["tails"])
        agree = abs(m - theory_mean) <= hm and abs(t - theory_tail) <= ht
        agree_ciw = abs(m - cm) <= Z99 * math.sqrt((hm / Z99) ** 2 + (chm / Z99) ** 2)
        verdict = ("yes" if agree else "NO") + " / " + ("yes" if agree_ciw else "NO")
        print(f"| {c} | {per_h} | {handle} | {load / c:.2f} | {theory_mean:.1f} "
              f"| {m:.1f} ± {hm:.1f} "
              f"| {cm:.1f} ± {chm:.1f} | {theory_tail:.3f} | {t:.3f} ± {ht:.3f} "
              f"| {ct:.3f} ± {cht:.3f} | {verdict} |", flush=True)  # fmt: skip
        rows.append((c, load / c, theory_mean, m, hm, cm, chm))
        curves.append((c, per_h, handle, a["waits"]))
    print(f"\n{args.days} days per setting; {total_tickets:,.0f} tickets through the services in "
          f"{total_wall:.1f} s ({total_tickets / total_wall:,.0f} tickets/s); 'agree': ours "
          "within its 99 % interval of Erlang C (mean and tail) / of ciw (mean)")  # fmt: skip
    if args.charts is not None:
        charts(args.charts, rows, curves)


def charts(folder: Path, rows: list[tuple[Any, ...]], curves: list[tuple[Any, ...]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    x = range(len(rows))
    labels = [f"c={c}\nρ={rho:.2f}" for c, rho, *_ in rows]
    ax.bar([i - 0.27 for i in x], [r[2] for r in rows], width=0.27, label="Erlang C")
    ax.bar(list(x), [r[3] for r in rows], width=0.27, yerr=[r[4] for r in rows],
           label="hall simulate (99% CI)")  # fmt: skip
    ax.bar([i + 0.27 for i in x], [r[5] for r in rows], width=0.27, yerr=[r[6] for r in rows],
           label="ciw (99% CI)")  # fmt: skip
    ax.set_xticks(list(x), labels)
    ax.set_ylabel("mean wait (s)")
    ax.set_title("Mean wait: simulator vs Erlang C vs ciw (M/M/c)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "validation_mean_wait.png")
    plt.close(fig)

    c, per_h, handle, waits = curves[len(curves) // 2]
    load = per_h / 3600 * handle
    ts = [i * 30 for i in range(41)]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax.plot([t / 60 for t in ts], [erlang.wait_exceeds(c, load, handle, t) for t in ts],
            label="Erlang C", linewidth=2)  # fmt: skip
    ax.plot([t / 60 for t in ts], [sum(w > t for w in waits) / len(waits) for t in ts],
            label="hall simulate", linestyle="--", linewidth=2)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("t (minutes)")
    ax.set_ylabel("P(wait > t)")
    ax.set_title(f"Wait distribution, c={c}, λ={per_h}/h, handling {handle} s (ρ={load / c:.2f})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "validation_wait_tail.png")
    plt.close(fig)
    print(f"charts written to {folder}")


if __name__ == "__main__":
    main()
