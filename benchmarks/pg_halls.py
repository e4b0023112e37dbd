"""Many halls on one PostgreSQL server: ten halls issuing at once against one hall.

A city runs the halls of its districts on one database server. Each hall's writes take
turns on that hall's row (its seq and numbers must stay gapless), but the writes of two
halls share no lock, so ten halls issuing at once should get about ten times the
turns of one hall, up to what the server and the CPUs allow. Measured here through the
hall's own issuing service (``issue_ticket``: rules, number, ticket, ETA, hall log), by
the same clients in both rounds:

- one hall: ``--clients`` threads (spread over ``--processes`` processes, as server
  processes would be) all issue in hall 1;
- ten halls: the same threads, thread i issuing in hall i (``--halls`` halls).

The raw limit of the same server is measured in the same run (``pg_raw_limit.py``: one
counter row shared by the clients, then one row each), and every hall's log and numbers
are checked afterwards (seq gapless, numbers unique).

    .venv/bin/python benchmarks/pg_halls.py --duration 15
    .venv/bin/python benchmarks/pg_halls.py --duration 12 --compare-shared

``--compare-shared`` adds a round of the ten halls with each process's halls taking turns on
one write connection, as the hall server did before (the baseline of the change).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pg_raw_limit import raw_limit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_TOML = HERE / "bench_hall.toml"
SERVICES = "abcd"


def hall_code(index: int) -> str:
    return f"bench{index:02d}"


def _settings(url: str, folder: str, code: str) -> Any:
    sys.path.insert(0, str(ROOT))
    from hall_server.settings import load_settings

    return load_settings({
        "config_path": str(BENCH_TOML),
        "server": {"database_url": url, "var_dir": folder, "secret_key": "bench-" + "x" * 40},
        "hall": {"code": code, "name": f"压测大厅{code[-2:]}"},
    })  # fmt: skip


def create_halls(url: str, folder: str, halls: int) -> None:
    """Create the schema and ``halls`` bench halls in one database."""
    sys.path.insert(0, str(ROOT))
    from hall_server.app import database_url
    from hall_server.services.setup import init_database

    for index in range(1, halls + 1):
        settings = _settings(url, folder, hall_code(index))
        db, _, _ = init_database(settings, database_url(settings))
        db.dispose()


def worker(
    url: str,
    folder: str,
    halls_of_threads: list[int],
    duration_s: float,
    start: Any,
    results: Any,
    shared: bool = False,
) -> None:
    """One process: a thread per entry of ``halls_of_threads``, each issuing in that hall."""
    import threading

    sys.path.insert(0, str(ROOT))
    from hall_server.app import database_url
    from hall_server.db import Database
    from hall_server.services.actors import Actor
    from hall_server.services.context import HallContext
    from hall_server.services.tickets import IssueRequest, issue_ticket

    settings = _settings(url, folder, hall_code(1))
    db = Database(database_url(settings))
    if shared:  # as before: the halls of a process took turns on one write connection
        per_hall = db.write_connection
        db.write_connection = lambda _hall=None, **kw: per_hall(None, **kw)  # type: ignore[method-assign]
    contexts = {h: HallContext(db, hall_code(h), secret="bench") for h in set(halls_of_threads)}
    actor = Actor(kind="device", id=None, name="压测取号机", role="kiosk")
    counts = [0] * len(halls_of_threads)
    latencies: list[list[float]] = [[] for _ in halls_of_threads]
    errors: list[str] = []
    stop = threading.Event()

    def issue(index: int, hall: int) -> None:
        ctx = contexts[hall]
        n = index
        try:
            while not stop.is_set():
                began = time.perf_counter()
                issue_ticket(ctx, actor, IssueRequest(service=SERVICES[n % len(SERVICES)]))
                latencies[index].append(time.perf_counter() - began)
                counts[index] += 1
                n += 1
        except Exception as error:  # reported to the parent
            errors.append(repr(error))
            stop.set()

    threads = [threading.Thread(target=issue, args=(i, h)) for i, h in enumerate(halls_of_threads)]
    start.wait()
    for thread in threads:
        thread.start()
    stop.wait(duration_s)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    db.dispose()
    results.put({"counts": counts, "latencies": [x for per in latencies for x in per],
                 "errors": errors})  # fmt: skip


def one_round(
    url: str,
    folder: str,
    halls_of_clients: list[int],
    args: argparse.Namespace,
    *,
    shared: bool = False,
) -> dict[str, Any]:
    """Run the clients (``halls_of_clients[i]``: client i's hall) over the processes."""
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(args.processes + 1)
    results = spawn.Queue()
    shares = [halls_of_clients[p :: args.processes] for p in range(args.processes)]
    processes = [
        spawn.Process(
            target=worker, args=(url, folder, share, args.duration, start, results, shared)
        )
        for share in shares
    ]
    for process in processes:
        process.start()
    start.wait(timeout=120)  # every process has its halls loaded
    began = time.monotonic()
    answers = [results.get(timeout=args.duration + 120) for _ in processes]
    elapsed = time.monotonic() - began
    for process in processes:
        process.join(timeout=30)
    errors = [e for a in answers for e in a["errors"]]
    if errors:
        raise RuntimeError(f"issuing failed: {errors[0]}")
    total = sum(sum(a["counts"]) for a in answers)
    latencies = sorted(x for a in answers for x in a["latencies"])

    def pct(p: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 1)

    return {"tickets_per_s": total / elapsed, "tickets": total, "halls": len(set(halls_of_clients)),
            "p50_ms": pct(50), "p99_ms": pct(99)}  # fmt: skip


def check_halls(url: str) -> dict[str, Any]:
    """Every hall's seq gapless from 1, its numbers unique per service and day."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        seqs = conn.execute(
            "SELECT h.code, h.last_seq, count(e.seq), min(e.seq), max(e.seq)"
            " FROM halls h LEFT JOIN hall_log e ON e.hall_id = h.id"
            " GROUP BY h.code, h.last_seq ORDER BY h.code"
        ).fetchall()
        repeated = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM tickets GROUP BY hall_id, service_id,"
            " business_day, number HAVING count(*) > 1) AS twice"
        ).fetchone()
    gapless = all(n == 0 or (low == 1 and high == n == last) for _, last, n, low, high in seqs)
    return {"seq_gapless_every_hall": gapless, "repeated_numbers": repeated[0] if repeated else 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per round")
    parser.add_argument("--halls", type=int, default=10, help="halls issuing at once")
    parser.add_argument("--clients", type=int, default=10, help="issuing threads in all")
    parser.add_argument("--processes", type=int, default=2, help="processes the threads run in")
    parser.add_argument("--raw-s", type=float, default=8.0, help="seconds of each raw run")
    parser.add_argument(
        "--compare-shared", action="store_true",
        help="a third round: the halls of a process on one write connection, as before",
    )  # fmt: skip
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    if not 1 <= args.duration <= 120 or not 2 <= args.halls <= 50:
        parser.error("--duration must be 1-120 s and --halls 2-50")
    if not args.halls <= args.clients <= 100 or not 1 <= args.processes <= args.clients:
        parser.error("--clients must be at least --halls (at most 100), --processes 1-clients")
    from live_hall import machine, postgres

    print(json.dumps(machine()), flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="hall-halls-") as folder,
        postgres(Path(folder)) as url,
    ):
        create_halls(url, folder, args.halls)
        one = one_round(url, folder, [1] * args.clients, args)
        print(json.dumps({"round": "one hall", **one}), flush=True)
        many = one_round(url, folder, [1 + i % args.halls for i in range(args.clients)], args)
        print(json.dumps({"round": f"{args.halls} halls", **many}), flush=True)
        before = None
        if args.compare_shared:
            halls = [1 + i % args.halls for i in range(args.clients)]
            before = one_round(url, folder, halls, args, shared=True)
            print(json.dumps({"round": f"{args.halls} halls, shared", **before}), flush=True)
        raw_one = raw_limit(url, duration_s=args.raw_s, connections=args.clients)
        raw_many = raw_limit(url, duration_s=args.raw_s, connections=args.clients,
                             counters=args.halls)  # fmt: skip
        checked = check_halls(url)
    result = {
        "one_hall": one,
        "many_halls": many,
        "ratio": many["tickets_per_s"] / one["tickets_per_s"],
        "raw_one_row_tps": raw_one["raw_tps"],
        "raw_many_rows_tps": raw_many["raw_tps"],
        "raw_ratio": raw_many["raw_tps"] / raw_one["raw_tps"],
        **checked,
    }
    if before is not None:
        result["shared_connection"] = before
        result["ratio_shared"] = before["tickets_per_s"] / one["tickets_per_s"]
    print(json.dumps(result), flush=True)
    print(
        f"\n| round | halls | tickets/s | p50 ms | p99 ms |\n|---|---|---|---|---|\n"
        f"| one hall | 1 | {one['tickets_per_s']:.0f} | {one['p50_ms']} | {one['p99_ms']} |\n"
        f"| {args.halls} halls | {args.halls} | {many['tickets_per_s']:.0f} | {many['p50_ms']} "
        f"| {many['p99_ms']} |\n"
        + (
            f"| {args.halls} halls, one write connection per process (before) | {args.halls} "
            f"| {before['tickets_per_s']:.0f} | {before['p50_ms']} | {before['p99_ms']} |\n"
            if before is not None
            else ""
        )
        + f"\n"
        f"{args.halls} halls / one hall: {result['ratio']:.2f}x; raw limit of the server, "
        f"{args.clients} connections: one row {raw_one['raw_tps']:.0f}/s, {args.halls} rows "
        f"{raw_many['raw_tps']:.0f}/s ({result['raw_ratio']:.2f}x); every hall's seq gapless: "
        f"{checked['seq_gapless_every_hall']}, repeated numbers: {checked['repeated_numbers']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
