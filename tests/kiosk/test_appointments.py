"""Appointments (预约): CSV import, check-in at the kiosk for a priority ticket, no-shows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hall_server.models import Appointment
from hall_server.services.appointments import mark_no_shows
from tests.hall_server.hall import HallRig

# The test Monday is 2026-11-23, 10:00 in Shanghai.
CSV = """code,service,slot_start,slot_end,name,phone
YY1001,b,2026-11-23 10:00,2026-11-23 10:30,张三,13812345678
YY1002,b,2026-11-23T14:00:00+08:00,2026-11-23T14:30:00+08:00,,
YY1003,zz,2026-11-23 10:00,2026-11-23 10:30,,
YY1004,b,yesterday,2026-11-23 10:30,,
YY1001,b,2026-11-23 11:00,2026-11-23 11:30,,
"""


def import_csv(hall: HallRig, text: str, who: str = "boss") -> Any:
    return hall.client.post(
        "/api/v1/appointments/import",
        data=text.encode(),
        headers=hall.headers(who, **{"Content-Type": "text/csv"}),
    )


def states(hall: HallRig) -> dict[str, str]:
    with hall.ctx.db.read() as session:
        return dict(session.execute(select(Appointment.code, Appointment.state)).all())


def test_csv_import_keeps_good_rows_and_names_each_bad_line(hall: HallRig) -> None:
    response = import_csv(hall, CSV)
    assert response.status_code == 201
    result = response.get_json()
    assert result["created"] == 2
    first = result["appointments"][0]
    assert first["slot_start"] == "2026-11-23T10:00:00+08:00" and first["phone"] == "138****5678"
    assert first["name"] == "张*"
    assert [(e["line"], e["code"]) for e in result["errors"]] == [
        (4, "YY1003"), (5, "YY1004"), (6, "YY1001"),
    ]  # fmt: skip
    assert "zz" in result["errors"][0]["message"] and "已存在" in result["errors"][2]["message"]


def test_csv_import_refuses_a_file_without_the_needed_columns(hall: HallRig) -> None:
    response = import_csv(hall, "code,slot\nX,1\n")
    assert response.status_code == 422 and "缺少列" in response.get_json()["error"]["message"]
    assert import_csv(hall, CSV, who="staff1").status_code == 403


def test_csv_import_reads_excel_gbk_files(hall: HallRig) -> None:
    response = hall.client.post(
        "/api/v1/appointments/import",
        data="code,service,slot_start,slot_end,name\nG1,b,2026-11-23 10:00,2026-11-23 10:30,李四\n"
        .encode("gbk"),
        headers=hall.headers("boss", **{"Content-Type": "text/csv"}),
    )  # fmt: skip
    assert response.status_code == 201 and response.get_json()["appointments"][0]["name"] == "李*"


def test_check_in_at_the_kiosk_gives_a_priority_ticket(hall: HallRig, agent: Any) -> None:
    import_csv(hall, CSV)
    response = hall.post("kiosk-1", "/kiosk/tickets", {"appointment_code": "yy1001"})
    assert response.status_code == 201
    ticket = response.get_json()
    assert ticket["priority"] is True and ticket["priority_kind"] == "预约"
    assert ticket["service"] == "b"
    assert states(hall)["YY1001"] == "checked_in"
    again = hall.post("kiosk-1", "/kiosk/tickets", {"appointment_code": "YY1001"})
    assert again.status_code == 422 and "已使用" in again.get_json()["error"]["message"]


def test_checking_in_too_early_says_when_to_come(hall: HallRig, agent: Any) -> None:
    import_csv(hall, CSV)
    early = hall.post("kiosk-1", "/kiosk/tickets", {"appointment_code": "YY1002"})
    assert early.status_code == 422
    assert "14:00-14:30" in early.get_json()["error"]["message"]


def test_an_appointment_not_checked_in_is_marked_no_show_after_its_window(hall: HallRig) -> None:
    import_csv(hall, CSV)
    hall.clock.advance(minutes=44)  # 10:44: slot ended 10:30, late check-in until 10:45
    assert mark_no_shows(hall.ctx) == 0
    hall.clock.advance(minutes=2)
    assert mark_no_shows(hall.ctx) == 1
    assert states(hall) == {"YY1001": "no_show", "YY1002": "booked"}
