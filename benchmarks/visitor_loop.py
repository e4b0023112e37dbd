"""The visitor loop (issue -> call-next -> finish) from one client, against an older checkout.

Two ``hall serve`` (SQLite, gevent) of the bench hall side by side: this checkout, and the
checkout given by ``--baseline`` (its ``hall_server`` first on PYTHONPATH). One client on a
keep-alive connection to each runs the loop in one-second slices, the two halls in turns,
so the machine's other work weighs on both alike; loops per second and the server's CPU
per loop are reported for each.

    git worktree add /tmp/base <commit>
    .venv/bin/python benchmarks/visitor_loop.py --baseline /tmp/base --slices 20
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_hall import (
    check_hall_open,
    cpu_seconds,
    live_hall,
    load_average,
    print_profile,
    profiled,
)
from long_queue import SERVICES, Client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", required=True, help="an older checkout of the hall")
    parser.add_argument("--slices", type=int, default=20, help="one-second slices per hall")
    parser.add_argument("--synchronous", help="HALL_SQLITE_SYNCHRONOUS for this checkout")
    parser.add_argument("--profile", help="py-spy folded stacks of this checkout's server here")
    args = parser.parse_args()
    if not 1 <= args.slices <= 300:
        parser.error("--slices must be 1-300")
    check_hall_open(2 * args.slices + 60)
    devices = {"bench-kiosk": "kiosk"}
    staff = {"clerk": "clerk-password"}
    halls = {}
    with contextlib.ExitStack() as stack:
        for name, code in (("this checkout", None), ("baseline", args.baseline)):
            saved = dict(os.environ)
            if code:
                os.environ["PYTHONPATH"] = str(Path(code).resolve())
            elif args.synchronous:
                os.environ["HALL_SQLITE_SYNCHRONOUS"] = args.synchronous
            try:
                hall = stack.enter_context(
                    live_hall(async_mode="gevent", db="sqlite", devices=devices, staff=staff)
                )
            finally:
                os.environ.clear()
                os.environ.update(saved)
            client = Client(hall.base_url)
            status, login = client.send(
                "POST", "/auth/login", "", {"login": "clerk", "password": "clerk-password"}
            )
            assert status == 200, login
            tokens = {**hall.tokens, "clerk": login["token"]}
            client.timed("POST", "/windows/1/open", tokens["clerk"])
            halls[name] = (hall, client, tokens)
        print(f"load average before: {load_average():.2f}", flush=True)
        folded = Path(args.profile) / "visitor_loop.txt" if args.profile else None
        stack.enter_context(profiled(halls["this checkout"][0].pid, folded))
        loops = dict.fromkeys(halls, 0)
        busy = dict.fromkeys(halls, 0.0)
        cpu = dict.fromkeys(halls, 0.0)
        for _ in range(args.slices):
            for name, (hall, client, tokens) in halls.items():
                kiosk, clerk = tokens["bench-kiosk"], tokens["clerk"]
                cpu_before, started = cpu_seconds(hall.pid), time.perf_counter()
                while time.perf_counter() - started < 1.0:
                    service = SERVICES[loops[name] % 4]
                    client.timed("POST", "/tickets", kiosk, {"service": service})
                    client.timed("POST", "/windows/1/call-next", clerk)
                    client.timed("POST", "/windows/1/finish", clerk)
                    loops[name] += 1
                busy[name] += time.perf_counter() - started
                cpu[name] += cpu_seconds(hall.pid) - cpu_before
        print(f"load average after: {load_average():.2f}")
    print(f"\n{'':16s} {'loops/s':>8s} {'server CPU per loop':>20s}")
    for name in halls:
        rate = loops[name] / busy[name]
        print(f"{name:16s} {rate:8.1f} {1000 * cpu[name] / loops[name]:17.2f} ms")
    ours, theirs = (loops[n] / busy[n] for n in halls)
    print(f"ratio (this checkout / baseline): {ours / theirs:.2f}")
    if folded is not None:
        print_profile(folded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
