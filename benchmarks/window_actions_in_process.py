"""Window actions through the WSGI app in one process: each action's CPU beside an issue's.

No server, no sockets: each call builds a request and runs the Flask app (routing, auth,
validation, the write, JSON) on the bench hall in a temporary SQLite file, timed with the
process's CPU clock around the app alone. A supervisor works window 1 through a cycle that
uses every action (issue, call-next, recall, start, hold, return, call-next of the held
ticket, start, transfer, call-next, no-show, issue, call-next, finish), with ``--queue``
tickets waiting throughout. ``--profile`` prints where the window actions' time goes.

    .venv/bin/python benchmarks/window_actions_in_process.py --cycles 400
    .venv/bin/python benchmarks/window_actions_in_process.py --cycles 400 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from in_process import bench_database  # noqa: E402

from hall_server import create_app  # noqa: E402
from hall_server.services.auth import add_user  # noqa: E402
from hall_server.services.setup import rotate_device_tokens  # noqa: E402

ACTIONS = ("issue", "call-next", "recall", "start", "finish", "no-show", "transfer", "hold")


class Bench:
    """The app and two tokens; ``send`` runs one request and books its CPU under a name."""

    def __init__(self, app: Any, kiosk: str, boss: str) -> None:
        self.app, self.kiosk, self.boss = app, kiosk, boss
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.record = True

    def send(self, name: str, path: str, body: Any = None, *, who: str = "boss") -> Any:
        token = self.kiosk if who == "kiosk" else self.boss
        environ = EnvironBuilder(
            path=f"/api/v1{path}", method="POST", data=json.dumps(body or {}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        ).get_environ()  # fmt: skip
        status: list[str] = []
        started = time.process_time()
        out = b"".join(self.app.wsgi_app(environ, lambda s, _h, _e=None: status.append(s)))
        spent = time.process_time() - started
        if not status[0][:1] == "2":
            raise SystemExit(f"{name} {path} answered {status[0]}: {out[:300]!r}")
        if self.record:
            self.cpu[name].append(spent)
        return json.loads(out)

    def cycle(self, n: int) -> None:
        services = ("a", "b", "c", "d")
        self.send("issue", "/tickets", {"service": services[n % 4]}, who="kiosk")
        ticket = self.send("call-next", "/windows/1/call-next")["ticket"]
        self.send("recall", "/windows/1/recall")
        self.send("start", "/windows/1/start")
        self.send("hold", "/windows/1/hold")
        self.send("return", f"/tickets/{ticket['id']}/requeue")
        self.send("call-next", "/windows/1/call-next")  # the held ticket, targeted
        self.send("start", "/windows/1/start")
        self.send("transfer", "/windows/1/transfer", {"service": services[(n + 1) % 4]})
        self.send("call-next", "/windows/1/call-next")
        self.send("no-show", "/windows/1/no-show")
        self.send("issue", "/tickets", {"service": services[(n + 2) % 4]}, who="kiosk")
        self.send("call-next", "/windows/1/call-next")
        self.send("finish", "/windows/1/finish")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=400, help="measured cycles (1-20000)")
    parser.add_argument("--queue", type=int, default=200, help="tickets waiting meanwhile")
    parser.add_argument("--loops", type=int, default=1000, help="visitor loops timed after")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top entries")
    args = parser.parse_args()
    if not 1 <= args.cycles <= 20_000:
        parser.error("--cycles must be 1-20000")
    with tempfile.TemporaryDirectory(prefix="hall-bench-") as folder:
        settings, db, hall_id = bench_database(folder)
        kiosk = rotate_device_tokens(db, hall_id)["bench-kiosk"][1]
        add_user(db, hall_id, "boss", role="supervisor", password="bench-password",
                 name="Boss", now=datetime.now(UTC))  # fmt: skip
        db.dispose()
        app = create_app(settings=settings)
        environ = EnvironBuilder(
            path="/api/v1/auth/login",
            method="POST",
            json={"login": "boss", "password": "bench-password"},
        ).get_environ()
        answer = b"".join(app.wsgi_app(environ, lambda *_: None))
        bench = Bench(app, kiosk, json.loads(answer)["token"])
        bench.record = False
        for number in (1, 2, 3):
            bench.send("open", f"/windows/{number}/open")
        for n in range(args.queue):
            bench.send("issue", "/tickets", {"service": "abcd"[n % 4]}, who="kiosk")
        for n in range(50):  # warm caches, statements and the WAL
            bench.cycle(n)
        bench.record = True
        for n in range(args.cycles):
            bench.cycle(n)
        print(f"{args.cycles} cycles on window 1, {args.queue} tickets waiting: CPU per action")
        issue_ms = statistics.mean(bench.cpu["issue"]) * 1000
        for name in (*ACTIONS, "return"):
            values = bench.cpu[name]
            mean_ms = statistics.mean(values) * 1000
            print(f"  {name:10s} {mean_ms:6.2f} ms  ({mean_ms / issue_ms:4.2f}x issue, "
                  f"median {statistics.median(values) * 1000:.2f}, n={len(values)})")  # fmt: skip
        loops = args.loops
        started_cpu, started = time.process_time(), time.perf_counter()
        bench.record = False
        for n in range(loops):
            bench.send("issue", "/tickets", {"service": "abcd"[n % 4]}, who="kiosk")
            bench.send("call-next", "/windows/1/call-next")
            bench.send("finish", "/windows/1/finish")
        wall = time.perf_counter() - started
        cpu = time.process_time() - started_cpu
        print(f"visitor loop in-process (issue, call-next, finish), {loops} loops: "
              f"{loops / wall:.0f}/s, {1000 * cpu / loops:.2f} ms CPU per loop")  # fmt: skip
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(lambda: [bench.cycle(n) for n in range(args.cycles)])
            pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
        app.extensions["hall"].db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
