"""The hall log over HTTP: GET /events?after=N, as screens, agents and auditors read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hall_server.contract import PUBLIC_WITHHELD_EVENTS, QUEUE_COUNTS, STAFF_ONLY_EVENTS
from hall_server.models import LogEvent

from ..hall import HallRig
from ..realtime.halls import small_hall_with
from ..realtime.scenario import morning, next_day_expiry


def events(hall: HallRig, who: str, after: int | str = 0, **query: Any) -> dict[str, Any]:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    response = hall.get(who, f"/events?after={after}{extra}")
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_every_state_change_of_a_morning_is_logged_in_order_with_its_actor(
    hall: HallRig,
) -> None:
    today = morning(hall)
    expiry = next_day_expiry(hall)
    assert len(expiry) == 2  # A002 still at window 2, B001 back in the queue after its hold
    expected = today + expiry
    log = events(hall, "boss")
    assert log["snapshot_required"] is False
    assert [e["seq"] for e in log["events"]] == list(range(1, len(expected) + 1))
    assert log["last_seq"] == len(expected)
    assert [(e["type"], e["actor"]) for e in log["events"]] == expected
    with hall.ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(LogEvent)) == len(expected)


def test_each_event_says_what_changed_and_when(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    hall.clock.advance(minutes=2)
    ticket = hall.issue("b")
    hall.clock.advance(minutes=3)
    hall.act("staff1", 3, "call-next")
    opened, issued, called = events(hall, "staff1")["events"]
    assert opened == {
        "seq": 1, "type": "window.opened", "at": "2026-11-23T02:00:00+00:00",
        "window": 3, "state": "open", "reason": "", "actor": "staff1",
    }  # fmt: skip
    assert issued["at"] == "2026-11-23T02:02:00+00:00"
    assert (issued["ticket_id"], issued["number"], issued["waiting"]) == (ticket["id"], "B001", 1)
    assert called["at"] == "2026-11-23T02:05:00+00:00"
    assert (called["number"], called["window"], called["state"]) == ("B001", 3, "called")
    assert called["waiting"] == 0


def test_after_returns_only_the_later_events(hall: HallRig) -> None:
    morning(hall)
    last = events(hall, "boss")["last_seq"]
    later = events(hall, "boss", after=last - 3)
    assert [e["seq"] for e in later["events"]] == [last - 2, last - 1, last]
    assert events(hall, "boss", after=last) == {
        "events": [],
        "last_seq": last,
        "snapshot_required": False,
    }


def test_a_screen_that_is_up_to_date_gets_no_events_and_the_true_counts(hall: HallRig) -> None:
    morning(hall)
    last = events(hall, "tv-1")["last_seq"]
    caught_up = events(hall, "tv-1", after=last)
    assert (caught_up["events"], caught_up["snapshot_required"]) == ([], False)
    counts = caught_up["counts"]
    assert (counts["type"], counts["seq"]) == (QUEUE_COUNTS, last)
    snapshot = hall.get("boss", "/snapshot").get_json()
    assert counts["waiting"] == {q["service"]: q["waiting"] for q in snapshot["queues"]}


@pytest.mark.parametrize("after", ["abc", "-1", "1.5", "", "%201", "0x10"])
def test_after_that_is_not_a_whole_number_is_a_bad_request(hall: HallRig, after: str) -> None:
    response = hall.get("tv-1", f"/events?after={after}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    assert "after" in error["message"]


def test_limit_that_is_not_a_whole_number_is_a_bad_request(hall: HallRig) -> None:
    response = hall.get("tv-1", "/events?after=0&limit=abc")
    assert response.status_code == 400


def test_a_reader_too_far_behind_is_told_to_take_a_snapshot(hall: HallRig) -> None:
    for _ in range(6):
        hall.issue("b")
    assert events(hall, "boss", after=0, limit=5) == {
        "events": [],
        "last_seq": 6,
        "snapshot_required": True,
    }
    caught_up = events(hall, "boss", after=1, limit=5)
    assert [e["seq"] for e in caught_up["events"]] == [2, 3, 4, 5, 6]


def test_server_resync_max_events_bounds_the_catch_up_over_http(
    tmp_path: Path, sqlite_template: tuple[Path, dict[str, str]]
) -> None:
    hall = small_hall_with(tmp_path, sqlite_template, resync_max_events=3)
    try:
        for _ in range(4):
            hall.issue("b")
        assert events(hall, "boss", after=0)["snapshot_required"] is True
        assert [e["seq"] for e in events(hall, "boss", after=1)["events"]] == [2, 3, 4]
    finally:
        hall.ctx.db.dispose()


def test_a_display_reads_the_public_log(hall: HallRig) -> None:
    """Calls and window changes, never people, issues or staff-only events; then the counts."""
    expected = morning(hall)
    log = events(hall, "tv-1")["events"]
    public = [kind for kind, _ in expected if kind not in PUBLIC_WITHHELD_EVENTS]
    assert [e["type"] for e in log] == public
    assert "ticket.called" in public and "window.opened" in public
    assert all("actor" not in e for e in log)
    assert all("case_no" not in e for e in log)
    # Each public event names the public event before it, so a screen tells a lost one.
    assert [e["prev"] for e in log[1:]] == [e["seq"] for e in log[:-1]]
    finished = next(e for e in events(hall, "boss")["events"] if e["type"] == "ticket.finished")
    assert finished["case_no"] == "BJ-2026-001"  # staff see the case number


@pytest.mark.parametrize("who", ["kiosk-1", "tv-1"])
def test_public_devices_never_see_staff_only_fields(hall: HallRig, who: str) -> None:
    morning(hall)
    for event in events(hall, who)["events"]:
        if event["type"] in STAFF_ONLY_EVENTS:
            assert set(event) == {"seq", "type", "at"}
        assert "actor" not in event


def test_the_keypad_agent_reads_the_staff_log(hall: HallRig) -> None:
    morning(hall)
    log = events(hall, "keypad-2")["events"]
    assert all("actor" in e for e in log)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic c3RhZmYxOnB3"}],
    ids=["no token", "bad token", "not bearer"],
)
def test_the_log_needs_a_token(hall: HallRig, headers: dict[str, str]) -> None:
    response = hall.client.get("/api/v1/events?after=0", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_logged_out_staff_token_reads_no_more(hall: HallRig) -> None:
    assert hall.post("staff1", "/auth/logout").status_code in (200, 204)
    assert hall.get("staff1", "/events?after=0").status_code == 401


def test_a_reader_ahead_of_the_log_is_told_to_take_a_snapshot(hall: HallRig) -> None:
    hall.issue("b")
    assert events(hall, "tv-1", after=50)["snapshot_required"] is True
