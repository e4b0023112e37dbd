"""A test hall on a real database: app, clock, logins and device tokens."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hall_server import create_app
from hall_server.app import database_url
from hall_server.services.auth import add_user
from hall_server.services.context import HallContext
from hall_server.services.setup import init_database, rotate_device_tokens
from hall_server.settings import load_settings

SMALL_HALL = Path(__file__).with_name("small_hall.toml")
# Monday 2026-11-23 10:00 in Shanghai: every service of the small hall is open.
MONDAY_10AM = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PASSWORD = "password-123"


@dataclass
class Clock:
    """A hall clock the test moves by hand."""

    now: datetime = MONDAY_10AM

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class HallRig:
    """The app of one test and the credentials to drive it."""

    app: Flask
    ctx: HallContext
    clock: Clock
    tokens: dict[str, str] = field(default_factory=dict)  # login or device name -> token

    @property
    def client(self) -> FlaskClient:
        return self.app.test_client()

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def post(self, who: str, path: str, json: Any = None, **headers: str) -> Any:
        return self.client.post(
            f"/api/v1{path}",
            json=json if json is not None else {},
            headers=self.headers(who, **headers),
        )

    def get(self, who: str, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers(who))

    def issue(self, service: str = "a", **body: Any) -> dict[str, Any]:
        response = self.post("kiosk-1", "/tickets", {"service": service, **body})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def act(self, who: str, window: int, action: str, **body: Any) -> dict[str, Any]:
        response = self.post(who, f"/windows/{window}/{action}", body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def hall_settings(url: str, var_dir: Path, *, config_path: Path = SMALL_HALL, **server: Any) -> Any:
    return load_settings(
        {
            "config_path": str(config_path),
            "server": {"database_url": url, "var_dir": str(var_dir), "async_mode": "threading",
                       "secret_key": "test-secret", "token_ttl_h": 72, **server},
        }
    )  # fmt: skip


def build_hall(
    url: str, var_dir: Path, *, config_path: Path = SMALL_HALL, **server: Any
) -> HallRig:
    """Initialise the database at ``url`` for the small hall and build its app."""
    settings = hall_settings(url, var_dir, config_path=config_path, **server)
    db, hall_id, _ = init_database(settings, database_url(settings))
    now = MONDAY_10AM
    tokens: dict[str, str] = {}
    for login, role in (("staff1", "staff"), ("staff2", "staff"), ("boss", "supervisor"),
                        ("root", "admin")):  # fmt: skip
        add_user(db, hall_id, login, role=role, password=PASSWORD, name=login, now=now)
    for name, (_, token) in rotate_device_tokens(db, hall_id).items():
        tokens[name] = token
    db.dispose()
    return open_hall(settings, tokens, login=True)


def open_hall(settings: Any, tokens: dict[str, str], *, login: bool = False) -> HallRig:
    """Build the app on an initialised database; log the staff in when asked."""
    tokens = dict(tokens)
    app = create_app(settings=settings)
    app.config["TESTING"] = True
    ctx: HallContext = app.extensions["hall"].ctx
    clock = Clock()
    ctx.clock = clock
    hall = HallRig(app, ctx, clock, tokens)
    for name in ("staff1", "staff2", "boss", "root") if login else ():
        response = hall.client.post(
            "/api/v1/auth/login", json={"login": name, "password": PASSWORD}
        )
        assert response.status_code == 200, response.get_json()
        tokens[name] = response.get_json()["token"]
    return hall


# ---------------------------------------------------------------- fixtures (see tests/conftest.py)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The small hall initialised once (schema, layout, logins); tests copy the file."""
    folder = tmp_path_factory.mktemp("template")
    rig = build_hall(f"sqlite:///{folder / 'hall.db'}", folder / "var")
    tokens = dict(rig.tokens)
    rig.ctx.db.dispose()
    return folder / "hall.db", tokens


@pytest.fixture
def hall(tmp_path: Path, sqlite_template: tuple[Path, dict[str, str]]) -> Iterator[HallRig]:
    """The small hall on a file SQLite database (WAL), Monday 10:00 in Shanghai."""
    template, tokens = sqlite_template
    shutil.copy(template, tmp_path / "hall.db")
    rig = open_hall(hall_settings(f"sqlite:///{tmp_path / 'hall.db'}", tmp_path / "var"), tokens)
    yield rig
    rig.ctx.db.dispose()
