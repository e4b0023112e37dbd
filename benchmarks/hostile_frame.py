"""How long GET /api/v1/health takes while a client that never logged in sends one huge
websocket frame: the slowest answer of a poller running next to it, against the same answer
with no attacker (the baseline, measured in the same run).

A real ``hall serve`` (gevent) on 127.0.0.1 for the small test hall; the attacker sends one
masked frame of ``--mb`` MB (header and payload) on /socket.io/, then the poller runs for
``--seconds`` more. Bounded: one frame, at most 64 MB, at most 30 s.

    .venv/bin/python benchmarks/hostile_frame.py --mb 8
    .venv/bin/python benchmarks/hostile_frame.py --mb 32
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hall_server.security.raw_socketio import frame_header, ws_open  # noqa: E402
from tests.live import LiveHall, start_live_hall  # noqa: E402


def slowest_health(hall: LiveHall, seconds: float, attack: bytes | None) -> tuple[float, int]:
    """Poll health for ``seconds`` (sending ``attack`` on a websocket meanwhile)."""
    stop, latencies = threading.Event(), []

    def poll() -> None:
        while not stop.is_set():  # a new connection each time, as pages and kiosks open them
            started = time.perf_counter()
            requests.get(hall.url("/api/v1/health"), timeout=60).raise_for_status()
            latencies.append(time.perf_counter() - started)

    poller = threading.Thread(target=poll)
    poller.start()
    if attack is not None:
        sock = ws_open(hall)
        with contextlib.suppress(OSError):  # refused by its header: the server hangs up
            sock.sendall(attack)
        sock.close()
    time.sleep(seconds)  # the measuring window: the poller runs meanwhile
    stop.set()
    poller.join()
    return max(latencies), len(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=8, choices=range(1, 65), metavar="1..64")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    seconds = min(args.seconds, 30.0)
    size = args.mb * 1024 * 1024
    mask = os.urandom(4)
    attack = frame_header(size, mask=mask) + b"x" * size  # payload unmasked: bytes are bytes
    with tempfile.TemporaryDirectory() as folder:
        hall = start_live_hall(Path(folder))
        try:
            base, base_n = slowest_health(hall, seconds, None)
            hit, hit_n = slowest_health(hall, seconds, attack)
        finally:
            hall.stop()
    print(f"host {socket.gethostname()}  frame {args.mb} MB  window {seconds:.0f} s")
    print(f"  no attacker : slowest health {base * 1000:8.1f} ms  ({base_n} polls)")
    print(f"  one frame   : slowest health {hit * 1000:8.1f} ms  ({hit_n} polls)")
    print(f"  ratio       : {hit / base:8.1f}x")


if __name__ == "__main__":
    main()
