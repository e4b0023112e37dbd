"""How long a refused login takes: unknown login, wrong password, inactive login, and the
right password, through the WSGI app in one process (the time an attacker would compare).

Attempts are interleaved (one of each kind in turn), each from its own client address and
with the per-login limit raised, so the login limits never answer 429 here; the figure is
the median per kind and its ratio to "wrong password", measured in the same run. Bounded:
at most 200 rounds.

    .venv/bin/python benchmarks/login_timing.py --rounds 30
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from in_process import bench_database  # noqa: E402

from hall_server import create_app  # noqa: E402
from hall_server.services.auth import add_user  # noqa: E402

PASSWORD = "bench-password-1"
KINDS = {  # kind -> (login, password)
    "wrong password": ("clerk", "not-the-password"),
    "unknown login": ("nobody-here", "not-the-password"),
    "inactive login": ("gone", PASSWORD),
    "right password": ("clerk", PASSWORD),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="attempts of each kind (1-200)")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 200:
        parser.error("--rounds must be 1-200")
    with tempfile.TemporaryDirectory(prefix="hall-bench-") as folder:
        settings, db, hall_id = bench_database(
            folder,
            server={"async_mode": "threading"},
            login={"fails_per_login": 1000},  # every kind is tried once a round, unlimited
        )
        now = datetime.now(UTC)
        add_user(db, hall_id, "clerk", role="staff", password=PASSWORD, name="clerk", now=now)
        gone = add_user(db, hall_id, "gone", role="staff", password=PASSWORD, name="g", now=now)
        with db.write() as session:
            session.merge(gone).active = False
        db.dispose()
        client = create_app(settings=settings).test_client()
        spent: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for n in range(args.rounds + 1):  # the first round warms up and is not counted
            for kind, (login, password) in KINDS.items():
                address = f"10.{n // 250}.{n % 250}.{len(spent[kind]) % 250}"
                start = time.perf_counter()
                answer = client.post(
                    "/api/v1/auth/login",
                    json={"login": login, "password": password},
                    environ_base={"REMOTE_ADDR": address},
                )
                took = time.perf_counter() - start
                expected = 200 if kind == "right password" else 401
                assert answer.status_code == expected, (kind, answer.get_json())
                if n:
                    spent[kind].append(took)
        base = statistics.median(spent["wrong password"])
        print(f"{'kind':<16} {'median ms':>10} {'p90 ms':>8} {'vs wrong':>9}")
        for kind, times in spent.items():
            median = statistics.median(times)
            p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]
            print(f"{kind:<16} {median * 1000:>10.1f} {p90 * 1000:>8.1f} {median / base:>8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
