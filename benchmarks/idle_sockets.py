"""Idle sockets: N visitors' phones following their tickets, and the server's memory.

Target: 10,000 idle Socket.IO connections (a city hall's phones) in < 1 GiB of server memory.

    .venv/bin/python benchmarks/idle_sockets.py --sockets 10000 --hold 40

The bench issues N tickets, then Node.js processes (the real ``socket.io-client`` from our npm
build) connect one websocket per ticket with ``auth={"ticket": <token>}`` — the phone page's
connection — and stay idle for ``--hold`` seconds, longer than one Engine.IO ping round
(25 s), so the pings and their timeouts are part of it. The server's resident memory (its
process and children, /proc VmRSS) is read before the phones connect, once they are all
connected, and every few seconds while they idle. At the end one call is made: every phone
still connected must get it. File descriptors: the bench lifts its soft limit to the hard one
and the server and clients inherit it (each side needs one per socket).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from live_hall import check_hall_open, cpu_seconds, http_json, live_hall, load_average, machine

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "idle_clients.mjs"
STAFF_LOGIN, STAFF_PASSWORD = "bench-staff", "bench-pass-2026"
TARGET_MIB = 1024.0


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its live children, MiB."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return total / 1024 + sum(rss_mib(child) for child in children)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def issue_tickets(base_url: str, token: str, count: int, threads: int = 4) -> list[str]:
    """Issue ``count`` tickets over keep-alive connections; return their tokens."""
    host, port = base_url.removeprefix("http://").split(":")
    tokens: list[str] = []
    lock = threading.Lock()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def run(share: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        for _ in range(share):
            connection.request("POST", "/api/v1/tickets", json.dumps({"service": "b"}), headers)
            answer = connection.getresponse()
            body = json.loads(answer.read())
            if answer.status != 201:
                raise RuntimeError(f"issuing failed: {answer.status} {body}")
            with lock:
                tokens.append(body["token"])
        connection.close()

    shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    workers = [threading.Thread(target=run, args=(share,)) for share in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if len(tokens) != count:
        raise RuntimeError(f"issued {len(tokens)} of {count} tickets")
    return tokens


class Phones:
    """Node.js processes holding the phones' connections."""

    def __init__(self, base_url: str, tokens: list[str], processes: int, folder: Path) -> None:
        self.procs = []
        for i in range(processes):
            path = folder / f"tokens-{i}.txt"
            path.write_text("\n".join(tokens[i::processes]) + "\n")
            self.procs.append(
                subprocess.Popen(
                    ["node", str(SCRIPT), base_url, str(path)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    bufsize=1,
                )
            )

    def read_all(self, timeout_s: float) -> list[dict[str, Any]]:
        import select

        answers = []
        deadline = time.monotonic() + timeout_s
        for proc in self.procs:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
                raise RuntimeError("a phone process did not answer in time")
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                raise RuntimeError("a phone process exited")
            answers.append(json.loads(line))
        return answers

    def ask(self, command: str, timeout_s: float = 30) -> list[dict[str, Any]]:
        for proc in self.procs:
            proc.stdin.write(command + "\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        return self.read_all(timeout_s)

    def stop(self) -> None:
        for proc in self.procs:
            try:
                if proc.poll() is None:
                    proc.stdin.write("stop\n")  # type: ignore[union-attr]
                    proc.stdin.flush()  # type: ignore[union-attr]
                proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(timeout=5)


def run(args: argparse.Namespace) -> dict[str, Any]:
    devices = {"bench-kiosk": "kiosk"}
    staff = {STAFF_LOGIN: STAFF_PASSWORD}
    with live_hall(async_mode="gevent", db="sqlite", devices=devices, staff=staff) as hall, \
            tempfile.TemporaryDirectory(prefix="hall-phones-") as folder:  # fmt: skip
        api = f"{hall.base_url}/api/v1"
        started = time.monotonic()
        tokens = issue_tickets(hall.base_url, hall.tokens["bench-kiosk"], args.sockets)
        issue_s = time.monotonic() - started
        rss_before, fds_before = rss_mib(hall.pid), open_fds(hall.pid)
        cpu_before = cpu_seconds(hall.pid)
        phones = Phones(hall.base_url, tokens, args.processes, Path(folder))
        try:
            hello = phones.read_all(args.connect_timeout)
            connected = sum(h["connected"] for h in hello)
            refused = sum(h["refused"] for h in hello)
            connect_s = max(h["seconds"] for h in hello)
            rss_connected, fds_connected = rss_mib(hall.pid), open_fds(hall.pid)
            cpu_connect = cpu_seconds(hall.pid) - cpu_before
            samples = [rss_connected]
            idle_from, cpu_idle_from = time.monotonic(), cpu_seconds(hall.pid)
            while time.monotonic() - idle_from < args.hold:
                time.sleep(min(5.0, args.hold))  # idle on purpose: the pings run meanwhile
                samples.append(rss_mib(hall.pid))
            cpu_idle = cpu_seconds(hall.pid) - cpu_idle_from
            idle_s = time.monotonic() - idle_from
            up_before_call = sum(s["up"] for s in phones.ask("status"))
            status, body = http_json(
                "POST", f"{api}/auth/login", body={"login": STAFF_LOGIN, "password": STAFF_PASSWORD}
            )
            staff_token = body["token"]
            http_json("POST", f"{api}/windows/1/open", token=staff_token)
            status, body = http_json("POST", f"{api}/windows/1/call-next", token=staff_token)
            if status != 200:
                raise RuntimeError(f"call-next failed: {status} {body}")
            deadline = time.monotonic() + 30
            while True:  # poll the phones until each has the call, or the deadline
                answers = phones.ask("status")
                got_call = sum(a["calls"] for a in answers)
                if got_call >= up_before_call or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            disconnects = sum(a["disconnects"] for a in answers)
            clients_mib = sum(a["memory_mb"] for a in answers)
        finally:
            phones.stop()
    rss_max = max(samples)
    return {
        "sockets": args.sockets,
        "connected": connected,
        "refused": refused,
        "connect_s": round(connect_s, 1),
        "issue_s": round(issue_s, 1),
        "rss_before_mib": round(rss_before, 1),
        "rss_connected_mib": round(rss_connected, 1),
        "rss_max_mib": round(rss_max, 1),
        "kib_per_socket": round(1024 * (rss_max - rss_before) / max(connected, 1), 1),
        "fds_before": fds_before,
        "fds_connected": fds_connected,
        "hold_s": round(idle_s, 1),
        "up_after_hold": up_before_call,
        "disconnects": disconnects,
        "got_the_call": got_call,
        "server_cpu_connect_s": round(cpu_connect, 1),
        "server_cpu_idle_share": round(cpu_idle / max(idle_s, 1e-9), 3),
        "clients_rss_mib": round(clients_mib, 1),
        "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "load_after": load_average(),
    }


def table(r: dict[str, Any]) -> str:
    ok = (
        r["connected"] == r["sockets"]
        and r["rss_max_mib"] < TARGET_MIB
        and r["up_after_hold"] == r["connected"]
        and r["got_the_call"] == r["connected"]
    )
    return (
        "| sockets | connected (s) | server RSS before / connected / max MiB | KiB per socket "
        "| still up after idling (s) | got the call | server CPU idle | target |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| {r['sockets']} | {r['connected']} ({r['connect_s']}) "
        f"| {r['rss_before_mib']} / {r['rss_connected_mib']} / {r['rss_max_mib']} "
        f"| {r['kib_per_socket']} | {r['up_after_hold']} ({r['hold_s']}) "
        f"| {r['got_the_call']} | {100 * r['server_cpu_idle_share']:.1f}% "
        f"| {'met' if ok else 'MISSED'} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=10_000, help="phones to connect")
    parser.add_argument("--processes", type=int, default=2, help="Node.js client processes")
    parser.add_argument("--hold", type=float, default=40.0, help="seconds the phones idle")
    parser.add_argument("--connect-timeout", type=float, default=300.0, help="seconds to connect")
    parser.add_argument("--json", help="write the result to this file")
    args = parser.parse_args()
    if not 1 <= args.sockets <= 15_000 or not 1 <= args.processes <= 8:
        parser.error("--sockets 1-15000, --processes 1-8")
    if not 0 <= args.hold <= 120:
        parser.error("--hold 0-120 s")
    check_hall_open(args.hold + args.sockets / 200 + 120)
    print(json.dumps(machine()))
    result = run(args)
    print(json.dumps(result), flush=True)
    print()
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "result": result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
