"""The raw limit of issuing on a PostgreSQL server: what the database alone allows.

One "raw issue" is one durable transaction that does what issuing a ticket must do at the
least: update one counter row (the hall's lock and number) and insert one ticket-sized row
(a copy of the ``tickets`` table, its indexes included), then commit (``synchronous_commit``
on, as the hall runs). N plain psycopg connections, one thread each, issue in a loop; every
transaction takes the same counter row, so they take turns exactly as one hall's writes do.

    .venv/bin/python benchmarks/pg_raw_limit.py --duration 10 --connections 8

Used by ``issue_throughput.py --db postgres`` and ``pg_halls.py`` against the server they
start, so each of their runs reports the server's share of the raw limit measured in the
same run (the machine is noisy: only ratios measured together mean anything).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import sys
import threading
import time
from datetime import UTC, date, datetime
from typing import Any

import psycopg

SETUP = """
DROP TABLE IF EXISTS raw_tickets;
DROP TABLE IF EXISTS raw_counters;
CREATE TABLE raw_counters (id integer PRIMARY KEY, last_number bigint NOT NULL);
CREATE TABLE raw_tickets (LIKE tickets INCLUDING DEFAULTS INCLUDING INDEXES);
"""
# A stand-in when the hall's tables are not there (the command run on its own cluster).
SETUP_ALONE = """
CREATE TABLE IF NOT EXISTS tickets (
    id bigserial PRIMARY KEY, hall_id integer NOT NULL, service_id integer NOT NULL,
    business_day date NOT NULL, number varchar(16) NOT NULL, token varchar(43) UNIQUE NOT NULL,
    state varchar(16) NOT NULL, priority boolean NOT NULL, priority_kind varchar(32) NOT NULL,
    issued_at timestamp NOT NULL, queued_at timestamp NOT NULL, kiosk_id integer,
    call_count integer NOT NULL, recalls integer NOT NULL, hold_count integer NOT NULL,
    transfer_count integer NOT NULL, no_show_count integer NOT NULL, handle_s float NOT NULL,
    phone_masked varchar(20) NOT NULL, id_masked varchar(24) NOT NULL,
    case_no varchar(64) NOT NULL, version integer NOT NULL,
    UNIQUE (hall_id, service_id, business_day, number));
CREATE INDEX IF NOT EXISTS ix_tickets_queue ON tickets (hall_id, state, service_id, queued_at);
CREATE INDEX IF NOT EXISTS ix_tickets_day ON tickets (hall_id, business_day, state);
CREATE INDEX IF NOT EXISTS ix_tickets_kiosk ON tickets (hall_id, kiosk_id, issued_at);
"""
TAKE = "UPDATE raw_counters SET last_number = last_number + 1 WHERE id = %s RETURNING last_number"
INSERT = """INSERT INTO raw_tickets (hall_id, service_id, business_day, number, token, state,
    priority, priority_kind, issued_at, queued_at, kiosk_id, call_count, recalls, hold_count,
    transfer_count, no_show_count, handle_s, phone_masked, id_masked, case_no, version)
VALUES (%s, 1, %s, %s, %s, 'waiting', false, '', %s, %s, NULL, 0, 0, 0, 0, 0, 0, '', '', '', 1)
RETURNING id"""


def plain_url(url: str) -> str:
    """The libpq form of a SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def prepare(url: str, counters: int = 1) -> None:
    """Create the raw tables (empty) and ``counters`` counter rows."""
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        has_tickets = conn.execute("SELECT to_regclass('tickets') IS NOT NULL").fetchone()
        if not (has_tickets and has_tickets[0]):
            conn.execute(SETUP_ALONE)
        conn.execute(SETUP)
        for counter in range(1, counters + 1):
            conn.execute("INSERT INTO raw_counters VALUES (%s, 0)", (counter,))


def raw_limit(
    url: str, *, duration_s: float, connections: int, counters: int = 1
) -> dict[str, Any]:
    """Issue raw tickets from ``connections`` threads for ``duration_s``; return the rate.

    With ``counters`` > 1 connection i takes counter ``i % counters + 1`` (several halls).
    """
    prepare(url, counters)
    day = date.today()
    done = [0] * connections
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors: list[BaseException] = []
    start = threading.Barrier(connections + 1)
    stop = threading.Event()

    def issue(index: int) -> None:
        counter = index % counters + 1
        try:
            with psycopg.connect(plain_url(url), prepare_threshold=0) as conn:
                start.wait()
                while not stop.is_set():
                    began = time.perf_counter()
                    with conn.transaction():
                        taken = conn.execute(TAKE, (counter,)).fetchone()
                        assert taken is not None
                        now = datetime.now(UTC).replace(tzinfo=None)
                        number = f"{counter}-{taken[0]:06d}"
                        conn.execute(INSERT, (counter, day, number, secrets.token_urlsafe(24),
                                              now, now)).fetchone()  # fmt: skip
                    latencies[index].append(time.perf_counter() - began)
                    done[index] += 1
        except BaseException as error:  # reported by the caller
            errors.append(error)
            stop.set()
            start.abort()

    threads = [threading.Thread(target=issue, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a thread failed: reported below
        start.wait(timeout=60)
    began = time.monotonic()
    stop.wait(duration_s)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    elapsed = time.monotonic() - began
    if errors:
        raise RuntimeError(f"raw issuing failed: {errors[0]!r}") from errors[0]
    every = sorted(latency for per in latencies for latency in per)
    total = sum(done)

    def pct(p: float) -> float:
        return 1000 * every[min(len(every) - 1, int(p / 100 * len(every)))] if every else 0.0

    return {
        "raw_tps": total / elapsed,
        "raw_transactions": total,
        "raw_connections": connections,
        "raw_counters": counters,
        "raw_p50_ms": round(pct(50), 2),
        "raw_p99_ms": round(pct(99), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--connections", type=int, default=8, help="connections (threads)")
    parser.add_argument("--counters", type=int, default=1, help="counter rows (halls)")
    parser.add_argument("--url", help="a PostgreSQL URL; default: a throwaway cluster")
    args = parser.parse_args()
    if args.url:
        result = raw_limit(args.url, duration_s=args.duration, connections=args.connections,
                           counters=args.counters)  # fmt: skip
    else:
        import tempfile
        from pathlib import Path

        from live_hall import postgres

        with (
            tempfile.TemporaryDirectory(prefix="hall-raw-") as workdir,
            postgres(Path(workdir)) as url,
        ):
            result = raw_limit(url, duration_s=args.duration, connections=args.connections,
                               counters=args.counters)  # fmt: skip
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
