"""The ``hall`` command as an operator runs it: init, user add, device add, broken config."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from hall_server import create_app

from .hall import SMALL_HALL, hall_settings

HALL = Path(sys.executable).with_name("hall")
# Each test starts the `hall` console script a few times (about a second each).
pytestmark = pytest.mark.slow


@dataclass
class Site:
    """A hall installed in a temporary folder: its config, database and var/."""

    folder: Path
    config: Path

    @property
    def db_path(self) -> Path:
        return self.folder / "hall.db"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def run(self, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``hall ARGS`` with HALL_* pointing at this site, bounded in time."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HALL_")}
        environ |= {
            "HALL_CONFIG": str(self.config),
            "HALL_DATABASE_URL": self.url,
            "HALL_VAR_DIR": str(self.folder / "var"),
            **env,
        }
        return subprocess.run(
            [str(HALL), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=environ,
            cwd=self.folder,
            timeout=60,
            check=False,
        )

    def count(self, table: str) -> int:
        with sqlite3.connect(self.db_path) as connection:
            (found,) = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        connection.close()
        return int(found)

    @contextmanager
    def api(self) -> Iterator[FlaskClient]:
        """A test client of the server on this site's database."""
        app = create_app(settings=hall_settings(self.url, self.folder / "var"))
        try:
            yield app.test_client()
        finally:
            app.extensions["hall"].ctx.db.dispose()


def new_site(folder: Path) -> Site:
    config = folder / "hall.toml"
    config.write_text(SMALL_HALL.read_text(encoding="utf-8"), encoding="utf-8")
    return Site(folder, config)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A site whose database does not exist yet."""
    return new_site(tmp_path)


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database made by `hall init`; tests that start after init copy it."""
    template = new_site(tmp_path_factory.mktemp("initialised"))
    ok(template.run("init"))
    return template.db_path


@pytest.fixture
def ready(tmp_path: Path, initialised: Path) -> Site:
    """A site after `hall init`."""
    site = new_site(tmp_path)
    shutil.copy(initialised, site.db_path)
    return site


def configured(table: str) -> list[dict[str, object]]:
    """The rows of one [[hall.…]] table of the small hall's config."""
    rows: list[dict[str, object]] = tomllib.loads(SMALL_HALL.read_text(encoding="utf-8"))["hall"][
        table
    ]
    return rows


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def login(client: FlaskClient, name: str, password: str) -> int:
    return client.post("/api/v1/auth/login", json={"login": name, "password": password}).status_code


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_init_twice_loads_once_then_says_unchanged(site: Site) -> None:
    first = ok(site.run("init"))
    assert "hall test" in first and "loaded" in first
    counts = {t: site.count(t) for t in ("halls", "services", "windows", "window_skills",
                                         "devices", "notices")}  # fmt: skip
    assert (counts["halls"], counts["services"], counts["windows"]) == (1, 3, 4)
    assert counts["devices"] == len(configured("devices")) > 0
    second = ok(site.run("init"))
    assert "unchanged" in second and "loaded" not in second
    assert {t: site.count(t) for t in counts} == counts


def test_init_after_a_config_change_updates_the_layout_in_place(ready: Site) -> None:
    ready.config.write_text(
        ready.config.read_text(encoding="utf-8") + '\n[[hall.windows]]\nnumber = 5\nzone = "C区"\n'
        'floor = 2\nservices = { c = 2 }\n',
        encoding="utf-8",
    )  # fmt: skip
    assert "loaded" in ok(ready.run("init"))
    assert (ready.count("windows"), ready.count("services"), ready.count("halls")) == (5, 3, 1)
    assert "unchanged" in ok(ready.run("init"))


def test_user_add_reads_the_password_from_stdin_and_the_login_works(ready: Site) -> None:
    out = ok(ready.run("user", "add", "clerk7", "--role", "staff", "--name", "赵六",
                      "--password-stdin", stdin="a-long-secret-1\n"))  # fmt: skip
    assert "clerk7" in out and "a-long-secret-1" not in out
    with ready.api() as client:
        response = client.post(
            "/api/v1/auth/login", json={"login": "clerk7", "password": "a-long-secret-1"}
        )
        assert response.status_code == 200
        assert (response.get_json()["role"], response.get_json()["name"]) == ("staff", "赵六")
        token = response.get_json()["token"]
        opened = client.post("/api/v1/windows/3/open", json={}, headers=bearer(token))
        assert opened.status_code == 200 and opened.get_json()["window"]["staff"] == "赵六"
    # running it again resets the password (and role): the old one stops working
    ok(ready.run("user", "add", "clerk7", "--role", "supervisor", "--password-stdin",
                stdin="another-secret-2\n"))  # fmt: skip
    with ready.api() as client:
        assert login(client, "clerk7", "a-long-secret-1") == 401
        assert login(client, "clerk7", "another-secret-2") == 200
    assert ready.count("staff") == 1


def test_user_add_refuses_a_short_password_and_saves_nothing(ready: Site) -> None:
    result = ready.run("user", "add", "clerk8", "--role", "staff", "--password-stdin",
                      stdin="short\n")  # fmt: skip
    assert result.returncode != 0
    assert "密码至少8位" in result.stderr and "at least 8 characters" in result.stderr
    assert ready.count("staff") == 0


def test_user_add_without_password_stdin_is_a_usage_error(site: Site) -> None:
    result = site.run("user", "add", "clerk9", "--role", "staff")
    assert result.returncode == 2 and "--password-stdin" in result.stderr
    assert not site.db_path.exists()


@pytest.mark.parametrize(
    ("args", "stdin"),
    [(("user", "add", "clerk", "--role", "staff", "--password-stdin"), "a-long-secret-1\n"),
     (("device", "add", "kiosk-9", "--kind", "kiosk"), "")],
    ids=["user-add", "device-add"],
)  # fmt: skip
def test_commands_before_init_say_to_run_init(
    site: Site, args: tuple[str, ...], stdin: str
) -> None:
    result = site.run(*args, stdin=stdin)
    assert result.returncode != 0
    assert "hall init" in result.stderr and "Traceback" not in result.stderr


def test_device_add_prints_a_token_that_works_and_again_rotates_it(ready: Site) -> None:
    first = ok(ready.run("device", "add", "kiosk-9", "--kind", "kiosk")).strip().splitlines()[-1]
    assert first.startswith("d.") and len(first) > 40
    with ready.api() as client:
        issued = client.post("/api/v1/tickets", json={"service": "b"}, headers=bearer(first))
        assert issued.status_code == 201 and issued.get_json()["number"] == "B001"
    second = ok(ready.run("device", "add", "kiosk-9", "--kind", "kiosk")).strip().splitlines()[-1]
    assert second.startswith("d.") and second != first
    with ready.api() as client:
        old = client.get("/api/v1/services", headers=bearer(first))
        assert old.status_code == 401 and old.get_json()["error"]["code"] == "unauthorized"
        assert client.get("/api/v1/services", headers=bearer(second)).status_code == 200
    assert ready.count("devices") == len(configured("devices")) + 1  # kiosk-9 once


def test_device_add_refuses_to_change_a_devices_kind(ready: Site) -> None:
    token = ok(ready.run("device", "add", "kiosk-9", "--kind", "kiosk")).strip().splitlines()[-1]
    result = ready.run("device", "add", "kiosk-9", "--kind", "display")
    assert result.returncode != 0 and "kiosk-9 is registered as a kiosk" in result.stderr
    with ready.api() as client:
        assert client.get("/api/v1/services", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    ("edit", "env", "names"),
    [
        (("notices = ", 'colour = "red"\nnotices = '), {}, ["hall.colour", "unknown key"]),
        (("[hall.policy]", "[hall.policy]\nmax_recall = 2"), {},
         ["hall.policy.max_recall", "max_recalls"]),
        (("number = 2\n", "number = 2\nweight = 3\n"), {}, ["weight"]),
        (None, {"HALL_PORT": "abc"}, ["HALL_PORT", "server.port"]),
    ],
    ids=["unknown-hall-key", "policy-typo", "unknown-window-key", "bad-environment"],
)  # fmt: skip
def test_broken_config_stops_init_naming_the_key(
    site: Site, edit: tuple[str, str] | None, env: dict[str, str], names: list[str]
) -> None:
    if edit is not None:
        text = site.config.read_text(encoding="utf-8")
        assert edit[0] in text
        site.config.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    result = site.run("init", **env)
    assert result.returncode != 0
    assert "配置有误 (config error)" in result.stderr
    for name in names:
        assert name in result.stderr
    assert "Traceback" not in result.stderr
    assert not site.db_path.exists()  # nothing created from a config that failed
