"""A real hall server for benchmarks: temp var dir, SQLite or a throwaway PostgreSQL, cleanup.

Everything listens on 127.0.0.1 only. Every process started here is killed (its whole
process group) when the ``with`` block ends, also on errors, Ctrl+C and SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/support is shared: ports, `hall serve`, a throwaway Redis

from tests.support.ports import free_port  # noqa: E402
from tests.support.redis import redis_server  # noqa: E402
from tests.support.serve import start_hall_serve  # noqa: E402

BENCH_TOML = Path(__file__).resolve().parent / "bench_hall.toml"
HALL_TZ = ZoneInfo("Asia/Shanghai")
START_TIMEOUT_S = 60.0


def hall_command() -> str:
    """The ``hall`` console script of this virtualenv."""
    beside = Path(sys.executable).parent / "hall"
    return str(beside if beside.exists() else ROOT / ".venv" / "bin" / "hall")


def raise_open_files_limit() -> int:
    """Lift the soft limit of open files to the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def check_hall_open(seconds: float) -> None:
    """Stop early when the run would cross midnight in Shanghai: the business day (and with
    it the numbers and the day's counts) would change in the middle of it."""
    now = datetime.now(HALL_TZ)
    end = now + timedelta(seconds=seconds)
    if end.date() != now.date():
        raise SystemExit(
            f"the run would cross midnight Asia/Shanghai, where the business day changes "
            f"(now {now:%H:%M:%S}); run again after midnight"
        )


def terminate_group(proc: subprocess.Popen[Any], grace_s: float = 5.0) -> None:
    """End a process started with its own session, and everything it started."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace_s)


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so ``finally`` blocks clean up."""

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def postgres(workdir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (initdb as the postgres user); yields its URL."""
    for program in ("initdb", "pg_ctl", "runuser"):
        if shutil.which(program) is None:
            raise SystemExit(f"PostgreSQL benchmark needs {program} on PATH")
    data, sock_dir = workdir / "pgdata", workdir / "pgsock"
    data.mkdir()
    sock_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
        shutil.chown(sock_dir, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    else:
        as_pg = []
    port = free_port()
    log = workdir / "postgres.log"
    subprocess.run(
        [*as_pg, "initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -k {sock_dir} -c listen_addresses=127.0.0.1 -c max_connections=100"
    start = [*as_pg, "pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]
    subprocess.run(start, check=True, capture_output=True, timeout=60)
    try:
        subprocess.run(
            [*as_pg, "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "hall"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/hall"
    finally:
        subprocess.run(
            [*as_pg, "pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )


@dataclass
class LiveHall:
    """A running ``hall serve`` and how to reach it."""

    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def run_hall(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run one ``hall`` subcommand against the bench database; return its output."""
    done = subprocess.run(
        [hall_command(), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"hall {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def device_token(env: dict[str, str], name: str, kind: str) -> str:
    """Add a device and return the token ``hall device add`` prints on its last line."""
    return run_hall(env, "device", "add", name, "--kind", kind).strip().splitlines()[-1].strip()


def http_json(
    method: str, url: str, *, token: str | None = None, body: Any = None, timeout_s: float = 10.0
) -> tuple[int, Any]:
    """One JSON request with the standard library (no extra client in the way)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@contextlib.contextmanager
def live_hall(
    *,
    async_mode: str,
    db: str,
    devices: dict[str, str],
    staff: dict[str, str] | None = None,
    workers: int = 1,
) -> Iterator[LiveHall]:
    """Init a fresh bench hall, add devices and staff, serve it; stop it all on exit.

    ``devices`` maps a device name to its kind; their tokens land in ``LiveHall.tokens``.
    ``staff`` maps a login to its password (role staff). ``workers`` > 1 serves with that
    many processes and a throwaway Redis server between them.
    """
    raise_open_files_limit()
    with contextlib.ExitStack() as stack:
        stack.enter_context(sigterm_as_exit())
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hall-bench-")))
        var_dir = workdir / "var"
        var_dir.mkdir()
        if db == "sqlite":
            url = f"sqlite:///{var_dir / 'hall.db'}"
        elif db == "postgres":
            url = stack.enter_context(postgres(workdir))
        else:
            raise SystemExit(f"unknown database {db!r}: sqlite or postgres")
        env = {
            **os.environ,
            "HALL_CONFIG": str(BENCH_TOML),
            "HALL_DATABASE_URL": url,
            "HALL_VAR_DIR": str(var_dir),
            "HALL_ASYNC_MODE": async_mode,
            "HALL_SECRET_KEY": "bench-secret-" + "x" * 32,
        }
        if workers > 1:  # `hall serve --workers N`: one port, a Redis queue between them
            if shutil.which("redis-server") is None:
                raise SystemExit("several workers need redis-server (apt-get install redis-server)")
            queue = stack.enter_context(redis_server(workdir))
            env |= {"HALL_WORKERS": str(workers), "HALL_MESSAGE_QUEUE": queue}
        run_hall(env, "init")
        tokens = {name: device_token(env, name, kind) for name, kind in devices.items()}
        for login, password in (staff or {}).items():
            run_hall(env, "user", "add", login, "--role", "staff", "--password-stdin",
                     stdin=password + "\n")  # fmt: skip
        log_path = workdir / "server.log"
        server = start_hall_serve(env, log_path, own_session=True, ready_s=START_TIMEOUT_S)
        stack.callback(terminate_group, server.process)
        yield LiveHall(server.base_url, env, server.process, log_path, tokens)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its live children have used so far (/proc).

    With ``--workers`` the server is a process manager and its worker processes.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return own + sum(cpu_seconds(child) for child in children)


def machine_busy(seconds: float = 2.0) -> float:
    """Share of all CPUs busy over the next ``seconds`` (0-1), from /proc/stat."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values), idle

    total0, idle0 = sample()
    time.sleep(seconds)  # measuring over a span of time is the point
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_until_quiet(max_wait_s: float, busy_below: float = 0.25) -> float:
    """Wait (at most ``max_wait_s``) for other work on this machine to calm down; return busy."""
    deadline = time.monotonic() + max_wait_s
    busy = machine_busy()
    while busy >= busy_below and time.monotonic() < deadline:
        print(f"machine {100 * busy:.0f}% busy with other work; waiting", flush=True)
        busy = machine_busy(5.0)
    return busy


def load_average() -> float:
    """The 1-minute load average: other work on this machine skews every number here."""
    return float(Path("/proc/loadavg").read_text().split()[0])


@contextlib.contextmanager
def profiled(pid: int, folded: Path | None, rate_hz: int = 100) -> Iterator[None]:
    """Sample ``pid`` with py-spy (non-blocking) while the block runs; write folded stacks.

    Does nothing when ``folded`` is None. py-spy's own sampling costs the server a little.
    """
    if folded is None:
        yield
        return
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    folded.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--rate", str(rate_hz), "--nonblocking",
         "--format", "raw", "--output", str(folded)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                terminate_group(proc)


def profile_summary(folded: Path, top: int = 30) -> list[tuple[float, float, str]]:
    """(inclusive %, self %, function) of the costliest functions in a folded-stack file."""
    total = 0
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit() or not stack:
            continue
        count = int(count_text)
        total += count
        frames = [_frame_name(frame) for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    ranked = sorted(inclusive, key=lambda f: inclusive[f], reverse=True)[:top]
    return [(100 * inclusive[f] / total, 100 * own.get(f, 0) / total, f) for f in ranked]


def _frame_name(frame: str) -> str:
    """``issue (hall_server/api/routes.py:52)`` -> ``issue hall_server/api/routes.py``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    if "/hall_server/" in path:
        path = "hall_server/" + path.split("/hall_server/", 1)[1]
    return f"{name} {path}".strip()


def print_profile(folded: Path) -> None:
    """Print the costliest functions of a profile, or say that there is none."""
    if not folded.exists():
        print(f"no profile at {folded} (is py-spy installed in .venv?)")
        return
    print(f"\nprofile {folded.name}: inclusive % / self % of samples")
    for inclusive, own, frame in profile_summary(folded):
        print(f"  {inclusive:5.1f}  {own:5.1f}  {frame}")


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
