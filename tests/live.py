"""A real hall server in a subprocess on 127.0.0.1, and a real browser (Debian Chromium).

    hall = start_live_hall(tmp_path)            # the small test hall, SQLite, gevent
    hall.api("staff1", "POST", "/windows/3/open")
    page.goto(hall.url(f"/display/tv-1?token={hall.tokens['tv-1']}"))

Every server is killed at the end of its test, even when the test fails.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.needs import missing, need_program
from tests.support.ports import free_port
from tests.support.redis import redis_server as redis_server  # importable from here too
from tests.support.serve import start_hall_serve

ROOT = Path(__file__).resolve().parents[1]
SMALL_HALL = ROOT / "tests" / "hall_server" / "small_hall.toml"
DEMO_HALL = ROOT / "config" / "halls" / "demo.toml"
PASSWORD = "password-123"
STAFF = (("staff1", "staff"), ("staff2", "staff"), ("boss", "supervisor"), ("root", "admin"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required"]  # fmt: skip


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
        return LiveHall(f"http://127.0.0.1:{env['HALL_PORT']}", env, _serve(env, log_path),
                        log_path, dict(self.tokens))  # fmt: skip

    def restart(self) -> None:
        """Stop the server and start it again on the same database and port."""
        self.stop()
        self.process = _serve(self.env, self.log_path)


def _serve(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``hall serve`` on ``HALL_PORT``, answering HTTP (tests/support/serve.py)."""
    return start_hall_serve(env, log_path, port=int(env["HALL_PORT"])).process


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
    hall = LiveHall(f"http://127.0.0.1:{port}", env, _serve(env, tmp_path / "server.log"),
                    tmp_path / "server.log", tokens)  # fmt: skip
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


@contextmanager
def two_live_halls(tmp_path: Path, **env_extra: str) -> Iterator[tuple[LiveHall, LiveHall]]:
    """Two server processes on one database (give them ``HALL_MESSAGE_QUEUE``), stopped after."""
    first = start_live_hall(tmp_path, **env_extra)
    try:
        second = first.another_process(tmp_path / "second.log")
    except RuntimeError:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()
