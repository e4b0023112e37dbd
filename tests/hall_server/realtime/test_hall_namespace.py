"""The /hall namespace: snapshot then events, who may connect, what each audience sees,
and how a client that was away catches up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from socketio.exceptions import ConnectionRefusedError

from hall_server.contract import NAMESPACE, PUBLIC_WITHHELD_EVENTS, STAFF_ONLY_EVENTS
from hall_server.domain import events as ev
from hall_server.extensions import socketio
from hall_server.realtime import TOKEN_RECHECK_S
from hall_server.services.actors import SYSTEM
from hall_server.services.audit import LoginLocked, LoginUnlocked
from hall_server.services.hall_log import hall_write
from tests.support.polling import until

from ..hall import HallRig
from .scenario import morning
from .sockets import as_device, connect, events_of, received, snapshot_of

SNAPSHOT_KEYS = {"seq", "windows", "queues", "recent_calls", "alarms", "notices"}


def test_staff_get_a_snapshot_first_then_every_change_in_seq_order(hall: HallRig) -> None:
    client = as_device(hall, "staff1")
    snap = snapshot_of(client)
    assert set(snap) >= SNAPSHOT_KEYS
    assert snap["seq"] == 0 and snap["notices"] == ["请保管好随身物品"]
    assert [w["number"] for w in snap["windows"]] == [1, 2, 3, 4]
    expected = morning(hall)
    got = events_of(client)
    assert [e["seq"] for e in got] == list(range(1, len(expected) + 1))
    assert [(e["type"], e["actor"]) for e in got] == expected


def test_a_call_reaches_the_screen_with_number_window_and_queue(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    hall.issue("b")
    hall.issue("b")
    display = as_device(hall, "tv-1")
    assert snapshot_of(display)["seq"] == 3
    hall.act("staff1", 3, "call-next")
    (called,) = events_of(display)
    assert called["seq"] == 4 and called["type"] == "ticket.called"
    assert (called["number"], called["window"], called["window_name"]) == ("B001", 3, "3号窗口")
    assert called["waiting"] == 1


@pytest.mark.parametrize(
    "auth",
    [None, {}, {"token": ""}, {"token": "nope"}, {"token": "d.forged"}, {"ticket": "forged"}],
    ids=["no auth", "empty", "empty token", "bad token", "forged device", "forged ticket"],
)
def test_a_connection_without_valid_credentials_is_refused(
    hall: HallRig, auth: dict[str, Any] | None
) -> None:
    assert not connect(hall, auth).is_connected(NAMESPACE)


def test_a_logged_out_staff_token_is_refused(hall: HallRig) -> None:
    hall.post("staff1", "/auth/logout")
    assert not connect(hall, {"token": hall.tokens["staff1"]}).is_connected(NAMESPACE)


def test_a_refused_client_is_told_why_in_words(hall: HallRig) -> None:
    namespace = socketio.server.namespace_handlers[NAMESPACE]
    with hall.app.test_request_context(), pytest.raises(ConnectionRefusedError) as refused:
        namespace.on_connect({"token": "nope"})
    message = "登录已失效，请重新登录 (the token is invalid or expired)."
    assert refused.value.error_args == {
        "message": message,
        "data": {"code": "unauthorized", "message": message},
    }


def test_a_display_sees_numbers_and_windows_never_people(hall: HallRig) -> None:
    display, staff = as_device(hall, "tv-1"), as_device(hall, "boss")
    received(display), received(staff)  # the snapshots
    expected = morning(hall)
    public, full = events_of(display), events_of(staff)
    assert [kind for kind, _ in expected] == [e["type"] for e in full]
    shown = [e for e in full if e["type"] not in PUBLIC_WITHHELD_EVENTS]
    assert [e["seq"] for e in public] == [e["seq"] for e in shown]
    assert [e["prev"] for e in public] == [0] + [e["seq"] for e in public[:-1]]
    assert all("actor" not in e for e in public)
    assert all("case_no" not in e for e in public)
    assert not any(e["type"] in PUBLIC_WITHHELD_EVENTS for e in public)
    public_snap = snapshot_of(as_device(hall, "tv-1"))
    staff_snap = snapshot_of(as_device(hall, "boss"))
    assert (public_snap["windows"][0]["staff"], staff_snap["windows"][0]["staff"]) == (
        "",
        "staff1",
    )
    assert all("actor" not in call for call in public_snap["recent_calls"])
    assert all("actor" in call for call in staff_snap["recent_calls"])
    assert public_snap["alarms"] == []


def log_one(hall: HallRig, event: ev.HallEvent) -> None:
    with hall_write(hall.ctx, SYSTEM) as write:
        write.log(event)


STAFF_ONLY: list[Callable[[], ev.HallEvent]] = [
    lambda: ev.AlarmRaised(
        alarm_id=1, kind="long_wait", level="red", subject="B", message="B 等候超过30分钟"
    ),
    lambda: ev.AlarmCleared(alarm_id=1, kind="long_wait", subject="B"),
    lambda: ev.DeviceStatusChanged(
        device="kiosk-1", kind="kiosk", status={"printer": {"health": "fault"}}
    ),
    lambda: ev.EvaluationRecorded(ticket_id=1, number="B001", window=3, score=1),
    lambda: LoginLocked(
        login="staff1", until="2026-11-23T02:15:00+00:00", failures=5, address="10.0.0.7"
    ),
    lambda: LoginUnlocked(login="staff1", was_until="2026-11-23T02:15:00+00:00"),
]


def test_every_staff_only_event_type_is_tried_below() -> None:
    assert {make().type for make in STAFF_ONLY} == STAFF_ONLY_EVENTS


@pytest.mark.parametrize("make", STAFF_ONLY, ids=lambda make: make().type)
def test_staff_only_events_reach_staff_and_never_the_public(
    hall: HallRig, make: Callable[[], ev.HallEvent]
) -> None:
    event = make()
    public = {who: as_device(hall, who) for who in ("tv-1", "kiosk-1")}
    staff = {who: as_device(hall, who) for who in ("staff1", "boss", "keypad-2")}
    for client in [*public.values(), *staff.values()]:
        received(client)
    log_one(hall, event)
    for who, client in public.items():
        assert events_of(client) == [], who
    for who, client in staff.items():
        (got,) = events_of(client)
        assert got == {
            "seq": 1, "type": event.type, "at": "2026-11-23T02:00:00+00:00",
            **event.payload(), "actor": "system",
        }, who  # fmt: skip


def test_a_visitors_phone_follows_the_hall_with_its_ticket_token(hall: HallRig) -> None:
    ticket = hall.issue("b")
    phone = connect(hall, {"ticket": ticket["token"]})
    assert phone.is_connected(NAMESPACE)
    snap = snapshot_of(phone)
    assert snap["seq"] == 1 and snap["alarms"] == []
    assert all(w["staff"] == "" for w in snap["windows"])
    hall.act("staff1", 3, "open")
    hall.act("staff1", 3, "call-next")
    opened, called = events_of(phone)
    assert (called["type"], called["number"], called["window"]) == ("ticket.called", "B001", 3)
    assert "actor" not in opened and "actor" not in called


def test_a_returning_client_gets_exactly_the_events_it_missed(hall: HallRig) -> None:
    display = as_device(hall, "boss")  # the public stream: test_public_stream.py
    received(display)  # the snapshot
    hall.act("staff1", 3, "open")
    hall.issue("b")
    seen = events_of(display)
    last_seq = seen[-1]["seq"]
    display.disconnect(namespace=NAMESPACE)
    hall.issue("b")
    hall.act("staff1", 3, "call-next")
    hall.act("staff1", 3, "start")
    back = as_device(hall, "boss", last_seq=last_seq)
    missed = events_of(back)
    assert [(e["seq"], e["type"]) for e in missed] == [
        (3, "ticket.issued"),
        (4, "ticket.called"),
        (5, "ticket.started"),
    ]
    hall.act("staff1", 3, "finish")
    assert [e["seq"] for e in events_of(back)] == [6]  # then live, without a gap


def test_a_client_that_missed_nothing_gets_nothing(hall: HallRig) -> None:
    hall.issue("b")
    assert received(as_device(hall, "tv-1", last_seq=1)) == []


def test_a_client_too_far_behind_gets_a_snapshot(hall_with: Callable[..., HallRig]) -> None:
    hall = hall_with(resync_max_events=3)
    for _ in range(4):
        hall.issue("b")
    assert snapshot_of(as_device(hall, "boss", last_seq=0))["seq"] == 4
    just_in_reach = events_of(as_device(hall, "boss", last_seq=1))
    assert [e["seq"] for e in just_in_reach] == [2, 3, 4]


@pytest.mark.parametrize("last_seq", [-1, "2", 1.0, True, None, [2]])
def test_a_last_seq_that_is_not_a_seq_gets_a_snapshot(hall: HallRig, last_seq: Any) -> None:
    hall.issue("b")
    hall.issue("b")
    *_, (name, snap) = received(as_device(hall, "tv-1", last_seq=last_seq))  # after any error
    assert name == "snapshot" and snap["seq"] == 2


def test_resync_sends_the_events_after_the_given_seq(hall: HallRig) -> None:
    display = as_device(hall, "boss")
    hall.issue("b")
    hall.issue("b")
    hall.issue("b")
    received(display)
    display.emit("resync", {"last_seq": 1}, namespace=NAMESPACE)
    assert [e["seq"] for e in events_of(display)] == [2, 3]


@pytest.mark.parametrize("data", [{}, None, {"last_seq": None}])
def test_resync_without_a_seq_sends_a_snapshot(hall: HallRig, data: Any) -> None:
    display = as_device(hall, "tv-1")
    hall.issue("b")
    received(display)
    display.emit("resync", data, namespace=NAMESPACE)
    assert snapshot_of(display)["seq"] == 1


def test_resync_too_far_behind_sends_a_snapshot(hall_with: Callable[..., HallRig]) -> None:
    hall = hall_with(resync_max_events=2)
    display = as_device(hall, "boss")
    for _ in range(3):
        hall.issue("b")
    received(display)
    display.emit("resync", {"last_seq": 0}, namespace=NAMESPACE)
    assert snapshot_of(display)["seq"] == 3


def test_resync_keeps_the_audience_of_the_connection(hall: HallRig) -> None:
    display = as_device(hall, "tv-1")
    hall.act("staff1", 3, "open")
    received(display)
    display.emit("resync", {"last_seq": 0}, namespace=NAMESPACE)
    (opened,) = events_of(display)
    assert "actor" not in opened


def test_a_client_ahead_of_the_log_gets_a_snapshot(hall: HallRig) -> None:
    hall.issue("b")
    assert snapshot_of(as_device(hall, "tv-1", last_seq=50))["seq"] == 1


def namespace_of(hall: HallRig) -> Any:
    """This app's /hall namespace handler (the one that holds its connections)."""
    return socketio.server.namespace_handlers[NAMESPACE]


def test_a_socket_does_not_outlive_the_logout_of_its_token(hall: HallRig) -> None:
    staff = as_device(hall, "staff1")
    tv = as_device(hall, "tv-1")
    received(staff), received(tv)
    assert hall.post("staff1", "/auth/logout").status_code in (200, 204)
    watch = namespace_of(hall).token_watch
    assert watch.close_ended_tokens() == 1  # the round the namespace runs every 5 s
    assert not staff.is_connected(NAMESPACE)  # told why first (an ``error`` event), then closed
    assert tv.is_connected(NAMESPACE)  # other connections go on


def test_a_revoked_devices_socket_is_closed(hall: HallRig) -> None:
    tv = as_device(hall, "tv-1")
    received(tv)
    assert hall.post("root", "/admin/devices/tv-1/revoke").status_code == 200
    until(lambda: not tv.is_connected(NAMESPACE), 3 * TOKEN_RECHECK_S + 5,
          what="the namespace's own round closing a revoked display's socket")  # fmt: skip
