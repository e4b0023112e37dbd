"""A throwaway PostgreSQL server for the tests: initdb in a temp dir, one database per test.

Set ``HALL_TEST_POSTGRES_URL`` (a role allowed to CREATE DATABASE) to use a running server
instead. PostgreSQL refuses to run as root, so as root the cluster belongs to the
``postgres`` system user.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

from tests.support.ports import free_port

ENV_URL = "HALL_TEST_POSTGRES_URL"
DEBIAN_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "hall_test"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
# Test data only: durability settings off make each commit cheap; locks are unchanged.
PR_SET_PDEATHSIG = 1
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
}


class PostgresMissing(Exception):
    """No PostgreSQL to run the tests on (not installed, or no user to run it as)."""


def find_bin_dir() -> Path | None:
    """Return the newest PostgreSQL bin folder (Debian's, else from PATH), or None."""

    def major(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    for folder in sorted(DEBIAN_ROOT.glob("*/bin"), key=major, reverse=True):
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    initdb, server = shutil.which("initdb"), shutil.which("postgres")
    if initdb and server and Path(initdb).parent == Path(server).parent:
        return Path(initdb).parent
    return None


def _die_with_parent() -> None:
    """In the child: get SIGINT (fast shutdown) when pytest dies, even by kill -9."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)
    except (OSError, AttributeError):  # not Linux: the session's finaliser stops it
        pass


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root to the postgres user; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresMissing(
            "running as root and there is no 'postgres' user to run PostgreSQL as "
            "(apt-get install -y postgresql creates it)"
        ) from None
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


class PostgresServer:
    """A PostgreSQL cluster in a temp dir, listening on 127.0.0.1 and a socket beside it."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        # Short and under /tmp: the socket path is limited to ~100 bytes, and the postgres
        # user must be able to reach it (pytest's own temp root is private to root).
        self.root = Path(tempfile.mkdtemp(prefix="hall-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.log_path = self.root / "server.log"
        self.password = os.urandom(12).hex()
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/postgres"

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no server log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def init(self) -> None:
        """Create the cluster with a password-protected superuser."""
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        as_user = _run_as()
        if as_user:
            for path in (self.root, password_file):
                os.chown(path, as_user["user"], as_user["group"])
        result = subprocess.run(
            [str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
             f"--pwfile={password_file}", "--auth=scram-sha-256", "-E", "UTF8",
             "--locale=C", "--no-sync", "--no-instructions"],
            capture_output=True, text=True, timeout=120, cwd=self.root, check=False, **as_user,
        )  # fmt: skip
        password_file.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stderr[-2000:]}")

    def start(self, *, attempts: int = 3) -> None:
        """Start the server on a free port; wait until it accepts connections."""
        for attempt in range(1, attempts + 1):
            self.port = free_port()
            settings = FAST_SETTINGS | {
                "port": str(self.port),
                "listen_addresses": "127.0.0.1",
                "unix_socket_directories": str(self.root),
            }
            command = [str(self.bin_dir / "postgres"), "-D", str(self.data)]
            for key, value in settings.items():
                command += ["-c", f"{key}={value}"]
            with self.log_path.open("ab") as log:
                # preexec_fn runs after the switch to the postgres user, which would
                # otherwise clear the parent-death signal.
                self.process = subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.root,
                    preexec_fn=_die_with_parent,
                    **_run_as(),
                )
            if self._wait_ready(START_TIMEOUT_S):
                return
            if attempt == attempts or "could not bind" not in self.log_tail():
                break  # only a port taken meanwhile is worth another try
        self.stop()
        raise RuntimeError(f"PostgreSQL did not start:\n{self.log_tail()}")

    def _wait_ready(self, timeout_s: float) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.admin_url, connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                pass
            try:  # the pause between tries doubles as a watch on the server dying
                self.process.wait(timeout=0.05)
                return False
            except subprocess.TimeoutExpired:
                continue
        return False

    def stop(self) -> None:
        """Shut the server down (fast: roll back open transactions) and wait for it."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def remove(self) -> None:
        """Stop the server and delete its files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Databases:
    """Creates and drops the test databases on one server, given a superuser's URL."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._names = itertools.count(1)

    def _admin(self) -> psycopg.Connection[Any]:
        url = self.admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
        return psycopg.connect(url, autocommit=True, connect_timeout=10)

    def url_of(self, name: str) -> str:
        """The admin URL with its database swapped for ``name``."""
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + quote(name)))

    def create(self) -> str:
        """Create an empty database; return its URL."""
        name = f"hall_test_{os.getpid()}_{next(self._names)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_of(name)

    def drop(self, url: str) -> None:
        """Drop a database made by ``create``, closing whatever connections it still has."""
        name = urlsplit(url).path.lstrip("/")
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_databases() -> Iterator[Databases]:
    """A server for this test session: the one at HALL_TEST_POSTGRES_URL, or our own."""
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        yield Databases(url)
        return
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresMissing(
            "PostgreSQL is not installed (apt-get install -y postgresql), "
            f"or set {ENV_URL} to a server where this role may CREATE DATABASE"
        )
    server = PostgresServer(bin_dir)
    try:
        server.init()
        server.start()
        yield Databases(server.admin_url)
    finally:
        server.remove()
