"""How long the hall runs without a leader after the leader is killed: two real
``hall serve`` processes (gevent) on one database, the leader ``kill -9``-ed, the time until
the other's ``GET /api/v1/health`` says ``leader: true``. With the default
``server.leader_check_s`` (1 s); SQLite, then PostgreSQL (a throwaway server started here).

    .venv/bin/python benchmarks/leader_takeover.py --runs 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hall_server.postgres import postgres_databases  # noqa: E402
from tests.live import LiveHall, start_live_hall  # noqa: E402
from tests.support.polling import until  # noqa: E402


def leads(hall: LiveHall) -> bool | None:
    try:
        return bool(requests.get(hall.url("/api/v1/health"), timeout=5).json()["leader"])
    except requests.RequestException:
        return None


def takeover_s(workdir: Path, database_url: str | None) -> float:
    first = start_live_hall(workdir, database_url=database_url)
    second = first.another_process(workdir / "second.log")
    try:
        until(lambda: [leads(first), leads(second)] in ([True, False], [False, True]), 20,
              what="one leader")  # fmt: skip
        leader, other = (first, second) if leads(first) else (second, first)
        leader.process.kill()
        killed = time.monotonic()
        leader.process.wait()
        until(lambda: leads(other), 30, interval_s=0.05, what="the other leading")
        return time.monotonic() - killed
    finally:
        first.stop()
        second.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, choices=range(1, 11))
    runs = parser.parse_args().runs
    with postgres_databases() as databases:
        for engine in ("sqlite", "postgresql"):
            times = []
            for _ in range(runs):
                url = databases.create() if engine == "postgresql" else None
                with tempfile.TemporaryDirectory() as workdir:
                    times.append(takeover_s(Path(workdir), url))
            print(f"{engine:10s} takeover after kill -9 (s): "
                  + " ".join(f"{t:.2f}" for t in times))  # fmt: skip


if __name__ == "__main__":
    main()
