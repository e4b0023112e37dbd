"""Tickets issued per second over HTTP: wrk drives POST /api/v1/tickets against a real server.

Target: >= 1,000 tickets/s with p99 < 25 ms, and no response other than 201.

    .venv/bin/python benchmarks/issue_throughput.py --duration 20
    .venv/bin/python benchmarks/issue_throughput.py --modes gevent --db sqlite,postgres
    .venv/bin/python benchmarks/issue_throughput.py --modes gevent --profile /tmp/prof
    .venv/bin/python benchmarks/issue_throughput.py --modes gevent --workers 2
    .venv/bin/python benchmarks/issue_throughput.py --modes gevent --sync full,normal --repeat 2

Each (async mode, database) pair gets a fresh server and database. wrk runs one thread with
a few keep-alive connections; wrk is closed-loop, so its latencies are those of requests
that were not queued behind a stalled one (no coordinated-omission correction).

On PostgreSQL each run also measures the raw limit of the same server right after it
(``pg_raw_limit.py``: a counter row updated and a ticket row inserted per durable
transaction, from one connection, and from N connections on N rows) and reports the
server's share of the larger.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from live_hall import (
    LiveHall,
    check_hall_open,
    cpu_seconds,
    http_json,
    live_hall,
    load_average,
    machine,
    print_profile,
    profiled,
    wait_until_quiet,
)
from pg_raw_limit import raw_limit

HERE = Path(__file__).resolve().parent
LUA = HERE / "issue.lua"
SERVICES = "a,b,c,d"
TARGET_RPS, TARGET_P99_MS = 1000.0, 25.0


def run_wrk(hall: LiveHall, *, duration_s: int, connections: int, threads: int) -> dict[str, Any]:
    """Drive the issue endpoint for ``duration_s`` and return wrk's numbers."""
    env = {**hall.env, "BENCH_TOKEN": hall.tokens["bench-kiosk"], "BENCH_SERVICES": SERVICES}
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--timeout", "5s",
        "-s", str(LUA), f"{hall.base_url}/api/v1/tickets",
    ]  # fmt: skip
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=duration_s + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}{done.stderr}")


def one_run(mode: str, db: str, args: argparse.Namespace, sync: str = "") -> dict[str, Any]:
    """Fresh server on ``db`` in ``mode``: warm up, measure, check every ticket was issued.

    ``sync`` is SQLite's commit mode (server.sqlite_synchronous); empty: the default (full).
    """
    devices = {"bench-kiosk": "kiosk"}
    if sync:
        os.environ["HALL_SQLITE_SYNCHRONOUS"] = sync  # the server inherits it
    with live_hall(async_mode=mode, db=db, devices=devices, workers=args.workers) as hall:
        warm = run_wrk(hall, duration_s=args.warmup, connections=args.connections, threads=1)
        folded = Path(args.profile) / f"issue-{mode}-{db}.folded" if args.profile else None
        busy_before = wait_until_quiet(args.wait_quiet)
        load_before, cpu_before = load_average(), cpu_seconds(hall.pid)
        with profiled(hall.pid, folded):
            result = run_wrk(
                hall, duration_s=args.duration, connections=args.connections, threads=1
            )
        server_cpu = cpu_seconds(hall.pid) - cpu_before
        status, services = http_json(
            "GET", f"{hall.base_url}/api/v1/services", token=hall.tokens["bench-kiosk"]
        )
        waiting = sum(s.get("waiting", 0) for s in services["services"]) if status == 200 else -1
        result.update(server_cpu_ms_per_req=1000 * server_cpu / max(result["requests"], 1),
                      server_cpu_share=server_cpu / (result["duration_us"] / 1e6),
                      load_before=load_before, load_after=load_average(),
                      busy_before=busy_before)  # fmt: skip
        result.update(mode=mode, db=db, workers=args.workers, sync=sync or "full",
                      connections=args.connections, waiting_after=waiting,
                      warmup_requests=warm["requests"])  # fmt: skip
        if db == "postgres" and args.raw_s:  # the same server, the hall idle meanwhile
            url = hall.env["HALL_DATABASE_URL"]
            alone = raw_limit(url, duration_s=args.raw_s, connections=1)
            rows = raw_limit(url, duration_s=args.raw_s, connections=args.connections,
                             counters=args.connections)  # fmt: skip
            result.update(raw_one_row_tps=alone["raw_tps"], raw_many_rows_tps=rows["raw_tps"])
            result["share_of_raw"] = result["rps"] / max(alone["raw_tps"], rows["raw_tps"])
        # wrk does not count the answers still in flight when a run stops: a few per connection
        seen = warm["requests"] + result["requests"] - warm["non2xx"] - result["non2xx"]
        if not 0 <= waiting - seen <= 2 * args.connections:
            result["note"] = f"{waiting} tickets waiting but wrk saw {seen} issued"
        return result


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| async mode | database | sync | workers | conns | tickets/s | p50 ms | p90 ms | p99 ms "
        "| max ms "
        "| non-2xx | socket errors | server CPU ms/ticket | server CPU busy "
        "| machine busy before | target | raw: 1 conn, 1 row | raw: N conns, N rows "
        "| share of raw |"
        "\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for r in results:
        lat = r["latency_us"]
        errors = sum(r["socket_errors"].values())
        ok = r["rps"] >= TARGET_RPS and lat["p99"] / 1000 < TARGET_P99_MS and r["non2xx"] == 0
        rows.append(
            f"| {r['mode']} | {r['db']} | {r.get('sync', 'full')} | {r.get('workers', 1)} "
            f"| {r['connections']} "
            f"| {r['rps']:.0f} "
            f"| {lat['p50'] / 1000:.1f} | {lat['p90'] / 1000:.1f} | {lat['p99'] / 1000:.1f} "
            f"| {lat['max'] / 1000:.1f} | {r['non2xx']} | {errors} "
            f"| {r['server_cpu_ms_per_req']:.2f} | {100 * r['server_cpu_share']:.0f}% "
            f"| {100 * r['busy_before']:.0f}% | {'met' if ok else 'MISSED'} "
            + (
                f"| {r['raw_one_row_tps']:.0f} | {r['raw_many_rows_tps']:.0f} "
                f"| {100 * r['share_of_raw']:.0f}% |"
                if "share_of_raw" in r
                else "| - | - | - |"
            )
        )
    return "\n".join([head, *rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of load before measuring")
    parser.add_argument("--connections", type=int, default=8, help="wrk keep-alive connections")
    parser.add_argument("--modes", default="gevent,threading", help="async modes to compare")
    parser.add_argument("--db", default="sqlite", help="sqlite, postgres or both, comma-separated")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (>1 also starts a Redis)"
    )
    parser.add_argument(
        "--sync", default="", help="SQLite commit modes to compare: full, normal or full,normal"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every combination")
    parser.add_argument("--profile", help="folder for py-spy folded stacks of each run")
    parser.add_argument(
        "--raw-s", type=float, default=8.0,
        help="PostgreSQL: seconds of each raw-limit run on the same server (0: none)",
    )  # fmt: skip
    parser.add_argument("--json", help="write every result to this file")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="seconds to wait, before each run, for other work on the machine to stop",
    )
    args = parser.parse_args()
    if not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be 1-600 s and --warmup 0-60 s")
    if not 1 <= args.workers <= 8:
        parser.error("--workers must be 1-8")
    if args.workers > 1 and "threading" in args.modes.split(","):
        parser.error("several workers need gevent: --modes gevent")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install wrk)")
    modes = [m for m in args.modes.split(",") if m]
    dbs = [d for d in args.db.split(",") if d]
    syncs = [s for s in args.sync.split(",") if s] or [""]
    if not set(syncs) <= {"", "full", "normal"} or not 1 <= args.repeat <= 5:
        parser.error("--sync takes full and/or normal; --repeat 1-5")
    runs = len(modes) * len(dbs) * len(syncs) * args.repeat
    check_hall_open(runs * (args.duration + args.warmup + 30))
    print(json.dumps(machine()))
    results = []
    # Rounds interleave the combinations, so that a noisy minute hurts them alike.
    for db, mode, sync in [(d, m, s) for _ in range(args.repeat) for d in dbs for m in modes
                           for s in syncs]:  # fmt: skip
        started = time.monotonic()
        result = one_run(mode, db, args, sync)
        result["wall_s"] = round(time.monotonic() - started, 1)
        results.append(result)
        print(json.dumps(result), flush=True)
        if args.profile:
            print_profile(Path(args.profile) / f"issue-{mode}-{db}.folded")
    print()
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
