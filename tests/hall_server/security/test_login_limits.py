"""Passwords cannot be guessed without limit (issue 9, item 3).

Wrong passwords count per login and per client address; a full count answers 429 with
Retry-After and a Chinese + English sentence, even to the right password; a login whose
count fills is locked in the database and the hall log until a supervisor or admin lifts
it; an unknown login costs the same password check as a wrong password.
"""

from __future__ import annotations

import re
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from werkzeug.security import check_password_hash

from hall_server.api.limiter import storage_uri
from hall_server.services import auth
from hall_server.settings import ConfigError, load_settings
from tests.hall_server.hall import PASSWORD, SMALL_HALL, HallRig, open_hall
from tests.hall_server.web.test_dashboard import log_in
from tests.live import LiveHall
from tests.needs import need_program
from tests.support.ports import free_port
from tests.support.redis import redis_server

LOCKED = re.compile(
    r"登录尝试过多，请(\d+)分钟后再试 \(too many login attempts: try again in (\d+) minutes?\)\."
)
Opener = Callable[..., HallRig]


@pytest.fixture
def open_limited(tmp_path: Path, sqlite_template: tuple[Path, dict[str, str]]) -> Iterator[Opener]:
    """Open the small hall (a copy of the template database) with these [login] settings."""
    template, tokens = sqlite_template
    shutil.copy(template, tmp_path / "hall.db")
    opened: list[HallRig] = []

    def open_(server: dict[str, Any] | None = None, **login: Any) -> HallRig:
        settings = load_settings(
            {
                "config_path": str(SMALL_HALL),
                "server": {"database_url": f"sqlite:///{tmp_path / 'hall.db'}",
                           "var_dir": str(tmp_path / "var"), "async_mode": "threading",
                           "secret_key": "test-secret", **(server or {})},
                "login": login,
            }
        )  # fmt: skip
        rig = open_hall(settings, tokens)
        opened.append(rig)
        return rig

    yield open_
    for rig in opened:
        rig.ctx.db.dispose()


def try_login(
    hall: HallRig, login: str, password: str, address: str = "10.0.0.7", **headers: str
) -> Any:
    return hall.client.post(
        "/api/v1/auth/login",
        json={"login": login, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


def assert_limited(response: Any) -> int:
    """A 429 with Retry-After (seconds) and the bilingual sentence naming the minutes."""
    assert response.status_code == 429, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited"
    found = LOCKED.fullmatch(error["message"])
    assert found, error["message"]
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    assert int(found[1]) == int(found[2]) == -(-retry_after // 60)
    return retry_after


def staff_events(hall: HallRig, kind: str) -> list[dict[str, Any]]:
    events = hall.get("boss", "/events?after=0").get_json()["events"]
    return [e for e in events if e["type"] == kind]


def test_the_sixth_wrong_password_gets_429_and_the_right_one_is_refused_while_locked(
    hall: HallRig,
) -> None:
    for _ in range(5):
        assert try_login(hall, "staff1", "wrong-password").status_code == 401
    assert_limited(try_login(hall, "staff1", "wrong-password"))
    assert_limited(try_login(hall, "staff1", PASSWORD))  # guessing cannot confirm a password

    (locked,) = staff_events(hall, "login.locked")
    assert locked["login"] == "staff1" and locked["actor"] == "system"
    assert locked["address"] == "10.0.0.7" and locked["failures"] == 5
    # Staff-only: the public stream shows no login and no address.
    public = hall.get("tv-1", "/events?after=0").get_json()["events"]
    assert all("login" not in e and "address" not in e for e in public)


def test_an_unknown_login_is_limited_exactly_like_a_known_one(open_limited: Opener) -> None:
    hall = open_limited(fails_per_login=2)
    answers = {}
    for login in ("staff1", "nobody"):
        first = [try_login(hall, login, "wrong-password").status_code for _ in range(2)]
        answers[login] = (first, try_login(hall, login, "wrong-password").get_json()["error"])
    assert answers["staff1"][0] == answers["nobody"][0] == [401, 401]
    assert answers["staff1"][1] == answers["nobody"][1]  # the same 429, the same sentence


def test_other_logins_from_the_address_work_until_the_address_limit(open_limited: Opener) -> None:
    hall = open_limited(fails_per_login=2, fails_per_address=4)
    for _ in range(2):
        try_login(hall, "staff1", "wrong-password")
    assert_limited(try_login(hall, "staff1", PASSWORD))
    assert try_login(hall, "staff2", PASSWORD).status_code == 200  # same address, other login
    assert try_login(hall, "x1", "wrong-password").status_code == 401
    assert try_login(hall, "x2", "wrong-password").status_code == 401  # the 4th from here
    assert_limited(try_login(hall, "staff2", PASSWORD))
    assert try_login(hall, "staff2", PASSWORD, address="10.0.0.8").status_code == 200


def test_a_supervisor_lifts_the_lock_audited_and_the_right_password_works_again(
    open_limited: Opener,
) -> None:
    hall = open_limited(fails_per_login=2)
    for _ in range(2):
        try_login(hall, "staff1", "wrong-password")
    assert_limited(try_login(hall, "staff1", PASSWORD))
    listed = hall.get("root", "/admin/staff").get_json()["staff"]
    assert {s["login"]: s["locked"] for s in listed}["staff1"] is True

    hall.clock.advance(minutes=1)
    lifted = hall.post("boss", "/staff/staff1/unlock")
    assert lifted.status_code == 200, lifted.get_json()
    assert lifted.get_json()["lifted"] is True

    assert try_login(hall, "staff1", PASSWORD).status_code == 200  # at once
    (unlocked,) = staff_events(hall, "login.unlocked")
    assert unlocked["login"] == "staff1" and unlocked["actor"] == "boss"
    assert unlocked["at"] == hall.clock.now.isoformat()
    audit = hall.get("root", "/admin/audit").get_json()["changes"]
    assert [c["type"] for c in audit[:2]] == ["login.unlocked", "login.locked"]
    listed = hall.get("root", "/admin/staff").get_json()["staff"]
    assert {s["login"]: s["locked"] for s in listed}["staff1"] is False


def test_staff_cannot_lift_a_lock(open_limited: Opener) -> None:
    hall = open_limited(fails_per_login=2)
    for _ in range(2):
        try_login(hall, "staff1", "wrong-password")
    refused = hall.post("staff2", "/staff/staff1/unlock")
    assert refused.status_code == 403
    assert hall.post("kiosk-1", "/staff/staff1/unlock").status_code == 403
    assert hall.post("boss", "/staff/nobody/unlock").status_code == 404
    assert_limited(try_login(hall, "staff1", PASSWORD))
    assert staff_events(hall, "login.unlocked") == []


def test_a_lock_holds_across_a_restart_and_ends_with_its_window(open_limited: Opener) -> None:
    first = open_limited(fails_per_login=2)
    for _ in range(2):
        try_login(first, "staff1", "wrong-password")
    restarted = open_limited(fails_per_login=2)  # its own (empty) memory counts
    restarted.clock.now = first.clock.now
    assert_limited(try_login(restarted, "staff1", PASSWORD))  # the lock is in the database
    restarted.clock.advance(minutes=16)
    assert try_login(restarted, "staff1", PASSWORD).status_code == 200


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(open_limited: Opener) -> None:
    direct = open_limited(fails_per_login=100, fails_per_address=2)
    for n in range(2):
        try_login(direct, f"x{n}", "wrong", **{"X-Forwarded-For": f"192.0.2.{n}"})
    spoofed = try_login(direct, "staff2", PASSWORD, **{"X-Forwarded-For": "192.0.2.99"})
    assert_limited(spoofed)  # a client cannot pick its own address

    proxied = open_limited({"trusted_proxies": 1}, fails_per_login=100, fails_per_address=2)
    for n in range(2):
        try_login(proxied, f"x{n}", "wrong", address="10.0.0.1",
                  **{"X-Forwarded-For": "192.0.2.1"})  # fmt: skip
    assert_limited(try_login(proxied, "staff2", PASSWORD, address="10.0.0.1",
                             **{"X-Forwarded-For": "192.0.2.1"}))  # fmt: skip
    other = try_login(proxied, "staff2", PASSWORD, address="10.0.0.1",
                      **{"X-Forwarded-For": "192.0.2.2"})  # fmt: skip
    assert other.status_code == 200  # another client behind the same proxy


@pytest.mark.redis
def test_two_server_processes_share_one_count(open_limited: Opener, tmp_path: Path) -> None:
    with redis_server(tmp_path, need_program("redis-server")) as url:
        one = open_limited(fails_per_login=4, storage_url=url)
        two = open_limited(fails_per_login=4, storage_url=url)
        for hall in (one, two, one, two):
            assert try_login(hall, "staff1", "wrong-password").status_code == 401
        assert_limited(try_login(one, "staff1", PASSWORD))
        assert_limited(try_login(two, "staff1", PASSWORD))
        assert one.post("boss", "/staff/staff1/unlock").status_code == 200
        assert try_login(two, "staff1", PASSWORD).status_code == 200  # lifted in both at once


@pytest.mark.browser
def test_locked_staff_read_why_and_an_admin_lifts_the_lock_from_the_staff_list(
    live_hall: LiveHall, page: Page
) -> None:
    wrong = {"login": "staff1", "password": "wrong-password"}
    for _ in range(5):
        assert live_hall.api(None, "POST", "/auth/login", wrong).status_code == 401
    page.goto(live_hall.url("/window"))
    page.fill("#login input[name=login]", "staff1")
    page.fill("#login input[name=password]", PASSWORD)
    page.click("#login-button")
    expect(page.locator("#login .error")).to_contain_text(
        "登录尝试过多，请15分钟后再试 (too many login attempts: try again in 15 minutes).",
        timeout=10_000,
    )

    log_in(page, live_hall, "/admin", login="root")
    page.click('#tabs button[data-tab="staff"]')
    page.click('button[data-unlock="staff1"]', timeout=10_000)
    expect(page.locator("#saved")).to_contain_text("staff1 已解锁", timeout=10_000)
    expect(page.locator('button[data-unlock="staff1"]')).to_have_count(0)
    right = {"login": "staff1", "password": PASSWORD}
    assert live_hall.api(None, "POST", "/auth/login", right).status_code == 200
    page.click('#tabs button[data-tab="audit"]')
    expect(page.locator("#panel tbody tr").first).to_contain_text("unlocked", timeout=10_000)
    expect(page.locator("#panel tbody tr").first).to_contain_text("root")


def test_a_redis_that_cannot_be_reached_does_not_stop_logins_or_limits(
    open_limited: Opener, caplog: pytest.LogCaptureFixture
) -> None:
    hall = open_limited(fails_per_login=2, storage_url=f"redis://127.0.0.1:{free_port()}/0")
    assert try_login(hall, "staff2", PASSWORD).status_code == 200
    for _ in range(2):
        assert try_login(hall, "staff1", "wrong-password").status_code == 401
    assert_limited(try_login(hall, "staff1", PASSWORD))  # counted in this process meanwhile
    warnings = [r for r in caplog.records if "storage unreachable" in r.getMessage()]
    assert len(warnings) == 1


def test_the_counts_live_with_the_halls_redis_unless_told_otherwise() -> None:
    def uri(**settings: Any) -> str:
        return storage_uri(load_settings({"config_path": str(SMALL_HALL), **settings}))

    assert uri() == "memory://"
    assert uri(server={"message_queue": "redis://mq:6379/0"}) == "redis://mq:6379/0"
    assert uri(server={"message_queue": "unix:///run/redis.sock"}) == "redis+unix:///run/redis.sock"
    own = {"storage_url": "redis://limits:6379/2"}
    assert uri(server={"message_queue": "redis://mq:6379/0"}, login=own) == own["storage_url"]


def test_several_workers_may_not_count_in_their_own_memory() -> None:
    with pytest.raises(ConfigError, match=r"login\.storage_url"):
        load_settings(
            {
                "config_path": str(SMALL_HALL),
                "server": {"workers": 2, "message_queue": "redis://127.0.0.1:1/0"},
                "login": {"storage_url": "memory://"},
            }
        )


# ---------------------------------------------------------------- equal timing


def test_unknown_login_inactive_login_and_wrong_password_do_the_same_password_work(
    open_limited: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    hall = open_limited(fails_per_login=100, fails_per_address=100)
    disabled = hall.client.put(
        "/api/v1/admin/staff/staff2", json={"active": False}, headers=hall.headers("root")
    )
    assert disabled.status_code == 200, disabled.get_json()
    checked: list[str] = []

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash.split("$")[0])  # the method and its cost, e.g. scrypt:32768:8:1
        return check_password_hash(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    for login in ("nobody", "staff1", "staff2"):
        checked.clear()
        assert try_login(hall, login, "wrong-password").status_code == 401
        assert checked == [auth.dummy_password_hash().split("$")[0]], login
    checked.clear()
    assert try_login(hall, "staff2", PASSWORD).status_code == 401  # inactive: refused
    assert len(checked) == 1


def test_unknown_login_and_wrong_password_take_about_as_long(open_limited: Opener) -> None:
    hall = open_limited(fails_per_login=100, fails_per_address=100)
    try_login(hall, "nobody", "warm-up")  # the first request of an app warms its caches
    times: dict[str, list[float]] = {"nobody": [], "staff1": []}
    for _ in range(5):
        for login, spent in times.items():  # interleaved: a busy moment hits both
            start = time.perf_counter()
            assert try_login(hall, login, "wrong-password").status_code == 401
            spent.append(time.perf_counter() - start)
    ratio = statistics.median(times["nobody"]) / statistics.median(times["staff1"])
    assert 0.5 < ratio < 2, times  # was ~0.03 (3-6 ms against 120-230 ms)
