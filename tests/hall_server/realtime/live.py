"""A real ``hall serve`` process on 127.0.0.1 for the small hall, and an HTTP caller for it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import requests

from hall_server.app import database_url
from hall_server.services.auth import add_user
from hall_server.services.setup import init_database, rotate_device_tokens
from tests.support.ports import free_port
from tests.support.serve import start_hall_serve

from ..hall import MONDAY_10AM, PASSWORD, SMALL_HALL, hall_settings


def prepare(folder: Path) -> tuple[str, dict[str, str]]:
    """Initialise a SQLite hall in ``folder``; return its URL and the device tokens."""
    url = f"sqlite:///{folder / 'hall.db'}"
    settings = hall_settings(url, folder / "var")
    db, hall_id, _ = init_database(settings, database_url(settings))
    for login in ("staff1", "staff2"):
        add_user(db, hall_id, login, role="staff", password=PASSWORD, name=login, now=MONDAY_10AM)
    tokens = {name: token for name, (_, token) in rotate_device_tokens(db, hall_id).items()}
    db.dispose()
    return url, tokens


class LiveServer:
    """``hall serve`` in a subprocess on one port across restarts; ``start`` waits until it
    answers HTTP (tests/support/serve.py)."""

    def __init__(self, folder: Path, url: str, *, async_mode: str) -> None:
        self.folder, self.port = folder, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HALL_CONFIG": str(SMALL_HALL),
            "HALL_DATABASE_URL": url,
            "HALL_VAR_DIR": str(folder / "var"),
            "HALL_ASYNC_MODE": async_mode,
            "HALL_SECRET_KEY": "live-test-secret",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log_path = self.folder / f"server-{self.starts}.log"
        self.process = start_hall_serve(self.env, log_path, port=self.port).process

    def kill(self) -> None:
        """Stop the server at once, as a crash or a power cut would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.folder.glob("server-*.log"))
        )


class Caller:
    """HTTP calls to the live server with one token."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    @classmethod
    def login(cls, base: str, login: str) -> Caller:
        response = requests.post(
            f"{base}/api/v1/auth/login", json={"login": login, "password": PASSWORD}, timeout=10
        )
        assert response.status_code == 200, response.text
        return cls(base, response.json()["token"])

    def post(self, path: str, body: Any = None) -> Any:
        response = requests.post(
            f"{self.base}/api/v1{path}",
            json=body or {},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    def get(self, path: str) -> Any:
        response = requests.get(
            f"{self.base}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()
