"""Staffing advice (排班建议): Erlang's fewest windows from what the records say, checked by
simulating the plan; `hall advise`; the dashboard's plan; the "open another window" alarm."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hall_server.commands import cli
from hall_server.domain import erlang
from hall_server.services.alarms import check_alarms
from hall_server.services.staffing import (
    History,
    erlang_plan,
    fewest_windows_a,
    open_share,
    patience_of,
    read_history,
)
from hall_server.simulation.engine import simulated_hall
from hall_server.simulation.scenario import scenario_from
from hall_server.simulation.staffing import advise, check_plan

from .hall import SMALL_HALL, HallRig

DEMO = Path(__file__).resolve().parents[2] / "config" / "halls" / "demo.toml"
NEXT_MONDAY = date(2026, 11, 30)  # the rig's clock starts on Monday 2026-11-23 at 10:00


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """A local (Shanghai) moment as UTC."""
    return datetime(day.year, day.month, day.day, hh - 8, mm, tzinfo=UTC)


def test_erlang_advice_on_known_rates_is_the_fewest_windows(hall: HallRig) -> None:
    layout = hall.ctx.layout
    history = History(days=[date(2026, 11, 23), date(2026, 11, 16)], weeks=4)
    history.arrivals = {"a": {9: 40, 10: 24}, "c": {14: 6}}  # over two days
    history.handle_s = {"a": [420.0, 540.0], "c": [300.0]}
    plan = erlang_plan(layout, history, NEXT_MONDAY, share=0.8)
    cells = {(c.group, c.hour): c for c in plan.cells}
    assert set(cells) == {("社保", 9), ("社保", 10), ("出入境", 14)}
    for (group, hour), per_h, handle_s, target_min in [
        (("社保", 9), 20.0, 480.0, 30), (("社保", 10), 12.0, 480.0, 30),
        (("出入境", 14), 3.0, 300.0, 30),
    ]:  # fmt: skip
        cell = cells[(group, hour)]
        load = per_h / 3600 * handle_s
        assert (cell.arrivals_per_h, cell.handle_s, cell.model) == (per_h, handle_s, "erlang_c")
        assert cell.windows == erlang.fewest_windows(load, handle_s, target_min * 60, 0.8)
        assert cell.share == pytest.approx(
            erlang.service_level(cell.windows, load, handle_s, target_min * 60)
        )
    assert cells[("社保", 9)].windows == 4  # 2.67 erlangs
    assert cells[("社保", 9)].available == 1  # window 2 (a=3, b=1); window 1 is general


def test_an_hour_the_service_is_open_for_half_counts_its_arrivals_at_twice_the_rate(
    hall: HallRig,
) -> None:
    a = hall.ctx.layout.services["a"]  # 08:30-12:00 and 13:30-17:30 on weekdays
    assert [open_share(a, 1, h) for h in (8, 10, 12, 13, 17)] == [0.5, 1.0, 1.0, 0.5, 0.5]
    history = History(days=[date(2026, 11, 23), date(2026, 11, 16)], weeks=4)
    history.arrivals = {"a": {13: 6, 14: 6}}
    assert history.rate_while_open(a, 1, 13) == 6.0  # 3 a day in the half hour it is open
    assert history.rate_while_open(a, 1, 14) == 3.0
    [h13, h14] = erlang_plan(hall.ctx.layout, history, NEXT_MONDAY).cells
    assert (h13.hour, h13.arrivals_per_h, h14.arrivals_per_h) == (13, 6.0, 3.0)


@pytest.mark.parametrize(
    ("per_h", "handle_s", "patience_s"),
    [(6, 480, 600), (20, 500, 1200), (100, 600, 1200), (100, 600, 60)],
)
def test_erlang_a_advice_is_the_first_window_count_that_meets_the_target(
    per_h: float, handle_s: float, patience_s: float
) -> None:
    load = per_h / 3600 * handle_s
    first = next(
        c
        for c in range(1, 200)
        if erlang.erlang_a(c, load, handle_s, patience_s, 1800).service_level >= 0.8
    )
    assert fewest_windows_a(load, handle_s, patience_s, 1800, 0.8) == first


def test_patience_from_who_left_the_queue_over_the_time_spent_waiting() -> None:
    history = History(days=[date(2026, 11, 23)], weeks=4)
    history.waits_s = {"a": [600.0] * 10}
    history.no_shows = {"a": 9}  # 过号 hold their place in the queue: not walk-aways
    history.walkaways = {"a": 4}
    assert patience_of(history, ["a"]) is None  # too few to estimate: Erlang C
    history.walkaways = {"a": 5}
    assert patience_of(history, ["a"]) == 1200.0  # 6000 s waited, 5 left: θ = 1/1200 s


def test_visitors_who_cancel_before_a_call_make_the_advice_erlang_a(hall: HallRig) -> None:
    day = date(2026, 11, 16)
    hall.clock.now = at(day, 10)
    tickets = []
    for _ in range(6):
        tickets.append(hall.issue("a"))
        hall.clock.advance(minutes=2)
    hall.clock.advance(minutes=10)
    for ticket in tickets[:5]:  # five leave after waiting, one stays
        assert (
            hall.client.post(f"/api/v1/public/tickets/{ticket['token']}/cancel").status_code == 200
        )
    history = read_history(hall.ctx, NEXT_MONDAY, weeks=4)
    assert history.walkaways == {"a": 5}
    waited = sum(history.waits_s["a"])
    assert waited == (22 + 20 + 18 + 16 + 14) * 60  # the one still waiting is not counted
    plan = erlang_plan(hall.ctx.layout, history, NEXT_MONDAY)
    assert plan.patience_s == {"社保": waited / 5}
    [cell] = plan.cells
    assert cell.model == "erlang_a"
    load = 6 / 3600 * cell.handle_s
    a = erlang.erlang_a(cell.windows, load, cell.handle_s, waited / 5, 30 * 60)
    assert cell.share == pytest.approx(a.service_level) and cell.share >= 0.8
    assert (
        erlang.erlang_a(cell.windows - 1, load, cell.handle_s, waited / 5, 1800).service_level < 0.8
    )


def serve_morning(hall: HallRig, day: date, handles_min: list[int]) -> None:
    """Window 2 opens at 09:55; at 10:00, 10:15 … a visitor of service a comes, is called at
    once and finished after the given minutes; the window closes at the end."""
    hall.clock.now = at(day, 9, 55)
    hall.act("staff1", 2, "open")
    for i, minutes in enumerate(handles_min):
        hall.clock.now = at(day, 10, 15 * i)
        hall.issue("a")
        hall.act("staff1", 2, "call-next")
        hall.clock.advance(minutes=minutes)
        hall.act("staff1", 2, "finish")
    hall.act("staff1", 2, "close")


def test_advice_from_records_learns_arrivals_and_handling_per_hour(hall: HallRig) -> None:
    serve_morning(hall, date(2026, 11, 16), [6, 8, 10, 12])  # 10:00-10:45: four visitors
    serve_morning(hall, date(2026, 11, 23), [4, 8])
    hall.clock.now = at(date(2026, 11, 23), 10, 50)  # a seventh visitor does not come: 过号
    hall.act("staff1", 2, "open")
    hall.issue("a")
    hall.act("staff1", 2, "call-next")
    hall.clock.advance(minutes=2)
    hall.act("staff1", 2, "no-show")
    hall.act("staff1", 2, "close")
    serve_morning(hall, date(2026, 11, 24), [30])  # a Tuesday: not this weekday's history
    history = read_history(hall.ctx, NEXT_MONDAY, weeks=4)
    assert history.days == [date(2026, 11, 16), date(2026, 11, 23)]
    assert history.arrivals == {"a": {10: 7}}
    assert history.per_hour("a", 10) == 3.5  # seven visitors over the two Mondays with records
    assert history.mean_handle_s("a", 0) == pytest.approx(8 * 60)  # (6+8+10+12+4+8)/6 min
    window_s = (6 * 480 + 120) / 7  # the 过号 held the window for the 2 minutes staff waited
    assert history.mean_window_s("a", 0) == pytest.approx(window_s)
    assert (history.no_show_share(), history.mean_no_show_s()) == (1 / 7, 120.0)
    plan = advise(hall.ctx, NEXT_MONDAY, weeks=4, check_days=0)
    [cell] = plan.cells
    assert (cell.group, cell.hour, cell.arrivals_per_h) == ("社保", 10, 3.5)
    assert cell.handle_s == pytest.approx(window_s) and cell.model == "erlang_c"
    load = 3.5 / 3600 * window_s
    assert cell.windows == erlang.fewest_windows(load, window_s, 30 * 60, 0.8) == 1
    assert plan.history_days == [date(2026, 11, 16), date(2026, 11, 23)]
    # Only the two Mondays two and three weeks back: the later one falls out of the window.
    assert read_history(hall.ctx, NEXT_MONDAY, weeks=1).arrivals == {"a": {10: 3}}


def demo_history(weeks: int, per_h: float, handle_s: float) -> Any:
    """The demo hall with ``weeks`` Mondays of 社会保障 visitors from 09:00 to 11:00."""
    first = date(2026, 11, 2)
    data = {"hall": str(DEMO), "day": first.isoformat(), "seed": 3,
            "arrivals": {"shebao": {"09": per_h, "10": per_h}},
            "handling": {"shebao": {"mean_s": handle_s}}}  # fmt: skip
    return scenario_from(data, Path("."), first), [first + timedelta(weeks=k) for k in range(weeks)]


def test_the_simulated_check_reports_its_share_and_adds_a_window_where_it_misses() -> None:
    scenario, days = demo_history(4, per_h=10, handle_s=480)
    with simulated_hall(scenario) as sim:
        for n, day in enumerate(days):
            sim.run_day(day, n)
        target = days[-1] + timedelta(weeks=1)
        history = read_history(sim.ctx, target, weeks=4)
        plan = advise(sim.ctx, target, weeks=4, check_days=2)
        cells = {c.hour: c for c in plan.cells if c.group == "社保医保"}
        assert set(cells) == {9, 10}
        for cell in cells.values():
            assert 5 <= cell.arrivals_per_h <= 15 and 330 <= cell.handle_s <= 630  # ±3 SE
            assert cell.available == 4  # windows 4, 5 (社保) and 6, 7 (医保's main service)
            assert cell.sim_share is not None and cell.sim_visitors > 10
            assert cell.sim_wait_mean_s is not None
        # One window for about 1.3 erlangs: the queue grows, the simulation misses the
        # target and the check adds a window (and says so).
        short = erlang_plan(sim.ctx.layout, history, target)
        short.cells = [replace(c, windows=1) for c in short.cells if c.group == "社保医保"]
        check_plan(short, sim.ctx, history, days=2, rounds=1)
        assert all(c.added == 1 and c.windows == 2 for c in short.cells), short.cells
        assert any("模拟未达标，加开1个窗口" in note for note in short.notes)


def run_advise(hall: HallRig, tmp_path: Path, *args: str) -> Any:
    env = {"HALL_CONFIG": str(SMALL_HALL), "HALL_DATABASE_URL": str(hall.ctx.db.engine.url),
           "HALL_SECRET_KEY": "test-secret", "HALL_VAR_DIR": str(tmp_path / "var")}  # fmt: skip
    result = CliRunner().invoke(cli, ["advise", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_hall_advise_prints_the_plan_or_says_there_are_no_records(
    hall: HallRig, tmp_path: Path
) -> None:
    empty = run_advise(hall, tmp_path, "--day", "2026-11-30")
    assert "还没有取号记录" in empty and "no tickets on the same weekday" in empty
    serve_morning(hall, date(2026, 11, 23), [6, 8, 10, 12])
    table = run_advise(hall, tmp_path, "--day", "2026-11-30", "--check-days", "1")
    assert "排班建议 staffing plan for 2026-11-30" in table
    row = next(line for line in table.splitlines() if line.startswith("10 "))
    assert row.split()[:5] == ["10", "社保", "4.0", "540.0", "30"]
    plan = json.loads(run_advise(hall, tmp_path, "--day", "2026-11-30", "--json"))
    expected = erlang.fewest_windows(4 / 3600 * 540, 540, 30 * 60, 0.8)
    assert [(c["group"], c["hour"], c["windows"]) for c in plan["cells"]] == [
        ("社保", 10, expected)
    ]


def test_the_dashboard_plan_is_for_supervisors(hall: HallRig) -> None:
    serve_morning(hall, date(2026, 11, 17), [6, 8])  # last Tuesday
    hall.clock.now = at(date(2026, 11, 23), 12)  # tomorrow is Tuesday 2026-11-24
    answer = hall.get("boss", "/staffing/plan")
    assert answer.status_code == 200
    plan = answer.get_json()
    assert plan["day"] == "2026-11-24" and plan["simulated_days"] == 0
    assert [(c["group"], c["hour"], c["arrivals_per_h"]) for c in plan["cells"]] == [
        ("社保", 10, 2.0)
    ]
    checked = hall.get("root", "/staffing/plan?day=2026-11-24&check_days=1").get_json()
    assert checked["simulated_days"] == 1 and checked["cells"][0]["sim_share"] is not None
    assert hall.get("staff1", "/staffing/plan").status_code == 403
    assert hall.get("kiosk-1", "/staffing/plan").status_code == 403
    assert hall.client.get("/api/v1/staffing/plan").status_code == 401
    assert hall.get("boss", "/staffing/plan?check_days=9").status_code == 422
    assert hall.get("boss", "/staffing/plan?day=tomorrow").status_code == 400
    assert hall.get("boss", "/staffing/plan?day=0001-01-01&weeks=52").status_code == 422


def open_window_alarms(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["type"], e["subject"], e.get("level", "")) for e in events
            if e.get("kind") == "open_window"]  # fmt: skip


def serve(hall: HallRig, visits: int, minutes: float) -> None:
    for _ in range(visits):
        hall.act("staff1", 2, "call-next")
        hall.clock.advance(minutes=minutes)
        hall.act("staff1", 2, "finish")


def test_open_another_window_raised_when_arrivals_break_the_target_and_cleared(
    hall: HallRig,
) -> None:
    hall.act("staff1", 2, "open")  # 社保's own window
    # Two visitors in ten minutes: 2.7/h × 8 min = 0.36 erlangs on one window: on target.
    for _ in range(2):
        hall.issue("a")
        hall.clock.advance(minutes=5)
    assert open_window_alarms(check_alarms(hall.ctx)) == []
    # Three more: five in the last 45 minutes, 6.7/h = 0.89 erlangs on one window.
    for _ in range(3):
        hall.issue("a")
        hall.clock.advance(minutes=5)
    raised = [e for e in check_alarms(hall.ctx) if e.get("kind") == "open_window"]
    assert open_window_alarms(raised) == [("alarm.raised", "group:社保", "red")]
    message = raised[0]["message"]
    assert message.startswith("请为社保加开窗口：预计等候约")
    assert "open another window for 社保: predicted wait" in message
    assert "over the 30-min target" in message
    hall.clock.advance(minutes=5)
    assert open_window_alarms(check_alarms(hall.ctx)) == []  # still the same cause
    serve(hall, 5, minutes=2)  # the queue is gone, but the last 45 minutes' rate still breaks
    assert open_window_alarms(check_alarms(hall.ctx)) == []
    hall.clock.advance(minutes=26)  # 45 minutes after the last arrival: no one came since
    cleared = check_alarms(hall.ctx)
    assert open_window_alarms(cleared) == [("alarm.cleared", "group:社保", "")]
    open_kinds = [a["kind"] for a in hall.get("boss", "/alarms").get_json()["alarms"]]
    assert "open_window" not in open_kinds


def test_open_another_window_for_a_queue_that_built_up_before_the_window_opened(
    hall: HallRig,
) -> None:
    for _ in range(8):  # eight visitors wait while 社保's window is still closed
        hall.issue("a")
        hall.clock.advance(minutes=1)
    hall.clock.advance(minutes=52)  # nobody came in the last 45 minutes
    assert open_window_alarms(check_alarms(hall.ctx)) == []  # no window open: nothing to add
    hall.act("staff1", 2, "open")
    raised = [e for e in check_alarms(hall.ctx) if e.get("kind") == "open_window"]
    assert open_window_alarms(raised) == [("alarm.raised", "group:社保", "red")]
    assert "预计等候约64分钟" in raised[0]["message"]  # 8 waiting × 8 min on one window
    serve(hall, 4, minutes=1)  # 4 × 8 = 32 min: still over the target
    assert open_window_alarms(check_alarms(hall.ctx)) == []
    serve(hall, 1, minutes=1)  # 3 × 8 = 24 min: within it
    assert open_window_alarms(check_alarms(hall.ctx)) == [("alarm.cleared", "group:社保", "")]


def test_no_open_window_alarm_while_none_of_the_groups_windows_is_open(hall: HallRig) -> None:
    for _ in range(6):
        hall.issue("a")
        hall.clock.advance(minutes=2)
    assert open_window_alarms(check_alarms(hall.ctx)) == []


def test_an_admin_sets_the_share_and_the_alarm_follows_it(hall: HallRig) -> None:
    put = hall.client.put
    bad = put("/api/v1/admin/settings", json={"alarms": {"sla_share": 1}},
              headers=hall.headers("root"))  # fmt: skip
    assert bad.status_code == 422 and "alarms.sla_share" in bad.get_json()["error"]["message"]
    ok = put("/api/v1/admin/settings", json={"alarms": {"sla_share": 0.99}},
             headers=hall.headers("root"))  # fmt: skip
    assert ok.status_code == 200, ok.get_json()
    hall.act("staff1", 2, "open")
    for _ in range(2):  # on target at 80 % (above), not at 99 %
        hall.issue("a")
        hall.clock.advance(minutes=5)
    assert open_window_alarms(check_alarms(hall.ctx)) == [("alarm.raised", "group:社保", "yellow")]


def test_a_share_of_zero_or_one_is_refused_in_the_config() -> None:
    from hall_server.settings import AlarmConfig

    assert AlarmConfig().sla_share == 0.8
    for bad in (0, 1, 1.5):
        with pytest.raises(ValueError, match="sla_share"):
            AlarmConfig(sla_share=bad)
