"""Past closing (超出今日办理时间) is the hall's to say, in every answer that carries a wait:
by the service's own hours that weekday (a Saturday of mornings only), on the hall's clock,
never by a screen's clock or its idea of the usual hours."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .hall import PASSWORD, SMALL_HALL, HallRig, build_hall

USUAL = [["08:30", "12:00"], ["13:30", "17:30"]]  # 社会保障 (a), Monday to Friday
SATURDAY = [["08:30", "12:00"]]
FRIDAY_11AM = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
SATURDAY_11AM = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SUNDAY_11AM = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def hall_open_on_saturday_mornings(tmp_path: Path, now: datetime) -> HallRig:
    """The small hall with 社会保障 (a) on Saturday mornings too, at ``now`` (staff logged in)."""
    usual = 'hours = [["08:30", "12:00"], ["13:30", "17:30"]]\n'
    text = SMALL_HALL.read_text(encoding="utf-8")
    assert text.count(usual) == 1
    config = tmp_path / "hall.toml"
    config.write_text(text.replace(usual, usual + 'weekdays = [1, 2, 3, 4, 5, 6]\n'
                                   'weekday_hours = { 6 = [["08:30", "12:00"]] }\n'),
                      encoding="utf-8")  # fmt: skip
    hall = build_hall(f"sqlite:///{tmp_path / 'hall.db'}", tmp_path / "var", config_path=config)
    hall.clock.now = now
    for name in ("staff1", "boss"):  # a new day: log in again
        answer = hall.client.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.get_json()
        hall.tokens[name] = answer.get_json()["token"]
    return hall


def by_code(items: list[dict[str, Any]], key: str = "code") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


@pytest.mark.parametrize(
    ("now", "hours_today", "past_closing"),
    [(FRIDAY_11AM, USUAL, False), (SATURDAY_11AM, SATURDAY, True)],
    ids=["friday", "saturday"],
)
def test_a_wait_over_an_hour_is_past_closing_by_that_days_hours(
    tmp_path: Path, now: datetime, hours_today: list[list[str]], past_closing: bool
) -> None:
    hall = hall_open_on_saturday_mornings(tmp_path, now)
    hall.act("staff1", 2, "open")  # window 2 serves a
    last = [hall.issue("a") for _ in range(12)][-1]
    # 11:00 and a wait of over an hour: past 12:00, the end of Saturday's only period, but
    # not of Friday's last (17:30)
    assert last["eta_s"] > 3600
    assert last["eta_past_closing"] is past_closing

    phone = hall.client.get(f"/api/v1/public/tickets/{last['token']}").get_json()
    assert phone["eta_s"] > 3600 and phone["eta_past_closing"] is past_closing
    staff_view = hall.get("boss", f"/tickets/{last['id']}").get_json()
    assert staff_view["eta_past_closing"] is past_closing

    services = by_code(hall.get("kiosk-1", "/services").get_json()["services"])
    assert services["a"]["hours"] == USUAL  # the usual hours, and today's
    assert services["a"]["hours_today"] == hours_today
    assert services["a"]["eta_s"] > 3600
    assert services["a"]["eta_past_closing"] is past_closing
    queues = by_code(hall.get("boss", "/snapshot").get_json()["queues"], "service")
    assert queues["a"]["eta_past_closing"] is past_closing
    # open round the clock: no closing to be past
    assert services["b"]["hours_today"] == [["00:00", "24:00"]]
    assert services["b"]["eta_past_closing"] is False


def test_a_day_without_ticket_hours_says_so_and_tells_no_closing(tmp_path: Path) -> None:
    hall = hall_open_on_saturday_mornings(tmp_path, SUNDAY_11AM)
    state = hall.get("kiosk-1", "/kiosk/state").get_json()
    a = by_code(state["services"])["a"]
    assert a["hours_today"] == [] and a["available"] is False
    assert a["reason"] == "社会保障今日不办理 (not served today)."
    assert a["eta_past_closing"] is False
