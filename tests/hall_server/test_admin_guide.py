"""An admin says what a service needs (办事指南): materials, fee, time limit, notes are saved,
audited and shown on the kiosk; a service without a guide shows nothing invented. Text the
hall's screens and printer cannot draw (emoji) is refused where an admin types it and dropped
where a visitor or a busy clerk does."""

from __future__ import annotations

from typing import Any

import pytest

from .hall import HallRig

GUIDE = {
    "materials": ["身份证原件", "《公证申请表》"],
    "fee": "每件 80 元",
    "time_limit": "承诺时限：3个工作日",
    "notes": "委托办理需授权委托书",
}
NEW_SERVICE = {
    "code": "notary", "name": "公证", "name_en": "Notary", "category": "公证", "prefix": "N",
    "zone": "N区", "floor": 1,
}  # fmt: skip


def put(hall: HallRig, path: str, body: Any) -> Any:
    return hall.client.put(f"/api/v1{path}", json=body, headers=hall.headers("root"))


def kiosk_service(hall: HallRig, code: str) -> dict[str, Any]:
    services = hall.get("kiosk-1", "/kiosk/state").get_json()["services"]
    return next(s for s in services if s["code"] == code)


def config_changes(hall: HallRig) -> list[dict[str, Any]]:
    events = hall.get("boss", "/events?after=0").get_json()["events"]
    return [e for e in events if e["type"] == "config.changed"]


def test_a_service_created_with_a_guide_shows_it_on_the_kiosk(hall: HallRig) -> None:
    created = hall.post("root", "/admin/services", {**NEW_SERVICE, "guide": GUIDE})
    assert created.status_code == 201, created.get_json()
    assert kiosk_service(hall, "notary")["guide"] == GUIDE
    [event] = config_changes(hall)
    assert (event["action"], event["key"]) == ("created", "notary")
    saved = hall.get("root", "/admin/config").get_json()["config"]["services"]
    assert next(s for s in saved if s["code"] == "notary")["guide"] == GUIDE


def test_a_guide_edit_is_saved_audited_and_live(hall: HallRig) -> None:
    response = put(hall, "/admin/services/b", {"guide": GUIDE})
    assert response.status_code == 200, response.get_json()
    assert kiosk_service(hall, "b")["guide"] == GUIDE
    [event] = config_changes(hall)
    assert event["key"] == "b" and event["fields"] == ["guide"]
    assert event["changes"]["guide"][1] == GUIDE


def test_a_service_without_a_guide_invents_no_fee_time_or_materials(hall: HallRig) -> None:
    assert hall.post("root", "/admin/services", NEW_SERVICE).status_code == 201
    guide = kiosk_service(hall, "notary")["guide"]
    assert guide == {"materials": [], "fee": "", "time_limit": "", "notes": ""}
    for invented in ("免费", "即办", "无需材料"):
        assert invented not in str(guide)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/admin/services/b", {"name": "不动产登记🏠"}, "name"),
        ("/admin/services/b", {"name_en": "Real Estate 🏠"}, "name_en"),
        ("/admin/services/b", {"guide": {"fee": "免费👍"}}, "guide.fee"),
        ("/admin/services/b", {"guide": {"materials": ["身份证", "照片📷"]}}, "guide.materials.1"),
        ("/admin/windows/3", {"name": "三号窗口✨"}, "name"),
        ("/admin/notices", {"notices": ["系统升级⚠️"]}, "notices.0"),
        ("/admin/settings", {"name": "测试大厅🎉"}, "name"),
        ("/admin/staff/staff1", {"name": "小王😀"}, "name"),
    ],
)
def test_admin_text_with_emoji_is_refused_and_says_why(
    hall: HallRig, path: str, body: dict[str, Any], field: str
) -> None:
    before = hall.get("root", "/admin/config").get_json()
    response = put(hall, path, body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert field in [f["field"] for f in error["fields"]], error
    assert "表情符号" in error["message"] and "cannot show" in error["message"]
    assert hall.get("root", "/admin/config").get_json() == before


def test_symbols_the_fonts_have_are_kept(hall: HallRig) -> None:
    response = put(hall, "/admin/notices", {"notices": ["★ 《办事指南》请按序排队（№1）"]})
    assert response.status_code == 200, response.get_json()


def test_a_clerks_pause_reason_loses_only_the_emoji(hall: HallRig) -> None:
    hall.act("staff1", 1, "open")
    paused = hall.act("staff1", 1, "pause", reason="午休🍜 ")["window"]
    assert paused["pause_reason"] == "午休"


@pytest.mark.parametrize(
    ("schema", "field", "extra"),
    [
        ("WindowActionBody", "reason", {}),
        ("WindowActionBody", "note", {}),
        ("EvaluationBody", "comment", {"score": 5}),
        ("AppointmentBody", "name", {"service": "b", "code": "Y0001", "slot_start": "x"}),
    ],
)
def test_a_visitors_or_clerks_own_words_keep_all_but_the_emoji(
    schema: str, field: str, extra: dict[str, Any]
) -> None:
    from hall_server.api import schemas

    if schema == "AppointmentBody":
        extra = {**extra, "slot_end": "y"}
    body = getattr(schemas, schema).model_validate({**extra, field: "很满意👍🏻 谢谢🙏"})
    assert getattr(body, field) == "很满意 谢谢"
