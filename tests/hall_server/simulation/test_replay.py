"""Exact replay (重放): a day recorded through the real services, replayed from its hall log
through the same services on a fresh database, gives the same events, seq and ticket numbers
byte for byte; a changed log is caught at its seq; a day whose layout was changed later is
refused, saying why."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select, update

from devices.idcard.card import check_character
from hall_server.commands import cli
from hall_server.models import LogEvent, Ticket
from hall_server.services.actors import SYSTEM, Actor
from hall_server.services.admin import (
    revoke_device,
    rotate_device_token,
    save_item,
    save_notices,
    save_settings,
    save_staff,
)
from hall_server.services.alarms import acknowledge_alarm, check_alarms
from hall_server.services.auth import (
    Unauthorized,
    add_staff_without_login,
    add_user,
    login,
    unlock,
)
from hall_server.services.context import HallContext
from hall_server.services.devices import find_device, report_status
from hall_server.services.login_limits import LoginLimits
from hall_server.services.replay import ReplayRefused, read_events
from hall_server.services.setup import init_database
from hall_server.services.tickets import (
    IssueRequest,
    cancel_ticket,
    expire_open_tickets,
    issue_ticket,
    requeue_ticket,
)
from hall_server.services.visits import create_appointment, record_evaluation
from hall_server.services.windows import WindowCommand, window_action
from hall_server.settings import load_settings
from hall_server.simulation.engine import Simulation, simulated_hall
from hall_server.simulation.replay import replay_day
from hall_server.simulation.scenario import scenario_from

SMALL_HALL = Path(__file__).parents[1] / "small_hall.toml"
MONDAY = date(2026, 11, 23)
TUESDAY = MONDAY + timedelta(days=1)


def elderly_id() -> str:
    """A valid ID number of someone born in 1950 (the hall's green channel from age 65)."""
    body = "11010119500101001"
    return body + check_character(body)


@dataclass
class Recording:
    sim: Simulation
    url: str


def _scenario() -> Any:
    data = {"hall": str(SMALL_HALL), "day": MONDAY.isoformat(), "seed": 3,
            "arrivals": {"a": {"09": 24, "10": 24}, "b": {"09": 12, "10": 12}},
            "handling": {"a": {"mean_s": 240}, "b": {"mean_s": 300}},
            "visitors": {"no_show": 0.1, "transfer": 0.15, "priority": 0.15,
                         "no_show_after_s": 60},
            "windows": {"open": "09:00", "close": "11:30", "only": [1, 2, 3]},
            "pauses": [{"window": 2, "at": "10:00", "minutes": 15, "reason": "会议"}]}  # fmt: skip
    return scenario_from(data, Path("."), MONDAY)


def _staff_afternoon(sim: Simulation) -> Actor:
    """What the simulator never does: 特呼, recall, hold and return, a requeued no-show, a
    cancel, a rating, a notice, a device fault and its alarm on a moved clock."""
    ctx = sim.ctx
    local = ctx.layout.tz

    def at(hh: int, mm: int) -> datetime:
        sim.now = datetime.combine(MONDAY, time(hh, mm), tzinfo=local).astimezone(UTC)
        return sim.now

    staff = sim.windows[3].actor
    info = find_device(ctx, "kiosk-1")
    assert info is not None
    kiosk = Actor(kind="device", id=info.id, name=info.name, role=info.kind)
    visitor = Actor(kind="visitor", name="visitor")

    def press(action: str, **kw: Any) -> dict[str, Any]:
        return window_action(ctx, staff, 3, WindowCommand(action, **kw), now=sim.now)

    def issue(request: IssueRequest, actor: Actor = kiosk) -> dict[str, Any]:
        return issue_ticket(ctx, actor, request, now=sim.now)

    create_appointment(ctx, sim.guide, service="b", code="Y0001",
                       slot_start=at(12, 30), slot_end=at(13, 0))  # fmt: skip
    at(12, 20)
    press("open")
    first = issue(IssueRequest("b"))
    at(12, 21)
    elderly = issue(IssueRequest("b", id_number=elderly_id()))  # green channel by the rules
    assert elderly["priority"] is True
    booked = issue(IssueRequest("b", appointment_code="Y0001"))
    assert booked["priority"] is True
    plain = issue(IssueRequest("b", phone="13800138000"))
    at(12, 22)
    press("call", number=first["number"])  # 特呼
    at(12, 23)
    press("recall")
    at(12, 24)
    press("start")
    at(12, 26)
    press("hold")
    at(12, 27)
    requeue_ticket(ctx, staff, first["id"], now=sim.now)  # back from 补件
    at(12, 28)
    assert press("call-next")["ticket"]["id"] == first["id"]
    at(12, 35)
    press("finish", case_no="BJ2026-0001")
    record_evaluation(ctx, visitor, first["id"], score=2, reasons=["等候太久"],
                      comment="排队太久", now=sim.now)  # fmt: skip
    at(12, 36)
    called = press("call-next")["ticket"]
    at(12, 38)
    press("no-show")
    at(12, 40)
    requeue_ticket(ctx, staff, called["id"], now=sim.now)  # the no-show came back
    cancel_ticket(ctx, staff, ticket_id=plain["id"], now=sim.now)
    at(12, 41)
    press("call-next")
    press("transfer", window=2, note="请到2号窗口")
    at(12, 42)
    press("pause", reason="暂离")
    save_notices(ctx, sim.guide, ["今日14:00起系统升级"])
    report_status(ctx, kiosk, part="printer",
                  status={"health": "fault", "message": "缺纸"}, now=sim.now)  # fmt: skip
    at(12, 45)  # three wrong passwords lock a login (锁定); the supervisor lifts the lock
    limits = LoginLimits(MovingWindowRateLimiter(MemoryStorage()), hall="test", per_login=3,
                         per_address=100, window_min=15)  # fmt: skip
    for _ in range(3):
        with pytest.raises(Unauthorized):
            login(ctx, "sim003", "wrong", ttl_h=8, address="10.0.0.9", limits=limits)
    row = add_user(ctx.db, ctx.hall_id, "boss", role="supervisor", password="boss-2026-x",
                   name="值班长", now=sim.now)  # fmt: skip
    boss = Actor(kind="staff", id=row.id, name=row.name, role="supervisor")
    at(12, 46)
    assert unlock(ctx, boss, "sim003")["lifted"] is True
    at(12, 50)
    raised = check_alarms(ctx)  # the clock moved: the check reads it
    assert any(e["kind"] == "device_fault" for e in raised)
    bad = next(e for e in raised if e["kind"] == "bad_rating")
    at(12, 55)
    acknowledge_alarm(ctx, sim.guide, bad["alarm_id"], now=sim.now)
    report_status(ctx, kiosk, part="printer", status={"health": "ok"}, now=sim.now)
    at(13, 5)
    cleared = check_alarms(ctx)
    assert any(e["type"] == "alarm.cleared" and e["kind"] == "device_fault" for e in cleared)
    press("resume")
    for _ in range(3):
        if press("call-next")["ticket"] is None:
            break
        press("finish")
    press("close")
    issue(IssueRequest("b"))  # left waiting overnight: the next day's start ends it (过期)
    return boss


@pytest.fixture(scope="module")
def recording() -> Iterator[Recording]:
    with simulated_hall(_scenario()) as sim:
        result = sim.run_day(MONDAY, 3)
        assert result.visitors > 40 and result.classes["transferred"]["visitors"] > 0
        boss = _staff_afternoon(sim)
        ctx, staff = sim.ctx, sim.windows[2].actor
        late = datetime.combine(MONDAY, time(23), tzinfo=ctx.layout.tz).astimezone(UTC)

        def press(actor: Actor, action: str, minute: int, **kw: Any) -> dict[str, Any]:
            when = late + timedelta(minutes=minute)
            return window_action(ctx, actor, 2, WindowCommand(action, **kw), now=when)

        press(staff, "open", 0)  # open overnight, after two green-channel calls in a row …
        for minute in (1, 2):
            issue_ticket(ctx, sim.guide, IssueRequest("b", priority=True, priority_kind="孕妇"),
                         now=late + timedelta(minutes=minute))  # fmt: skip
        for minute in (3, 5, 7):
            press(staff, "call-next", minute)
            press(staff, "finish", minute + 1)
        calls = [e.payload["reason"] for e in read_events(ctx.db, ctx.hall_id, after=0)
                 if e.type == "ticket.called" and e.at >= late]  # fmt: skip
        # the visitor transferred to window 2 this afternoon (targeted: no streak), then two
        assert calls == ["targeted", "priority", "priority"]
        press(boss, "pause", 10, reason="夜间")  # … paused by the supervisor
        sim.now = datetime.combine(TUESDAY, time(0, 5), tzinfo=ctx.layout.tz).astimezone(UTC)
        assert expire_open_tickets(ctx, SYSTEM, now=sim.now) >= 1
        sim.now += timedelta(hours=8)
        issue_ticket(ctx, sim.guide, IssueRequest("b"), now=sim.now)
        issue_ticket(ctx, sim.guide, IssueRequest("b", priority=True, priority_kind="军人"),
                     now=sim.now + timedelta(seconds=30))  # fmt: skip
        late = sim.now
        press(staff, "resume", 1)
        called = press(staff, "call-next", 2)["ticket"]
        assert called["priority"] is False  # the streak of 2 last night: a normal ticket's turn
        press(staff, "finish", 3)
        yield Recording(sim, str(sim.ctx.db.engine.url))


def test_a_recorded_day_replays_to_the_same_events_byte_for_byte(recording: Recording) -> None:
    ctx = recording.sim.ctx
    result = replay_day(ctx, MONDAY)
    assert result.difference is None, result.summary()
    day = [e for e in read_events(ctx.db, ctx.hall_id, after=0)
           if e.at < datetime.combine(TUESDAY, time(0), tzinfo=ctx.layout.tz)]  # fmt: skip
    assert result.compared == result.events == len(day) > 250
    assert (result.first_seq, result.last_seq) == (day[0].seq, day[-1].seq)
    kinds = set(result.kinds)
    assert {"ticket.issued", "ticket.called", "ticket.recalled", "ticket.held",
            "ticket.requeued", "ticket.no_show", "ticket.transferred", "ticket.cancelled",
            "ticket.finished", "window.paused", "evaluation.recorded", "notice.changed",
            "device.status", "alarm.raised", "alarm.cleared", "login.locked",
            "login.unlocked"} <= kinds  # fmt: skip
    assert result.tickets > 40
    assert "完全一致" in result.summary()


def test_the_next_day_replays_with_the_tickets_it_ends(recording: Recording) -> None:
    """Tuesday begins by ending Monday's open tickets (过期): they are rebuilt as they were;
    window 2, left open (and paused by the supervisor) overnight, is its opener's still,
    with the green-channel streak it had."""
    result = replay_day(recording.sim.ctx, TUESDAY)
    assert result.difference is None, result.summary()
    assert result.kinds.get("ticket.expired") == 1 and result.compared == result.events >= 5
    assert result.kinds.get("window.resumed") == 1  # by the staff who opened it last night


def test_a_changed_log_is_reported_at_its_seq(recording: Recording) -> None:
    ctx = recording.sim.ctx
    events = read_events(ctx.db, ctx.hall_id, after=0)
    target = next(e for e in events[len(events) // 2 :] if e.type == "ticket.called")
    forged = target.payload | {"window_name": "9号窗口"}
    with ctx.db.write() as session:
        session.execute(
            update(LogEvent)
            .where(LogEvent.hall_id == ctx.hall_id, LogEvent.seq == target.seq)
            .values(payload=forged)
        )
    try:
        result = replay_day(ctx, MONDAY)
        assert result.difference is not None
        assert (result.difference.seq, result.difference.field) == (target.seq, "payload")
        assert "9号窗口" in result.difference.recorded
        assert result.compared == target.seq - result.first_seq
        out = CliRunner(env={"HALL_CONFIG": str(SMALL_HALL)}).invoke(
            cli, ["replay", "--day", MONDAY.isoformat(), "--database", recording.url]
        )
        assert out.exit_code == 1, out.output
        assert f"seq {target.seq} 不一致 (differs) — payload" in out.output
    finally:
        with ctx.db.write() as session:
            session.execute(update(LogEvent).where(LogEvent.hall_id == ctx.hall_id,
                                                   LogEvent.seq == target.seq)
                            .values(payload=target.payload))  # fmt: skip
    out = CliRunner(env={"HALL_CONFIG": str(SMALL_HALL)}).invoke(
        cli, ["replay", "--day", MONDAY.isoformat(), "--database", recording.url]
    )
    assert out.exit_code == 0, out.output
    assert "完全一致 (identical, byte for byte)" in out.output


def test_settings_changed_later_are_undone_and_layout_changes_refused() -> None:
    """The day's call order depends on the green-channel swap ratio an admin changed the next
    day: the day replays with the ratio it had. A window changed later, or the settings
    changed during the day, refuse the replay and say why."""
    with simulated_hall(_scenario()) as sim:
        ctx, staff = sim.ctx, sim.windows[3].actor
        nine = datetime.combine(MONDAY, time(9), tzinfo=ctx.layout.tz).astimezone(UTC)
        window_action(ctx, staff, 3, WindowCommand("open"), now=nine)
        issue_ticket(ctx, sim.guide, IssueRequest("b"), now=nine)
        for second in (1, 2, 3):
            issue_ticket(ctx, sim.guide, IssueRequest("b", priority=True, priority_kind="军人"),
                         now=nine + timedelta(seconds=second))  # fmt: skip
        called = []
        for minute in (1, 2, 3):
            press = window_action(ctx, staff, 3, WindowCommand("call-next"),
                                  now=nine + timedelta(minutes=minute))  # fmt: skip
            called.append(press["ticket"]["priority"])
            window_action(ctx, staff, 3, WindowCommand("finish"),
                          now=nine + timedelta(minutes=minute, seconds=30))  # fmt: skip
        assert called == [True, True, False]  # priority_swap_ratio = 2
        assert replay_day(ctx, MONDAY).exact
        sim.now = nine + timedelta(days=1)
        save_settings(ctx, sim.guide, {"policy": {"priority_swap_ratio": 0}})
        result = replay_day(ctx, MONDAY)  # the ratio of the day, not today's 0
        assert result.exact, result.summary()
        with pytest.raises(ReplayRefused) as during:
            replay_day(ctx, TUESDAY)
        assert "changed on 2026-11-24 — seq" in during.value.message
        assert "settings" in during.value.message

        sim.now = nine + timedelta(days=2)
        save_item(ctx, sim.guide, "windows", 3, {"name": "三号窗口"}, create=False)
        with pytest.raises(ReplayRefused) as refused:
            replay_day(ctx, MONDAY)
        assert "changed after 2026-11-23" in refused.value.message
        assert "windows" in refused.value.message and "cannot be replayed" in str(refused.value)
        with pytest.raises(ReplayRefused, match="no events"):
            replay_day(ctx, MONDAY - timedelta(days=1))


def _short_day(ctx: Any, staff: Actor, guide: Actor) -> None:
    """A few visits at window 3, a 过号 and an alarm check: enough for every column."""
    nine = datetime.combine(MONDAY, time(9), tzinfo=ctx.layout.tz).astimezone(UTC)

    def press(action: str, minute: int) -> dict[str, Any]:
        return window_action(
            ctx, staff, 3, WindowCommand(action), now=nine + timedelta(minutes=minute)
        )

    press("open", 0)
    for minute in range(1, 6):
        issue_ticket(ctx, guide, IssueRequest("b", priority=minute == 3,
                                               priority_kind="军人" if minute == 3 else ""),
                     now=nine + timedelta(minutes=minute))  # fmt: skip
    press("call-next", 6)
    press("finish", 9)
    press("call-next", 10)
    press("no-show", 12)
    press("call-next", 13)
    assert check_alarms(ctx, nine + timedelta(minutes=55))  # long wait, long handling
    press("finish", 56)


def test_gaps_in_the_recorded_ids_are_kept() -> None:
    """A ticket id taken by another day's row the replay does not copy: the day's next
    ticket still gets its recorded id."""
    with simulated_hall(_scenario()) as sim:
        ctx = sim.ctx
        long_ago = datetime.combine(MONDAY - timedelta(days=3), time(9), tzinfo=UTC)
        issue_ticket(ctx, sim.guide, IssueRequest("b"), now=long_ago)
        with ctx.db.write() as session:  # that ticket was ended, and its id is far ahead
            session.execute(update(Ticket).values(id=40, state="done", ended_at=long_ago))
        _short_day(ctx, sim.windows[3].actor, sim.guide)
        first_id = min(e.ticket_id for e in read_events(ctx.db, ctx.hall_id, after=1)
                       if e.type == "ticket.issued")  # fmt: skip
        assert first_id == 41
        result = replay_day(ctx, MONDAY)
        assert result.exact, result.summary()
        assert result.kinds["alarm.raised"] == 1 and result.tickets == 5


def test_a_day_recorded_on_postgresql_replays_exactly(pg_url: str, tmp_path: Path) -> None:
    settings = load_settings(
        {"config_path": str(SMALL_HALL),
         "server": {"database_url": pg_url, "var_dir": str(tmp_path), "secret_key": "t"}},
        environ={},
    )  # fmt: skip
    db, hall_id, _ = init_database(settings, pg_url)
    try:
        ctx = HallContext(db, "test", secret="t")
        start = datetime.combine(MONDAY, time(0), tzinfo=ctx.layout.tz)
        rows = add_staff_without_login(db, hall_id, [("w3", "3号窗口"), ("guide", "导办")],
                                       now=start)  # fmt: skip
        staff, guide = (Actor(kind="staff", id=r.id, name=r.name, role="staff") for r in rows)
        _short_day(ctx, staff, guide)
        result = replay_day(ctx, MONDAY)
        assert result.exact, result.summary()
        assert result.compared == result.events >= 12
    finally:
        db.dispose()


def test_device_token_changes_replay_and_a_staff_change_stops_the_replay_at_its_seq() -> None:
    """A kiosk's token rotated in the day replays (the token is in its row, not in the log);
    its revocation the next day does not reach back (a revoked device raises no alarm) and
    replays in its own day; a new login cannot be replayed (its password is not in the
    log): the replay stops there, naming the seq."""
    with simulated_hall(_scenario()) as sim:
        ctx = sim.ctx
        info = find_device(ctx, "kiosk-1")
        assert info is not None
        kiosk = Actor(kind="device", id=info.id, name=info.name, role=info.kind)
        admin = Actor(kind="staff", id=sim.guide.id, name=sim.guide.name, role="admin")
        nine = datetime.combine(MONDAY, time(9), tzinfo=ctx.layout.tz).astimezone(UTC)
        sim.now = nine
        rotate_device_token(ctx, admin, "kiosk-1")
        report_status(ctx, kiosk, part="printer", status={"health": "fault"}, now=nine)
        assert check_alarms(ctx, nine + timedelta(minutes=1))[0]["kind"] == "device_fault"
        sim.now = nine + timedelta(days=1)
        revoke_device(ctx, admin, "kiosk-1")
        result = replay_day(ctx, MONDAY)
        assert result.exact, result.summary()
        assert result.kinds["config.changed"] == 1 and result.kinds["alarm.raised"] == 1

        sim.now = nine + timedelta(days=1, hours=1)
        save_staff(ctx, admin, None, {"login": "new01", "role": "staff", "name": "新同事",
                                      "password": "a-long-password"})  # fmt: skip
        staff_seq = read_events(ctx.db, ctx.hall_id, after=0)[-1].seq
        window_action(ctx, sim.windows[3].actor, 3, WindowCommand("open"), now=sim.now)
        result = replay_day(ctx, MONDAY + timedelta(days=1))  # revoked, then a new login
        assert result.difference is not None and result.kinds == {"config.changed": 1}
        assert (result.difference.seq, result.difference.field) == (staff_seq, "command")
        assert "config.changed (staff)" in result.difference.recorded
        assert result.compared == staff_seq - result.first_seq


def test_a_day_recorded_through_the_http_api_replays_exactly(hall: Any) -> None:
    """The same through the API the devices and pages use: a kiosk (an ID card's green
    channel), a window keypad (agent), staff and a supervisor logged in, the visitor's
    phone page cancelling and rating by the ticket's token, staff logging out (the window
    pauses)."""

    def token_of(ticket_id: int) -> str:
        with hall.ctx.db.read() as session:
            return str(session.scalar(select(Ticket.token).where(Ticket.id == ticket_id)))

    hall.act("staff1", 2, "open")
    hall.act("keypad-2", 2, "call-next")  # nobody waits yet
    first = hall.issue("a")
    elderly = hall.issue("b", id_number=elderly_id())
    assert elderly["priority"] is True
    leaving = hall.issue("a")
    hall.clock.advance(minutes=2)
    assert hall.act("keypad-2", 2, "call-next")["ticket"]["id"] == elderly["id"]
    hall.clock.advance(minutes=5)
    hall.act("staff1", 2, "finish", case_no="BJ-1")
    cancel = hall.client.post(f"/api/v1/public/tickets/{token_of(leaving['id'])}/cancel")
    assert cancel.status_code == 200, cancel.get_json()
    rating = hall.client.post(f"/api/v1/public/tickets/{token_of(elderly['id'])}/evaluation",
                              json={"score": 5, "reasons": []})  # fmt: skip
    assert rating.status_code == 201, rating.get_json()
    hall.clock.advance(minutes=1)
    assert hall.act("staff1", 2, "call-next")["ticket"]["id"] == first["id"]
    hall.act("boss", 2, "recall")
    hall.clock.advance(minutes=3)
    hall.act("staff1", 2, "no-show")
    requeue = hall.post("staff1", f"/tickets/{first['id']}/requeue")
    assert requeue.status_code == 200, requeue.get_json()
    out = hall.client.post("/api/v1/staff/logout", headers=hall.headers("staff1"))
    assert out.status_code == 200, out.get_json()
    result = replay_day(hall.ctx, MONDAY)
    assert result.exact, result.summary()
    assert {"ticket.cancelled", "evaluation.recorded", "window.paused"} <= set(result.kinds)
