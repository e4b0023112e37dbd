"""Issuing through the WSGI app in one process: the CPU cost of the issuing path itself.

No server, no sockets, no load generator: each call builds a POST /api/v1/tickets request
and runs the Flask app (routing, auth, validation, the write, JSON) on the bench hall in a
temporary SQLite file. What the live benchmark cannot separate — how much of a ticket is
the hall's own code — shows here, and ``--profile`` prints where it goes (cProfile).

    .venv/bin/python benchmarks/issue_in_process.py --calls 3000
    .venv/bin/python benchmarks/issue_in_process.py --calls 3000 --profile
    .venv/bin/python benchmarks/issue_in_process.py --calls 3000 --db postgres --profile

``--db postgres`` runs it on a throwaway PostgreSQL server (fsync on, as a hall runs).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from in_process import bench_database  # noqa: E402
from live_hall import postgres  # noqa: E402

from hall_server import create_app  # noqa: E402
from hall_server.services.setup import rotate_device_tokens  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="measured issues (1-100000)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top entries")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    if not 1 <= args.calls <= 100_000:
        parser.error("--calls must be 1-100000")
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="hall-bench-"))
        server: dict[str, str] = {}
        if args.db == "postgres":
            server["database_url"] = stack.enter_context(postgres(Path(folder)))
        settings, db, hall_id = bench_database(folder, server=server)
        token = rotate_device_tokens(db, hall_id)["bench-kiosk"][1]
        db.dispose()
        app = create_app(settings=settings)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        services = ["a", "b", "c", "d"]

        def issue(n: int) -> None:
            body = b'{"service":"%s"}' % services[n % 4].encode()
            environ = EnvironBuilder(path="/api/v1/tickets", method="POST", data=body,
                                     headers=headers).get_environ()  # fmt: skip
            status: list[str] = []
            b"".join(app.wsgi_app(environ, lambda s, _h, _e=None: status.append(s)))
            if not status[0].startswith("201"):
                raise SystemExit(f"issue {n} answered {status[0]}")

        for n in range(300):  # warm caches, statements and the WAL
            issue(n)
        builder_s = _builder_cost(headers, args.calls)
        started, cpu = time.perf_counter(), time.process_time()
        for n in range(args.calls):
            issue(n)
        per_call_ms = ((time.perf_counter() - started) - builder_s) / args.calls * 1000
        cpu_ms = ((time.process_time() - cpu) - builder_s) / args.calls * 1000
        print(f"{args.calls} tickets issued in-process on {args.db}: {per_call_ms:.2f} ms each, "
              f"{cpu_ms:.2f} ms of CPU (request building, {1000 * builder_s / args.calls:.2f} "
              "ms, taken out)")  # fmt: skip
        if args.profile:  # CPU time: on PostgreSQL the wall clock is mostly the server's turn
            profile = cProfile.Profile(time.process_time)
            profile.runcall(lambda: [issue(n) for n in range(args.calls)])
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        app.extensions["hall"].db.dispose()
    return 0


def _builder_cost(headers: dict[str, str], calls: int) -> float:
    """Seconds that building the requests alone takes (not the server's work)."""
    started = time.perf_counter()
    for _ in range(calls):
        EnvironBuilder(path="/api/v1/tickets", method="POST", data=b'{"service":"a"}',
                       headers=headers).get_environ()  # fmt: skip
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
