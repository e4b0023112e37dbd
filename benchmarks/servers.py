"""Several processes: gunicorn's workers on one port against N `hall serve` behind nginx.

Each as a ratio against one `hall serve` measured in the same run (the machine is shared and
noisy), on a fresh bench hall each:

- ``one``: one ``hall serve`` (gevent), no Redis;
- ``gunicorn``: ``hall serve --workers N`` (gunicorn's master, N gevent websocket workers on
  one port, Redis between them);
- ``nginx``: N plain ``hall serve`` on N ports behind nginx running the shipped
  ``docs/deploy/hall-pool.nginx.conf`` (Redis between them). The bench's clients all come
  from 127.0.0.1, and the shipped ``hash $remote_addr consistent`` would send every one of
  them to one process: the bench swaps that line for round robin, as many kiosks and screens
  on many addresses would spread.

Measured for each: tickets/s and p99 (wrk, keep-alive connections, POST /api/v1/tickets),
server CPU per ticket (every server process, and nginx), and a call reaching a display: one
``call-next`` at a time, each on a new connection (so any process may take it), timed until
a Socket.IO display client (connected once, to whichever process) has the call applied; the
display's events are checked to arrive in seq order, none twice.

    .venv/bin/python benchmarks/servers.py --duration 10 --processes 2 --repeat 2
    .venv/bin/python benchmarks/servers.py --setups one,gunicorn --db postgres
    .venv/bin/python benchmarks/servers.py --hup --repeat 4   # a HUP reload: does it pause?
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from issue_throughput import run_wrk
from live_hall import (
    BENCH_TOML,
    check_hall_open,
    cpu_seconds,
    device_token,
    http_json,
    machine,
    postgres,
    raise_open_files_limit,
    run_hall,
    terminate_group,
)

from hall_server.client.hall import HallClient
from hall_server.client.state import order_key
from tests.support.nginx import POOL_CONF, nginx_server
from tests.support.ports import free_port
from tests.support.redis import redis_server
from tests.support.serve import start_hall_serve

SETUPS = ("one", "gunicorn", "nginx")
STAFF, PASSWORD = "bench-staff", "bench-pass-2026"
WINDOW = 1  # general: calls any service


@dataclass
class Setup:
    """A served bench hall: where to reach it and which processes do the work."""

    name: str
    base_url: str
    env: dict[str, str]
    tokens: dict[str, str]
    pids: list[int] = field(default_factory=list)  # server processes (with their children)
    proxy_pid: int | None = None  # nginx's master (with its worker)

    def serving_pids(self) -> list[int]:
        """The processes that answer requests: gunicorn's workers, else the servers."""
        found = []
        for pid in self.pids:
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                found += [int(c) for c in children] if self.name == "gunicorn" else [pid]
        return found

    def cpu(self) -> tuple[float, float]:
        """(server CPU s, proxy CPU s) used so far."""
        proxy = cpu_seconds(self.proxy_pid) if self.proxy_pid else 0.0
        return sum(cpu_seconds(pid) for pid in self.pids), proxy


def round_robin_pool(workdir: Path) -> Path:
    """The shipped pool config with its hash line swapped for round robin (see above)."""
    text = POOL_CONF.read_text()
    assert "    hash $remote_addr consistent;\n" in text, "the pool config changed: update"
    copy = workdir / "hall-pool.round-robin.conf"
    copy.write_text(text.replace("    hash $remote_addr consistent;\n", ""))
    return copy


@contextlib.contextmanager
def served(name: str, db: str, processes: int, workdir: Path) -> Iterator[Setup]:
    with contextlib.ExitStack() as stack:
        var = workdir / "var"
        var.mkdir(parents=True)
        url = stack.enter_context(postgres(workdir)) if db == "postgres" else (
            f"sqlite:///{var / 'hall.db'}")  # fmt: skip
        env = {**os.environ, "HALL_CONFIG": str(BENCH_TOML),
               "HALL_DATABASE_URL": url, "HALL_VAR_DIR": str(var), "HALL_ASYNC_MODE": "gevent",
               "HALL_SECRET_KEY": "bench-secret-" + "x" * 32}  # fmt: skip
        if name != "one":
            env["HALL_MESSAGE_QUEUE"] = stack.enter_context(redis_server(workdir))
        run_hall(env, "init")
        tokens = {n: device_token(env, n, kind) for n, kind in
                  (("bench-kiosk", "kiosk"), ("bench-tv", "display"))}  # fmt: skip
        run_hall(env, "user", "add", STAFF, "--role", "staff", "--password-stdin",
                 stdin=PASSWORD + "\n")  # fmt: skip
        if name in ("one", "gunicorn"):
            if name == "gunicorn":
                env["HALL_WORKERS"] = str(processes)
            server = start_hall_serve(env, workdir / "server.log", own_session=True, ready_s=60)
            stack.callback(terminate_group, server.process)
            yield Setup(name, server.base_url, env, tokens, [server.pid])
            return
        env["HALL_TRUSTED_PROXIES"] = "1"
        ports = [free_port() for _ in range(processes)]
        pids = []
        for index, port in enumerate(ports):
            server = start_hall_serve(env, workdir / f"server-{index}.log", port=port,
                                      own_session=True, ready_s=60)  # fmt: skip
            stack.callback(terminate_group, server.process)
            pids.append(server.pid)
        base = stack.enter_context(nginx_server(workdir, round_robin_pool(workdir), ports))
        proxy = int((workdir / "nginx" / "nginx.pid").read_text())
        yield Setup(name, base, env, tokens, pids, proxy)


def display_latency(setup: Setup, calls: int, prefill: int) -> dict[str, Any]:
    """One call at a time, each on a new connection, timed until a display has it."""
    api = setup.base_url + "/api/v1"
    for _ in range(prefill):
        status, _ = http_json("POST", f"{api}/tickets", token=setup.tokens["bench-kiosk"],
                              body={"service": "a"})  # fmt: skip
        assert status == 201, status
    status, body = http_json("POST", f"{api}/auth/login",
                             body={"login": STAFF, "password": PASSWORD})  # fmt: skip
    assert status == 200, body
    staff = body["token"]
    assert http_json("POST", f"{api}/windows/{WINDOW}/open", token=staff)[0] == 200
    display = HallClient(setup.base_url, setup.tokens["bench-tv"])
    keys: list[tuple[int, int]] = []  # (seq, counts?) of each message applied, in order
    display.on("*", lambda event: keys.append(order_key(event)))
    display.start()
    times: list[float] = []
    try:
        assert display.wait_for(lambda s: s.ready, 20), display.last_error
        for index in range(calls):
            if index:
                finished = http_json("POST", f"{api}/windows/{WINDOW}/finish", token=staff)
                assert finished[0] == 200, finished
            sent = time.perf_counter()
            status, body = http_json("POST", f"{api}/windows/{WINDOW}/call-next", token=staff)
            assert status == 200, body
            number = body["ticket"]["number"]

            def shows(state: Any, number: str = number) -> bool:
                ticket = (state.windows.get(WINDOW) or {}).get("ticket") or {}
                return bool(ticket.get("number") == number)

            assert display.wait_for(shows, 10), f"the display never showed {number}"
            times.append((time.perf_counter() - sent) * 1000)
    finally:
        display.stop()
    # events in seq order, none twice (counts at a seq already held may come again after a
    # resync: the same counts)
    events = [seq for seq, counts in keys if not counts]
    ordered = keys == sorted(keys) and len(events) == len(set(events))
    return {"calls": len(times), "p50_ms": statistics.median(times),
            "p99_ms": sorted(times)[max(0, round(0.99 * len(times)) - 1)],
            "events_in_order_once": ordered, "duplicates": display.stats.duplicates}  # fmt: skip


def measure(name: str, args: argparse.Namespace) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="hall-servers-") as tmp,
        served(name, args.db, args.processes, Path(tmp)) as setup,
    ):
        hall: Any = _WrkTarget(setup)  # run_wrk reads env, tokens and base_url
        run_wrk(hall, duration_s=args.warmup, connections=args.connections, threads=1)
        server_before, proxy_before = setup.cpu()
        serving = setup.serving_pids()
        each_before = [cpu_seconds(pid) for pid in serving]
        result = run_wrk(hall, duration_s=args.duration, connections=args.connections, threads=1)
        server_after, proxy_after = setup.cpu()
        each = [cpu_seconds(pid) - before for pid, before in zip(serving, each_before, strict=True)]
        tickets = max(result["requests"], 1)
        latency = display_latency(setup, args.calls, args.calls)
        return {
            "setup": name, "processes": 1 if name == "one" else args.processes, "db": args.db,
            "rps": result["rps"], "p99_ms": result["latency_us"]["p99"] / 1000,
            "non2xx": result["non2xx"],
            "server_cpu_ms": 1000 * (server_after - server_before) / tickets,
            "proxy_cpu_ms": 1000 * (proxy_after - proxy_before) / tickets,
            # how the load spread over the processes (share of their CPU each)
            "cpu_split": [round(c / max(sum(each), 1e-9), 2) for c in each],
            "call_to_display": latency,
        }  # fmt: skip


def hup_pause(args: argparse.Namespace) -> dict[str, float]:
    """The slowest answer of a client asking /api/v1/health back to back, each time on a new
    connection, before and through ``kill -HUP`` of gunicorn's master (workers replaced)."""
    import signal
    import threading

    import requests

    with (
        tempfile.TemporaryDirectory(prefix="hall-servers-") as tmp,
        served("gunicorn", args.db, args.processes, Path(tmp)) as setup,
    ):
        answers: list[tuple[float, float]] = []  # (when sent, seconds taken)
        stop = threading.Event()

        def ask() -> None:
            while not stop.is_set():
                sent = time.monotonic()
                with requests.Session() as session:
                    session.get(setup.base_url + "/api/v1/health", timeout=60,
                                headers={"Connection": "close"}).raise_for_status()  # fmt: skip
                answers.append((sent, time.monotonic() - sent))

        asker = threading.Thread(target=ask, daemon=True)
        asker.start()
        stop.wait(3)
        hup = time.monotonic()
        os.kill(setup.pids[0], signal.SIGHUP)
        stop.wait(20)  # the new workers start and the old ones go within this
        stop.set()
        asker.join(70)
        before = [took for sent, took in answers if sent < hup]
        through = [took for sent, took in answers if sent >= hup]
        return {"slowest_before_s": max(before), "slowest_through_hup_s": max(through),
                "answers_through_hup": len(through)}  # fmt: skip


@dataclass
class _WrkTarget:
    """What issue_throughput.run_wrk needs of a hall."""

    setup: Setup

    @property
    def env(self) -> dict[str, str]:
        return self.setup.env

    @property
    def tokens(self) -> dict[str, str]:
        return self.setup.tokens

    @property
    def base_url(self) -> str:
        return self.setup.base_url


def table(results: list[dict[str, Any]]) -> str:
    baselines = [r for r in results if r["setup"] == "one"]
    rows = [
        "| round | setup | procs | CPU split | tickets/s | × one | p99 ms | × one "
        "| CPU ms/ticket (server + nginx) | × one | call→display p50 / p99 ms | × one (p50) "
        "| in seq order, once |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in results:
        base = baselines[r["round"]] if r["round"] < len(baselines) else r
        cpu, base_cpu = r["server_cpu_ms"] + r["proxy_cpu_ms"], base["server_cpu_ms"]
        lat, base_lat = r["call_to_display"], base["call_to_display"]
        rows.append(
            f"| {r['round'] + 1} | {r['setup']} | {r['processes']} "
            f"| {' / '.join(f'{c:.2f}' for c in r.get('cpu_split', []))} | {r['rps']:.0f} "
            f"| {r['rps'] / base['rps']:.2f} | {r['p99_ms']:.1f} "
            f"| {r['p99_ms'] / base['p99_ms']:.2f} "
            f"| {r['server_cpu_ms']:.2f} + {r['proxy_cpu_ms']:.2f} | {cpu / base_cpu:.2f} "
            f"| {lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} "
            f"| {lat['p50_ms'] / base_lat['p50_ms']:.2f} "
            f"| {'yes' if lat['events_in_order_once'] else 'NO'} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--setups", default=",".join(SETUPS))
    parser.add_argument("--processes", type=int, default=2, help="workers / pool processes")
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgres"))
    parser.add_argument("--duration", type=int, default=10, help="measured seconds of load")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--calls", type=int, default=50, help="calls timed to the display")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every setup")
    parser.add_argument("--json", help="write every result to this file")
    parser.add_argument(
        "--hup", action="store_true", help="instead: the slowest answer through a HUP reload"
    )
    args = parser.parse_args()
    setups = [s for s in args.setups.split(",") if s]
    if not set(setups) <= set(SETUPS) or "one" not in setups:
        parser.error(f"--setups: some of {', '.join(SETUPS)}, always with one (the baseline)")
    if not 1 <= args.duration <= 60 or not 2 <= args.processes <= 8 or not 1 <= args.repeat <= 5:
        parser.error("--duration 1-60 s, --processes 2-8, --repeat 1-5")
    for program in ("wrk", "redis-server", "nginx"):
        if shutil.which(program) is None:
            parser.error(f"{program} is not installed")
    raise_open_files_limit()
    if args.hup:
        for _ in range(args.repeat):
            print(json.dumps(hup_pause(args)), flush=True)
        return 0
    check_hall_open(args.repeat * len(setups) * (args.duration + args.warmup + 60))
    print(json.dumps(machine()), flush=True)
    results = []
    for round_ in range(args.repeat):  # rounds interleave the setups: noise hurts them alike
        for name in setups:
            result = measure(name, args) | {"round": round_}
            results.append(result)
            print(json.dumps(result), flush=True)
    print()
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
