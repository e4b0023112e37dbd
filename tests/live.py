"""A real hall server in a subprocess on 127.0.0.1, and a real browser (Debian Chromium).

    hall = start_live_hall(tmp_path)            # the small test hall, SQLite, gevent
    hall.api("staff1", "POST", "/windows/3/open")
    page.goto(hall.url(f"/display/tv-1?token={hall.tokens['tv-1']}"))

Every server is killed at the end of its test, even when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.needs import missing, need_program

ROOT = Path(__file__).resolve().parents[1]
SMALL_HALL = ROOT / "tests" / "hall_server" / "small_hall.toml"
DEMO_HALL = ROOT / "config" / "halls" / "demo.toml"
PASSWORD = "password-123"
STAFF = (("staff1", "staff"), ("staff2", "staff"), ("boss", "supervisor"), ("root", "admin"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def redis_server(workdir: Path, program: str = "redis-server") -> Iterator[str]:
    """A throwaway Redis on 127.0.0.1 (the queue between server processes); yields its URL.

    Shared with the benchmarks (benchmarks/live_hall.py).
    """
    port = free_port()
    server = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)  # polling the server's readiness, bounded by the deadline
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclass
class LiveHall:
    """A running hall server and the credentials to drive it."""

    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def api(self, who: str | None, method: str, path: str, json: Any = None,
            **headers: str) -> requests.Response:  # fmt: skip
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return requests.request(method, self.url("/api/v1" + path), json=json, headers=headers,
                                timeout=10)  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def another_process(self, log_path: Path) -> LiveHall:
        """Start a second server process on the same database (and message queue)."""
        env = {**self.env, "HALL_PORT": str(free_port())}
        other = LiveHall(f"http://127.0.0.1:{env['HALL_PORT']}", env, _spawn(env, log_path),
                         log_path, dict(self.tokens))  # fmt: skip
        _wait_ready(other)
        return other

    def restart(self) -> None:
        """Stop the server and start it again on the same database and port."""
        self.stop()
        self.process = _spawn(self.env, self.log_path)
        _wait_ready(self)


def _spawn(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "hall_server", "serve", "--host", "127.0.0.1",
               "--port", env["HALL_PORT"]]  # fmt: skip
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_ready(hall: LiveHall, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if hall.process.poll() is not None:
            raise RuntimeError(f"hall server exited:\n{hall.log()}")
        try:
            if requests.get(hall.url("/api/v1/openapi.json"), timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)  # polling the server's readiness, bounded by the deadline
    hall.stop()
    raise RuntimeError(f"hall server not ready after {timeout_s}s:\n{hall.log()}")


def start_live_hall(tmp_path: Path, *, config: Path = SMALL_HALL, async_mode: str = "gevent",
                    database_url: str | None = None, **env_extra: str) -> LiveHall:  # fmt: skip
    """Initialise a database for ``config``, create logins and device tokens, start the server."""
    from datetime import UTC, datetime

    from hall_server.app import database_url as default_url
    from hall_server.services.auth import add_user
    from hall_server.services.setup import init_database, rotate_device_tokens
    from hall_server.settings import load_settings

    var = tmp_path / "var"
    port = free_port()
    env = {**os.environ, "HALL_CONFIG": str(config), "HALL_VAR_DIR": str(var),
           "HALL_ASYNC_MODE": async_mode, "HALL_PORT": str(port),
           "HALL_SECRET_KEY": "live-test-secret", **env_extra}  # fmt: skip
    if database_url:
        env["HALL_DATABASE_URL"] = database_url
    settings = load_settings(environ=env)
    db, hall_id, _ = init_database(settings, default_url(settings))
    now = datetime.now(UTC)
    for login, role in STAFF:
        add_user(db, hall_id, login, role=role, password=PASSWORD, name=login, now=now)
    tokens = {name: token for name, (_, token) in rotate_device_tokens(db, hall_id).items()}
    db.dispose()
    hall = LiveHall(f"http://127.0.0.1:{port}", env, _spawn(env, tmp_path / "server.log"),
                    tmp_path / "server.log", tokens)  # fmt: skip
    _wait_ready(hall)
    for login, _ in STAFF:
        response = hall.api(None, "POST", "/auth/login", {"login": login, "password": PASSWORD})
        response.raise_for_status()
        hall.tokens[login] = response.json()["token"]
    return hall


@pytest.fixture
def live_hall(tmp_path: Path) -> Iterator[LiveHall]:
    """The small test hall served by a real `hall serve` (gevent) on a free port."""
    hall = start_live_hall(tmp_path)
    yield hall
    hall.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    path = need_program("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Pages report what their Content-Security-Policy refused; watch_csp turns that into a list.
CSP_WATCH = """document.addEventListener("securitypolicyviolation", (e) => console.error(
  `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
  + ` at ${e.sourceFile}:${e.lineNumber}`));"""


def watch_csp(page: Any) -> list[str]:
    """Collect every Content-Security-Policy violation ``page`` meets (from now on)."""
    found: list[str] = []
    page.add_init_script(CSP_WATCH)

    def seen(message: Any) -> None:
        text = message.text
        csp = "CSP violation" in text or "Content Security Policy" in text
        if message.type == "error" and csp:
            found.append(text)

    page.on("console", seen)
    return found


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page, Chinese locale, 1920×1080; the test fails on a CSP violation."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    violations = watch_csp(page)
    yield page
    context.close()
    assert not violations, violations
