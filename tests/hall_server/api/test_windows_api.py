"""Every button of a window over HTTP, and every refusal, as window staff see them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, select

from hall_server.models import Hall, IdempotentRequest, LogEvent, Ticket, Window

from ..hall import HallRig


def rows(hall: HallRig) -> dict[str, Any]:
    """Everything a window action may change: tickets, windows, the hall log and its seq."""

    def columns(row: object) -> dict[str, Any]:
        return {a.key: getattr(row, a.key) for a in inspect(row).mapper.column_attrs}

    with hall.ctx.db.read() as session:
        return {
            "tickets": [columns(t) for t in session.scalars(select(Ticket).order_by(Ticket.id))],
            "windows": [columns(w) for w in session.scalars(select(Window).order_by(Window.id))],
            "log": [columns(e) for e in session.scalars(select(LogEvent).order_by(LogEvent.seq))],
            "last_seq": session.scalar(select(Hall.last_seq)),
            "replies": len(session.scalars(select(IdempotentRequest)).all()),
        }


def log_types(hall: HallRig, after: int = 0) -> list[str]:
    with hall.ctx.db.read() as session:
        return list(
            session.scalars(
                select(LogEvent.type).where(LogEvent.seq > after).order_by(LogEvent.seq)
            )
        )


def events(hall: HallRig, kind: str) -> list[dict[str, Any]]:
    """The logged events of one type: payload plus actor and window, in seq order."""
    with hall.ctx.db.read() as session:
        found = session.scalars(
            select(LogEvent).where(LogEvent.type == kind).order_by(LogEvent.seq)
        )
        return [e.payload | {"actor": e.actor_name, "window_no": e.window_no} for e in found]


def calls(hall: HallRig, who: str, window: int, times: int) -> list[str | None]:
    """Press call-next, finish each ticket, and return the numbers in calling order."""
    numbers: list[str | None] = []
    for _ in range(times):
        ticket = hall.act(who, window, "call-next")["ticket"]
        numbers.append(ticket["number"] if ticket else None)
        if ticket:
            hall.act(who, window, "finish")
    return numbers


def transfer(hall: HallRig, who: str, at: int, **body: Any) -> dict[str, Any]:
    """Transfer the ticket at window ``at`` (HallRig.act takes no ``window=`` body field)."""
    response = hall.post(who, f"/windows/{at}/transfer", body)
    assert response.status_code == 200, response.get_json()
    ticket: dict[str, Any] = response.get_json()["ticket"]
    return ticket


def refused(hall: HallRig, who: str, path: str, body: Any = None) -> tuple[int, dict[str, str]]:
    response = hall.post(who, path, body)
    return response.status_code, response.get_json()["error"]


# ---------------------------------------------------------------- open and call


def test_open_then_call_next_calls_the_first_ticket_to_the_window(hall: HallRig) -> None:
    first = hall.issue("a")
    hall.issue("a")
    opened = hall.act("staff1", 2, "open")
    assert opened["window"]["state"] == "open" and opened["window"]["staff"] == "staff1"
    assert opened["ticket"] is None
    called = hall.act("staff1", 2, "call-next")
    assert called["ticket"]["id"] == first["id"]
    assert (called["ticket"]["number"], called["ticket"]["status"]) == ("A001", "called")
    assert called["ticket"]["window"] == 2 and called["ticket"]["call_count"] == 1
    assert log_types(hall) == ["ticket.issued", "ticket.issued", "window.opened", "ticket.called"]


def test_call_next_with_nobody_waiting_answers_null_and_logs_nothing(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    hall.issue("a")  # window 3 does not serve a
    before = rows(hall)
    answer = hall.act("staff1", 3, "call-next")
    assert answer["ticket"] is None and answer["window"]["number"] == 3
    assert rows(hall) == before


def test_window_calls_by_its_service_weights(hall: HallRig) -> None:
    hall.issue("b")
    hall.issue("b")
    hall.issue("a")
    hall.act("staff1", 2, "open")  # a weighs 3, b weighs 1
    hall.act("staff2", 3, "open")  # b only
    assert calls(hall, "staff1", 2, 1) == ["A001"]
    assert calls(hall, "staff2", 3, 1) == ["B001"]
    assert calls(hall, "staff1", 2, 2) == ["B002", None]


def test_green_channel_goes_first_and_gives_way_after_the_swap_ratio(hall: HallRig) -> None:
    for priority in (False, False, True, True, True):  # A001 A002 normal, A003-A005 priority
        body = {"service": "a", "priority": priority, "priority_kind": "老年人" if priority else ""}
        assert hall.post("staff2", "/tickets", body).status_code == 201  # staff grant priority
    hall.act("staff1", 1, "open")
    # priority_swap_ratio = 2: two green-channel calls in a row, then one normal
    assert calls(hall, "staff1", 1, 6) == ["A003", "A004", "A001", "A005", "A002", None]
    reasons = [e["reason"] for e in events(hall, "ticket.called")]
    assert reasons == ["priority", "priority", "weighted", "priority", "weighted"]


def test_call_a_specific_number_skips_the_queue(hall: HallRig) -> None:
    hall.issue("b")
    wanted = hall.issue("b")
    hall.act("staff1", 3, "open")
    called = hall.act("staff1", 3, "call", number=" b002 ")
    assert called["ticket"]["id"] == wanted["id"] and called["ticket"]["status"] == "called"
    hall.act("staff1", 3, "finish")
    assert calls(hall, "staff1", 3, 2) == ["B001", None]


def test_call_of_a_number_this_window_does_not_serve_is_forbidden(hall: HallRig) -> None:
    hall.issue("a")
    hall.act("staff1", 3, "open")
    before = rows(hall)
    status, error = refused(hall, "staff1", "/windows/3/call", {"number": "A001"})
    assert status == 403 and error["code"] == "forbidden"
    assert "3号窗口不办理社会保障" in error["message"] and "Social Security" in error["message"]
    status, error = refused(hall, "staff1", "/windows/3/call", {"number": "B404"})
    assert status == 404 and "B404" in error["message"]
    assert rows(hall) == before


def test_recall_counts_and_stops_at_the_recall_limit(hall: HallRig) -> None:
    hall.issue("a")
    hall.act("staff1", 1, "open")
    hall.act("staff1", 1, "call-next")
    for count in (2, 3, 4):  # max_recalls defaults to 3
        hall.clock.advance(seconds=30)
        ticket = hall.act("staff1", 1, "recall")["ticket"]
        assert ticket["call_count"] == count and ticket["status"] == "called"
        assert ticket["called_at"] == hall.clock.now.isoformat()
    before = rows(hall)
    status, error = refused(hall, "staff1", "/windows/1/recall")
    assert status == 409 and error["code"] == "illegal_transition"
    assert (
        error["message"]
        == "A001 已呼叫4次，请按过号处理 (called 4 times already: mark it no-show)."
    )
    assert rows(hall) == before
    assert log_types(hall).count("ticket.recalled") == 3


# ---------------------------------------------------------------- serving and times


def test_wait_and_handling_times_follow_the_hall_clock(hall: HallRig) -> None:
    issued = hall.issue("a")
    hall.act("staff1", 2, "open")
    hall.clock.advance(minutes=5)
    called = hall.act("staff1", 2, "call-next")["ticket"]
    assert called["wait_s"] == 300 and called["first_called_at"] == hall.clock.now.isoformat()
    hall.clock.advance(minutes=1)
    started = hall.act("staff1", 2, "start")["ticket"]
    assert started["status"] == "serving" and started["started_at"] == hall.clock.now.isoformat()
    hall.clock.advance(minutes=7, seconds=30)
    done = hall.act("staff1", 2, "finish", case_no=" SB-2026-0001 ")["ticket"]
    assert done["status"] == "done" and done["case_no"] == "SB-2026-0001"
    assert (done["wait_s"], done["handle_s"]) == (300, 450)
    assert done["finished_at"] == hall.clock.now.isoformat()
    stored = hall.get("boss", f"/tickets/{issued['id']}").get_json()
    assert (stored["wait_s"], stored["handle_s"], stored["case_no"]) == (300, 450, "SB-2026-0001")
    [event] = events(hall, "ticket.finished")
    assert (event["wait_s"], event["handle_s"]) == (300, 450)
    assert event["case_no"] == "SB-2026-0001" and event["actor"] == "staff1"


def test_finish_straight_from_called_counts_handling_from_the_call(hall: HallRig) -> None:
    hall.issue("b")
    hall.act("staff1", 3, "open")
    hall.clock.advance(minutes=2)
    called = hall.act("staff1", 3, "call-next")["ticket"]
    hall.clock.advance(minutes=4)
    done = hall.act("staff1", 3, "finish")["ticket"]
    assert done["status"] == "done" and done["started_at"] == called["called_at"]
    assert (done["wait_s"], done["handle_s"]) == (120, 240)
    assert hall.act("staff1", 3, "call-next")["ticket"] is None


def test_a_window_is_free_again_after_finish(hall: HallRig) -> None:
    hall.issue("a")
    hall.issue("a")
    hall.act("staff1", 1, "open")
    hall.act("staff1", 1, "call-next")
    status, error = refused(hall, "staff1", "/windows/1/call-next")
    assert status == 409 and "A001" in error["message"]
    hall.act("staff1", 1, "finish")
    assert hall.act("staff1", 1, "call-next")["ticket"]["number"] == "A002"


# ---------------------------------------------------------------- no-show, transfer, hold


def test_no_show_returns_behind_the_next_ticket_per_policy(hall: HallRig) -> None:
    missed = hall.issue("a")
    for _ in range(3):
        hall.clock.advance(minutes=1)
        hall.issue("a")
    hall.act("staff1", 1, "open")
    hall.act("staff1", 1, "call-next")
    gone = hall.act("staff1", 1, "no-show")
    assert gone["ticket"]["status"] == "no_show" and gone["ticket"]["window"] == 1
    hall.clock.advance(minutes=10)
    response = hall.post("staff1", f"/tickets/{missed['id']}/requeue")
    assert response.status_code == 200, response.get_json()
    back = response.get_json()
    # requeue_after_n = 1 in the small hall: behind one of the three waiting
    assert (back["status"], back["number"], back["people_ahead"]) == ("waiting", "A001", 1)
    assert back["window"] is None
    assert calls(hall, "staff1", 1, 5) == ["A002", "A001", "A003", "A004", None]
    assert "ticket.requeued" in log_types(hall)


def test_no_show_that_returns_too_late_is_refused(hall: HallRig) -> None:
    missed = hall.issue("a")
    hall.act("staff1", 1, "open")
    hall.act("staff1", 1, "call-next")
    hall.act("staff1", 1, "no-show")
    hall.clock.advance(minutes=61)  # no_show_return_limit_min = 60
    before = rows(hall)
    status, error = refused(hall, "staff1", f"/tickets/{missed['id']}/requeue")
    assert status == 409 and "60" in error["message"] and "new ticket" in error["message"]
    assert rows(hall) == before


def test_transfer_to_a_service_keeps_the_number_and_joins_that_queue(hall: HallRig) -> None:
    ticket = hall.issue("a")
    hall.issue("b")
    hall.act("staff1", 2, "open")
    hall.act("staff2", 3, "open")
    hall.act("staff1", 2, "call-next")
    hall.act("staff1", 2, "start")
    hall.clock.advance(minutes=5)
    moved = hall.act("staff1", 2, "transfer", service="b", note="需不动产登记")["ticket"]
    assert (moved["id"], moved["number"], moved["service"]) == (ticket["id"], "A001", "b")
    assert (moved["status"], moved["window"], moved["target_window"]) == ("waiting", None, None)
    assert hall.act("staff1", 2, "call-next")["window"]["number"] == 2  # window 2 is free again
    hall.act("staff1", 2, "finish")
    assert calls(hall, "staff2", 3, 2) == ["A001", None]  # B001 went to window 2


def test_transfer_to_a_window_is_called_there_first_and_nowhere_else(hall: HallRig) -> None:
    for service in ("b", "b", "a"):
        hall.issue(service)
    for who, window in (("staff1", 2), ("staff2", 3), ("boss", 1)):
        hall.act(who, window, "open")
    hall.act("staff1", 2, "call-next")  # A001, issued last: a weighs 3 at window 2
    hall.clock.advance(minutes=3)
    moved = transfer(hall, "staff1", 2, window=3)
    assert (moved["number"], moved["status"], moved["target_window"]) == ("A001", "waiting", 3)
    assert (moved["service"], moved["window"]) == ("a", None)
    assert calls(hall, "boss", 1, 2) == ["B001", "B002"]  # general window 1 never gets A001
    assert calls(hall, "staff1", 2, 1) == [None]
    assert calls(hall, "staff2", 3, 2) == ["A001", None]
    [event] = events(hall, "ticket.transferred")
    assert (event["from_window"], event["to_window"]) == (2, 3)


def test_transferred_ticket_goes_before_tickets_that_waited_longer(hall: HallRig) -> None:
    hall.issue("b")
    hall.issue("a")
    hall.act("staff1", 2, "open")
    hall.act("staff2", 3, "open")
    hall.act("staff1", 2, "call-next")  # A001
    transfer(hall, "staff1", 2, window=3)
    assert calls(hall, "staff2", 3, 2) == ["A001", "B001"]


def test_hold_then_return_is_called_by_the_same_window_first(hall: HallRig) -> None:
    held = hall.issue("a")
    hall.issue("a")
    hall.act("staff1", 2, "open")
    hall.act("staff2", 1, "open")
    hall.act("staff1", 2, "call-next")
    hall.clock.advance(minutes=3)
    hall.act("staff1", 2, "start")
    hall.clock.advance(minutes=2)
    away = hall.act("staff1", 2, "hold")["ticket"]
    assert (away["status"], away["handle_s"], away["hold_count"]) == ("held", 120, 1)
    assert calls(hall, "staff1", 2, 1) == ["A002"]  # the window serves others meanwhile
    hall.clock.advance(minutes=20)
    response = hall.post("staff1", f"/tickets/{held['id']}/requeue")
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["status"], response.get_json()["target_window"]) == ("waiting", 2)
    hall.issue("a")
    assert calls(hall, "staff2", 1, 2) == ["A003", None]  # window 1 never gets it
    hall.act("staff1", 2, "call-next")
    hall.act("staff1", 2, "start")
    hall.clock.advance(minutes=4)
    done = hall.act("staff1", 2, "finish")["ticket"]
    assert (done["number"], done["handle_s"], done["wait_s"]) == ("A001", 360, 0)


# ---------------------------------------------------------------- window states


def test_pause_needs_a_reason_and_resume_opens_again(hall: HallRig) -> None:
    hall.issue("a")
    hall.act("staff1", 1, "open")
    before = rows(hall)
    status, error = refused(hall, "staff1", "/windows/1/pause", {"reason": "  "})
    assert status == 422 and "原因" in error["message"] and "reason" in error["message"]
    assert rows(hall) == before
    hall.clock.advance(minutes=1)
    paused = hall.act("staff1", 1, "pause", reason="午休")["window"]
    assert (paused["state"], paused["pause_reason"]) == ("paused", "午休")
    assert paused["state_since"] == hall.clock.now.isoformat()
    resumed = hall.act("staff1", 1, "resume")["window"]
    assert (resumed["state"], resumed["pause_reason"]) == ("open", "")
    assert hall.act("staff1", 1, "call-next")["ticket"]["number"] == "A001"
    [paused_event] = events(hall, "window.paused")
    assert paused_event["reason"] == "午休" and paused_event["window_no"] == 1


def test_close_is_refused_while_a_ticket_is_at_the_window(hall: HallRig) -> None:
    hall.issue("a")
    hall.act("staff1", 1, "open")
    hall.act("staff1", 1, "call-next")
    before = rows(hall)
    status, error = refused(hall, "staff1", "/windows/1/close")
    assert status == 409 and error["code"] == "illegal_transition"
    assert (
        error["message"]
        == "请先办结、过号或转移当前的 A001 (finish, no-show or transfer A001 first)."
    )
    assert rows(hall) == before
    hall.act("staff1", 1, "finish")
    closed = hall.act("staff1", 1, "close")["window"]
    assert (closed["state"], closed["staff"]) == ("closed", "")
    assert hall.act("staff2", 1, "open")["window"]["staff"] == "staff2"  # free for anyone


@pytest.mark.parametrize(
    ("pause", "state_words"),
    [(False, ("已关闭", "closed")), (True, ("暂停服务", "paused"))],
    ids=["closed", "paused"],
)
def test_call_next_on_a_window_that_is_not_open_says_its_state(
    hall: HallRig, pause: bool, state_words: tuple[str, str]
) -> None:
    hall.issue("a")
    if pause:
        hall.act("staff1", 1, "open")
        hall.act("staff1", 1, "pause", reason="会议")
    before = rows(hall)
    for action in ("call-next", "call"):
        status, error = refused(hall, "staff1", f"/windows/1/{action}", {"number": "A001"})
        assert status == 409 and error["code"] == "illegal_transition"
        assert all(word in error["message"] for word in state_words)
        assert "1号窗口" in error["message"]
    assert rows(hall) == before


# ---------------------------------------------------------------- double press


def test_double_press_with_one_idempotency_key_calls_one_ticket(hall: HallRig) -> None:
    hall.issue("a")
    hall.issue("a")
    hall.act("staff1", 1, "open")
    key = {"Idempotency-Key": "win1-press-0001"}
    first = hall.post("staff1", "/windows/1/call-next", **key)
    assert first.status_code == 200
    after_first = rows(hall)
    again = hall.post("staff1", "/windows/1/call-next", **key)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert rows(hall) == after_first
    assert log_types(hall).count("ticket.called") == 1
    hall.act("staff1", 1, "finish")
    other = hall.post("staff1", "/windows/1/call-next", **{"Idempotency-Key": "win1-press-0002"})
    assert other.get_json()["ticket"]["number"] == "A002"


def test_idempotency_key_is_per_window_and_action(hall: HallRig) -> None:
    hall.issue("a")
    hall.issue("b")
    hall.act("boss", 1, "open")
    hall.act("boss", 3, "open")
    key = {"Idempotency-Key": "same-key"}
    one = hall.post("boss", "/windows/1/call-next", **key).get_json()
    three = hall.post("boss", "/windows/3/call-next", **key).get_json()
    assert (one["ticket"]["number"], three["ticket"]["number"]) == ("A001", "B001")


# ---------------------------------------------------------------- refusals change nothing


@pytest.fixture
def busy_hall(hall: HallRig) -> HallRig:
    """Window 2 (staff1) has A001 called; window 3 (staff2) is free; window 4 (boss) paused."""
    for service in ("a", "a", "b", "c"):
        hall.issue(service)
    hall.act("staff1", 2, "open")
    hall.act("staff1", 2, "call-next")
    hall.act("staff2", 3, "open")
    hall.act("boss", 4, "open")
    hall.act("boss", 4, "pause", reason="会议")
    return hall


@pytest.mark.parametrize(
    ("who", "path", "body", "status", "says"),
    [
        ("staff1", "/windows/2/close", None, 409, "A001"),
        ("staff1", "/windows/2/call-next", None, 409, "A001"),
        ("staff1", "/windows/2/call", {"number": "A002"}, 409, "A001"),
        ("staff1", "/windows/2/resume", None, 409, "window 2 is open"),
        ("staff1", "/windows/2/open", None, 409, "window 2 is open"),
        ("staff1", "/windows/2/hold", None, 409, "already called cannot be put on hold"),
        ("staff1", "/windows/2/transfer", None, 422, "转移需要指定"),
        ("staff1", "/windows/2/transfer", {"window": 2}, 422, "same window"),
        ("staff1", "/windows/2/transfer", {"window": 99}, 404, "99"),
        ("staff1", "/windows/2/transfer", {"service": "nope"}, 404, "nope"),
        ("staff1", "/windows/2/pause", {}, 422, "reason"),
        ("staff1", "/windows/2/dance", None, 400, "unknown action"),
        ("staff1", "/windows/2/finish", {"colour": "red"}, 422, "colour"),
        ("staff1", "/windows/2/call-next", [1], 400, "JSON"),
        ("staff1", "/windows/99/open", None, 404, "99"),
        ("staff2", "/windows/3/start", None, 409, "no called ticket"),
        ("staff2", "/windows/3/recall", None, 409, "no called ticket"),
        ("staff2", "/windows/3/no-show", None, 409, "no called ticket"),
        ("staff2", "/windows/3/call", {"number": "A002"}, 403, "does not serve"),
        ("staff2", "/windows/3/call", {"number": "B009"}, 404, "B009"),
        ("staff2", "/windows/3/call", {}, 422, "number"),
        ("boss", "/windows/4/call-next", None, 409, "paused"),
        ("staff1", "/windows/1/open", None, 403, "window 2"),
        ("boss", "/windows/1/call-next", None, 409, "closed"),
        ("staff2", "/windows/1/call-next", None, 403, "window 3"),
        ("staff2", "/windows/2/finish", None, 403, "staff1"),
        ("kiosk-1", "/windows/3/call-next", None, 403, "无权"),
        ("tv-1", "/windows/3/call-next", None, 403, "无权"),
        ("keypad-2", "/windows/3/call-next", None, 403, "window 3"),
        ("staff1", "/tickets/1/requeue", None, 409, "cannot be put back in the queue"),
        ("staff1", "/tickets/999/requeue", None, 404, "999"),
    ],
)  # fmt: skip
def test_every_refusal_is_a_clear_error_and_changes_nothing(
    busy_hall: HallRig, who: str, path: str, body: Any, status: int, says: str
) -> None:
    before = rows(busy_hall)
    got_status, error = refused(busy_hall, who, path, body)
    assert (got_status, says in error["message"]) == (status, True), error
    assert error["code"] and len(error["message"]) > 10
    assert rows(busy_hall) == before


def test_call_of_a_number_already_called_elsewhere_is_refused(busy_hall: HallRig) -> None:
    busy_hall.act("boss", 1, "open")
    before = rows(busy_hall)
    status, error = refused(busy_hall, "boss", "/windows/1/call", {"number": "A001"})
    assert status == 409 and "已叫号" in error["message"] and "called" in error["message"]
    assert rows(busy_hall) == before


def test_call_of_a_number_reserved_for_another_window_is_refused(hall: HallRig) -> None:
    hall.issue("a")
    hall.act("staff1", 2, "open")
    hall.act("staff2", 1, "open")
    hall.act("staff1", 2, "call-next")
    transfer(hall, "staff1", 2, window=3)
    before = rows(hall)
    status, error = refused(hall, "staff2", "/windows/1/call", {"number": "A001"})
    assert status == 409 and "reserved for window 3" in error["message"]
    assert rows(hall) == before


def test_handling_time_adds_up_across_a_transfer(hall: HallRig) -> None:
    hall.issue("a")
    hall.act("staff1", 2, "open")
    hall.act("staff2", 3, "open")
    hall.clock.advance(minutes=1)
    hall.act("staff1", 2, "call-next")
    hall.act("staff1", 2, "start")
    hall.clock.advance(minutes=3)
    transfer(hall, "staff1", 2, window=3)
    hall.clock.advance(minutes=10)  # waiting again: not handling time
    hall.act("staff2", 3, "call-next")
    hall.act("staff2", 3, "start")
    hall.clock.advance(minutes=4)
    done = hall.act("staff2", 3, "finish")["ticket"]
    assert (done["wait_s"], done["handle_s"], done["transfer_count"]) == (60, 420, 1)
    assert (done["call_count"], done["window"]) == (2, 3)


def test_a_window_paused_while_serving_can_still_finish_its_ticket(hall: HallRig) -> None:
    hall.issue("a")
    hall.act("staff1", 1, "open")
    hall.act("staff1", 1, "call-next")
    hall.act("staff1", 1, "start")
    hall.act("staff1", 1, "pause", reason="临时离开")  # no new calls after this visitor
    response = hall.post("staff1", "/windows/1/finish")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["ticket"]["status"] == "done"
    assert response.get_json()["window"]["state"] == "paused"
