"""Call-next, snapshot, services list and issuing with a long queue, against an empty day.

Two ``hall serve`` (SQLite, gevent) of the bench hall side by side, one client on a
keep-alive connection to each. Into one, ``--fill`` waiting tickets are inserted straight
into the database through the same schema (numbers, tokens, queue times spread over the
morning; the day counters' last number, issued and waiting counts kept right); the other
is an empty day. The same requests then go to both in turns, so the machine's other work
weighs on both alike:

- ``call-next`` p50 (window 1, the general window; each call is finished, untimed);
- ``GET /snapshot`` (staff) and ``GET /services`` (kiosk) p50;
- issuing: p50 and tickets/s from one client;
- the visitor loop, issue -> call-next -> finish, from one client: loops/s.

    .venv/bin/python benchmarks/long_queue.py --fill 200000
    .venv/bin/python benchmarks/long_queue.py --fill 200000 --code /tmp/base   # another checkout

``--code`` serves another checkout of the hall (its ``hall_server`` first on PYTHONPATH), so
the figures of an older commit come from the same script on the same machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_hall import (
    HALL_TZ,
    check_hall_open,
    live_hall,
    load_average,
    print_profile,
    profiled,
)

SERVICES = ("a", "b", "c", "d")


class Client:
    """One keep-alive HTTP connection to the hall."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=60)

    def send(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.connection.request(method, f"/api/v1{path}", body=data, headers=headers)
        answer = self.connection.getresponse()
        return answer.status, json.loads(answer.read() or b"null")

    def timed(self, method: str, path: str, token: str, body: Any = None) -> tuple[float, Any]:
        started = time.perf_counter()
        status, answer = self.send(method, path, token, body)
        spent = time.perf_counter() - started
        if status >= 300:
            raise SystemExit(f"{method} {path} answered {status}: {answer}")
        return spent, answer


def measure(
    halls: list[tuple[Client, dict[str, str]]], rounds: int, loop_s: float
) -> list[dict[str, float]]:
    """p50 (ms) of each read and action, and the issue and visitor-loop rates, per hall.

    The halls take turns request by request (rates: slice by slice), so that whatever else
    the machine does meanwhile weighs on both alike.
    """
    names = ("call-next", "snapshot", "services", "issue")
    times: list[dict[str, list[float]]] = [{name: [] for name in names} for _ in halls]
    for n in range(rounds):
        for (client, tokens), spent in zip(halls, times, strict=True):
            kiosk, staff = tokens["bench-kiosk"], tokens["clerk"]
            spent["issue"].append(client.timed("POST", "/tickets", kiosk,
                                               {"service": SERVICES[n % 4]})[0])  # fmt: skip
            took, answer = client.timed("POST", "/windows/1/call-next", staff)
            spent["call-next"].append(took)
            if answer["ticket"] is not None:
                client.timed("POST", "/windows/1/finish", staff)
            spent["snapshot"].append(client.timed("GET", "/snapshot", staff)[0])
            spent["services"].append(client.timed("GET", "/services", kiosk)[0])
    results = [{name: 1000 * statistics.median(v) for name, v in t.items()} for t in times]
    issued = [0.0] * len(halls)
    looped = [0.0] * len(halls)
    busy = [0.0] * len(halls)
    busy_loop = [0.0] * len(halls)
    slices = max(1, round(loop_s))
    for _ in range(slices):
        for i, (client, tokens) in enumerate(halls):
            kiosk, staff = tokens["bench-kiosk"], tokens["clerk"]
            started = time.perf_counter()
            while time.perf_counter() - started < 0.5:
                client.timed("POST", "/tickets", kiosk, {"service": SERVICES[int(issued[i]) % 4]})
                issued[i] += 1
            busy[i] += time.perf_counter() - started
            started = time.perf_counter()
            while time.perf_counter() - started < 1.0:
                client.timed("POST", "/tickets", kiosk, {"service": SERVICES[int(looped[i]) % 4]})
                client.timed("POST", "/windows/1/call-next", staff)
                client.timed("POST", "/windows/1/finish", staff)
                looped[i] += 1
            busy_loop[i] += time.perf_counter() - started
    for i, result in enumerate(results):
        result["issue_per_s"] = issued[i] / busy[i]
        result["loops_per_s"] = looped[i] / busy_loop[i]
    return results


def fill(db_path: str, count: int) -> float:
    """Insert ``count`` waiting tickets for today, spread over the services; return seconds."""
    started = time.perf_counter()
    connection = sqlite3.connect(db_path, timeout=60, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    (hall_id,) = connection.execute("SELECT id FROM halls WHERE code = 'bench'").fetchone()
    services = connection.execute(
        "SELECT id, prefix, digits FROM services WHERE hall_id = ? ORDER BY sort_order, id",
        (hall_id,),
    ).fetchall()
    now = datetime.now(UTC)
    day = now.astimezone(HALL_TZ).date().isoformat()
    first = now - timedelta(hours=3)
    rows, counts = [], {}
    for service_id, _prefix, _digits in services:
        found = connection.execute(
            "SELECT last_number, issued, waiting FROM counters"
            " WHERE service_id = ? AND business_day = ?",
            (service_id, day),
        ).fetchone()
        counts[service_id] = [found[0] or 0, found[1], found[2]] if found else [0, 0, 0]
    for n in range(count):
        service_id, prefix, digits = services[n % len(services)]
        count_row = counts[service_id]
        count_row[0] += 1
        count_row[1] += 1
        count_row[2] += 1
        at = (first + timedelta(microseconds=n * 50_000)).replace(tzinfo=None)
        stamp = at.isoformat(sep=" ", timespec="microseconds")
        rows.append((hall_id, service_id, day, f"{prefix}{count_row[0]:0{digits}d}",
                     secrets.token_urlsafe(24), stamp, stamp))  # fmt: skip
    connection.executemany(
        "INSERT INTO tickets (hall_id, service_id, business_day, number, token, state,"
        " priority, priority_kind, issued_at, queued_at, call_count, recalls, hold_count,"
        " transfer_count, no_show_count, handle_s, phone_masked, id_masked, case_no, version)"
        " VALUES (?, ?, ?, ?, ?, 'waiting', 0, '', ?, ?, 0, 0, 0, 0, 0, 0.0, '', '', '', 1)",
        rows,
    )
    for service_id, (last, issued, waiting) in counts.items():
        changed = connection.execute(
            "UPDATE counters SET last_number = ?, issued = ?, waiting = ?"
            " WHERE service_id = ? AND business_day = ?",
            (last, issued, waiting, service_id, day),
        ).rowcount
        if not changed:
            connection.execute(
                "INSERT INTO counters (service_id, business_day, hall_id, last_number, issued,"
                " waiting) VALUES (?, ?, ?, ?, ?, ?)",
                (service_id, day, hall_id, last, issued, waiting),
            )
    connection.execute("COMMIT")
    # Into the database file now, as the server's checkpointer would within seconds: the
    # measurement then sees the long queue, not a 200,000-row WAL being copied meanwhile.
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fill", type=int, default=200_000, help="tickets waiting (1-1000000)")
    parser.add_argument("--rounds", type=int, default=200, help="timed requests of each kind")
    parser.add_argument("--loop-s", type=float, default=10.0, help="seconds of visitor loops")
    parser.add_argument("--code", help="serve this checkout of the hall instead")
    parser.add_argument("--synchronous", help="HALL_SQLITE_SYNCHRONOUS for the server")
    parser.add_argument("--profile", help="py-spy folded stacks of the long-queue phase here")
    args = parser.parse_args()
    if not 1 <= args.fill <= 1_000_000:
        parser.error("--fill must be 1-1000000")
    check_hall_open(60 + args.fill / 20_000)
    staff_login = {"login": "clerk", "password": "clerk-password"}
    if args.code:
        os.environ["PYTHONPATH"] = str(Path(args.code).resolve())
    if args.synchronous:
        os.environ["HALL_SQLITE_SYNCHRONOUS"] = args.synchronous
    devices = {"bench-kiosk": "kiosk"}
    staff = {"clerk": "clerk-password"}
    with (
        live_hall(async_mode="gevent", db="sqlite", devices=devices, staff=staff) as empty_hall,
        live_hall(async_mode="gevent", db="sqlite", devices=devices, staff=staff) as long_hall,
    ):
        db_path = long_hall.env["HALL_DATABASE_URL"].split("///", 1)[1]
        seconds = fill(db_path, args.fill)
        print(f"filled {args.fill:,} waiting tickets in {seconds:.1f} s", flush=True)
        halls = []
        for hall in (empty_hall, long_hall):
            client = Client(hall.base_url)
            status, login = client.send("POST", "/auth/login", "", staff_login)
            assert status == 200, login
            tokens = {**hall.tokens, "clerk": login["token"]}
            client.timed("POST", "/windows/1/open", tokens["clerk"])
            halls.append((client, tokens))
        print(f"load average before: {load_average():.2f}", flush=True)
        folded = Path(args.profile) / "long_queue.txt" if args.profile else None
        with profiled(long_hall.pid, folded):
            empty, full = measure(halls, args.rounds, args.loop_s)
        print(f"load average after: {load_average():.2f}")
    print(f"\n{'':22s} {'empty day':>10s} {f'{args.fill:,} waiting':>16s} {'ratio':>7s}")
    rows = (("call-next", "ms p50"), ("snapshot", "ms p50"), ("services", "ms p50"),
            ("issue", "ms p50"), ("issue_per_s", "/s"), ("loops_per_s", "/s"))  # fmt: skip
    for name, unit in rows:
        print(f"{name + ' ' + unit:22s} {empty[name]:10.1f} {full[name]:16.1f} "
              f"{full[name] / empty[name]:7.2f}")  # fmt: skip
    if folded is not None:
        print_profile(folded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
