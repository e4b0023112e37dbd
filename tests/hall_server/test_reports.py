"""Reports (效能监察): every figure equals a direct computation from the raw ticket rows —
over a generated history of more than 100 000 tickets in 90 days, from stored daily
aggregates, from days computed live, and across periods and groups."""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select

from hall_server.models import DailyStat, Evaluation, Service, StatDay, Ticket
from hall_server.services.aggregates import refresh_stats
from hall_server.services.reports import ReportQuery, build_report, period_label

from .hall import HallRig
from .history import generate_history

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 23)  # the test hall's Monday


# ---------------------------------------------------------------- the direct computation


def raw_rows(hall: HallRig) -> list[dict[str, Any]]:
    with hall.ctx.db.read() as session:
        sla = dict(session.execute(select(Service.id, Service.sla_wait_min)).all())
        scores = dict(session.execute(select(Evaluation.ticket_id, Evaluation.score)).all())
        return [
            {
                "day": t.business_day,
                "service": str(t.service_id),
                "window": "" if t.window_no is None else str(t.window_no),
                "staff": "" if t.staff_id is None else str(t.staff_id),
                "hour": f"{t.issued_at.astimezone(TZ).hour:02d}",
                "hall": "",
                "state": t.state,
                "no_show_count": t.no_show_count,
                "wait_s": t.wait_s,
                "handle_s": t.handle_s,
                "sla_s": sla[t.service_id] * 60,
                "score": scores.get(t.id),
            }
            for t in session.scalars(select(Ticket))
        ]


def nearest_rank(values: list[int], p: int) -> int | None:
    if not values:
        return None
    ordered = sorted(v // 10_000 * 10 for v in values)  # whole ms -> 10 s steps, in seconds
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Every report figure of a set of tickets, computed the plain way."""
    waits = [round(r["wait_s"] * 1000) for r in rows if r["wait_s"] is not None]
    served = [r for r in rows if r["state"] == "done"]
    handles = [round(r["handle_s"] * 1000) for r in served]
    no_show = sum(1 for r in rows if r["state"] != "done" and r["no_show_count"] > 0)
    scores = [r["score"] for r in rows if r["score"] is not None]
    within = sum(
        1
        for r in rows
        if r["wait_s"] is not None and round(r["wait_s"] * 1000) <= r["sla_s"] * 1000
    )
    return {
        "tickets": len(rows),
        "served": len(served),
        "no_show": no_show,
        "cancelled": sum(1 for r in rows if r["state"] == "cancelled"),
        "expired": sum(1 for r in rows if r["state"] == "expired"),
        "no_show_rate": round(no_show / len(rows), 4) if rows else None,
        "called": len(waits),
        "wait_mean_s": round(sum(waits) / len(waits) / 1000, 1) if waits else None,
        "wait_p50_s": nearest_rank(waits, 50),
        "wait_p90_s": nearest_rank(waits, 90),
        "wait_max_s": max(waits) / 1000 if waits else None,
        "handle_mean_s": round(sum(handles) / len(handles) / 1000, 1) if handles else None,
        "handle_p90_s": nearest_rank(handles, 90),
        "sla_share": round(within / len(waits), 4) if waits else None,
        "evaluations": len(scores),
        "satisfaction": round(sum(scores) / len(scores), 2) if scores else None,
        "bad": sum(1 for s in scores if s <= 2),
    }


def expected(rows: list[dict[str, Any]], query: ReportQuery) -> dict[tuple[str, str], dict]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if query.start <= r["day"] <= query.end:
            groups[(period_label(r["day"], query.period, query), r[query.group])].append(r)
    return {key: figures(members) for key, members in groups.items()}


def reported(report: dict[str, Any]) -> dict[tuple[str, str], dict]:
    names = {"period", "key", "name", "name_en"}
    return {
        (r["period"], r["key"]): {k: v for k, v in r.items() if k not in names}
        for r in report["rows"]
    }


# ---------------------------------------------------------------- the tests


@pytest.fixture
def history(hall: HallRig) -> HallRig:
    """90 days of history up to yesterday, with its daily aggregates built, and a few
    tickets today."""
    made = generate_history(
        hall.ctx.db,
        hall.ctx.hall_id,
        last_day=TODAY - timedelta(days=1),
        days=90,
        tickets_per_day=1500,
    )
    assert made >= 100_000
    assert refresh_stats(hall.ctx, backfill=True) == 90
    hall.act("staff1", 3, "open")
    for _ in range(3):
        hall.issue("b")
        hall.clock.advance(minutes=7)
        hall.act("staff1", 3, "call-next")
        hall.clock.advance(minutes=4)
        hall.act("staff1", 3, "finish")
    hall.issue("b")
    return hall


QUERIES = [
    ReportQuery(TODAY - timedelta(days=89), TODAY, "range", "service"),
    ReportQuery(TODAY - timedelta(days=89), TODAY, "month", "window"),
    ReportQuery(TODAY - timedelta(days=60), TODAY - timedelta(days=3), "week", "staff"),
    ReportQuery(TODAY - timedelta(days=13), TODAY, "day", "hour"),
    ReportQuery(TODAY - timedelta(days=89), TODAY, "range", "hall"),
]


@pytest.mark.slow
def test_every_figure_equals_the_direct_computation_from_raw_tickets(history: HallRig) -> None:
    rows = raw_rows(history)
    assert len(rows) >= 100_000
    for query in QUERIES:
        report = build_report(history.ctx, query)
        assert reported(report) == expected(rows, query), query
        everything = figures([r for r in rows if query.start <= r["day"] <= query.end])
        assert report["total"] == everything
        assert sum(t["tickets"] for t in report["totals"]) == everything["tickets"]

    # A day built earlier then changed (a late rating, an expiry) is read live, not stale.
    with history.ctx.db.write() as session:
        late = session.scalar(
            select(Ticket)
            .where(
                Ticket.business_day == TODAY - timedelta(days=1),
                Ticket.state == "done",
                Ticket.id.not_in(select(Evaluation.ticket_id)),
            )
            .limit(1)
        )
        assert late is not None
        session.add(
            Evaluation(
                hall_id=late.hall_id,
                ticket_id=late.id,
                window_no=late.window_no,
                staff_id=late.staff_id,
                score=1,
                reasons=["态度差"],
                created_at=history.clock.now,
            )
        )
    # A day whose aggregates are missing is computed live too.
    with history.ctx.db.write() as session:
        gone = TODAY - timedelta(days=40)
        session.execute(delete(DailyStat).where(DailyStat.business_day == gone))
        session.execute(delete(StatDay).where(StatDay.business_day == gone))
    rows = raw_rows(history)
    for query in QUERIES[:2]:
        assert reported(build_report(history.ctx, query)) == expected(rows, query)
    assert refresh_stats(history.ctx, backfill=True) == 2  # the two days are rebuilt
    assert reported(build_report(history.ctx, QUERIES[0])) == expected(rows, QUERIES[0])


@pytest.mark.slow
def test_csv_and_xlsx_carry_chinese_headers_and_the_same_figures(history: HallRig) -> None:
    query = "start=2026-11-01&end=2026-11-23&period=range&group=service"
    data = history.get("boss", f"/reports?{query}").get_json()
    csv_response = history.get("boss", f"/reports?{query}&format=csv")
    assert csv_response.status_code == 200
    assert "attachment" in csv_response.headers["Content-Disposition"]
    text = csv_response.data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:5] == ["期间", "事项", "取号数", "办结数", "过号数"]
    assert [int(row[2]) for row in table[1:-1]] == [r["tickets"] for r in data["rows"]]
    assert table[-1][1] == "合计" and int(table[-1][2]) == data["total"]["tickets"]

    xlsx = history.get("boss", f"/reports?{query}&format=xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert "效能报表" in str(cells[0][0])
    assert cells[1][:4] == ["期间", "事项", "取号数", "办结数"]
    assert cells[2][:3] == ["Period", "Service", "Tickets"]
    assert [(row[1], row[2], row[3]) for row in cells[3:-1]] == [
        (r["name"], r["tickets"], r["served"]) for r in data["rows"]
    ]
    mean_wait = data["rows"][0]["wait_mean_s"]
    assert cells[3][7] == round(mean_wait / 60, 1)


def test_report_requests_are_checked_and_for_supervisors_only(hall: HallRig) -> None:
    assert hall.get("staff1", "/reports").status_code == 403
    assert hall.get("tv-1", "/reports").status_code == 403
    bad = hall.get("boss", "/reports?group=colour")
    assert bad.status_code == 422 and "group" in bad.get_json()["error"]["message"]
    assert hall.get("boss", "/reports?start=2026-13-01").status_code == 400
    backwards = hall.get("boss", "/reports?start=2026-11-20&end=2026-11-01")
    assert backwards.status_code == 422
    assert hall.get("boss", "/reports?format=pdf").status_code == 400
    empty = hall.get("boss", "/reports").get_json()
    assert empty["rows"] == [] and empty["total"]["tickets"] == 0


def test_today_figures_follow_the_hall_live(hall: HallRig) -> None:
    hall.act("staff1", 3, "open")
    first = hall.issue("b")
    hall.issue("b")
    hall.clock.advance(minutes=12)
    hall.act("staff1", 3, "call-next")
    hall.clock.advance(minutes=5)
    hall.act("staff1", 3, "finish")
    hall.post("eval-3", f"/tickets/{first['id']}/evaluation", {"score": 2, "reasons": ["慢"]})
    today = hall.get("boss", "/reports/today").get_json()
    kpis = today["kpis"]
    assert (kpis["tickets"], kpis["served"], kpis["called"]) == (2, 1, 1)
    assert (kpis["wait_mean_s"], kpis["handle_mean_s"]) == (720.0, 300.0)
    assert (kpis["evaluations"], kpis["bad"], kpis["sla_share"]) == (1, 1, 1.0)
    assert today["by_hour"]["arrivals"][10] == 2 and today["by_hour"]["served"][10] == 1
    assert today["wait_distribution"]["tickets"] == [0, 0, 1, 0, 0, 0, 0]
    assert today["by_window"] == [{"window": 3, "served": 1, "handle_mean_s": 300.0}]
