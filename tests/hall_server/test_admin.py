"""Hall admin over HTTP: edits validated with the field's name, refused edits change nothing,
every change in the hall log, screens told to reload, tokens rotated and revoked, TOML out
and back in."""

from __future__ import annotations

from typing import Any

import pytest

from hall_server.settings import parse_hall_toml

from .hall import PASSWORD, HallRig


def put(hall: HallRig, path: str, body: Any, who: str = "root") -> Any:
    return hall.client.put(f"/api/v1{path}", json=body, headers=hall.headers(who))


def changes(hall: HallRig, who: str = "boss") -> list[dict[str, Any]]:
    events = hall.get(who, "/events?after=0").get_json()["events"]
    return [e for e in events if e["type"] in {"config.changed", "notice.changed"}]


def version(hall: HallRig) -> int:
    return hall.get("root", "/admin/config").get_json()["version"]


def test_only_admins_reach_the_admin_api(hall: HallRig) -> None:
    for who in ("boss", "staff1", "tv-1", "keypad-2"):
        assert hall.get(who, "/admin/config").status_code == 403, who
        assert put(hall, "/admin/notices", {"notices": []}, who).status_code == 403
    assert hall.client.get("/api/v1/admin/config").status_code == 401
    assert changes(hall) == []


def test_a_service_edit_is_validated_applied_audited_and_pushed(hall: HallRig) -> None:
    before = version(hall)
    response = put(
        hall,
        "/admin/services/b",
        {"name": "不动产登记中心", "wait_yellow_min": 10, "wait_red_min": 25},
    )
    assert response.status_code == 200, response.get_json()
    assert version(hall) == before + 1
    services = {s["code"]: s for s in hall.get("kiosk-1", "/services").get_json()["services"]}
    assert services["b"]["name"] == "不动产登记中心"
    [event] = changes(hall)
    assert (event["section"], event["action"], event["key"], event["actor"]) == (
        "services",
        "updated",
        "b",
        "root",
    )
    assert event["changes"] == {
        "name": ["不动产登记", "不动产登记中心"],
        "wait_red_min": [None, 25],
        "wait_yellow_min": [None, 10],
    }
    public = [
        e
        for e in hall.get("tv-1", "/events?after=0").get_json()["events"]
        if e["type"] == "config.changed"
    ]
    assert public and "actor" not in public[0]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/admin/services/b", {"prefix": "b1"}, "prefix"),
        ("/admin/services/b", {"wait_yellow_min": 30, "wait_red_min": 20}, "wait_red_min"),
        ("/admin/services/b", {"number_end": 0}, "number_end"),
        ("/admin/windows/3", {"services": {"zz": 1}}, "services.zz"),
        ("/admin/windows/3", {"services": {"b": 11}}, "services.b"),
        ("/admin/settings", {"alarms": {"wait_yellow_min": 50}}, "alarms.wait_red_min"),
        ("/admin/settings", {"policy": {"max_recalls": -1}}, "policy.max_recalls"),
        ("/admin/settings", {"colour": "red"}, "colour"),
        ("/admin/staff/staff1", {"role": "boss"}, "role"),
        ("/admin/staff/staff1", {"password": "short"}, "password"),
        ("/admin/devices/tv-1", {"layout": "zone"}, "zone"),
    ],
)
def test_an_invalid_edit_is_refused_with_the_field_name_and_changes_nothing(
    hall: HallRig, path: str, body: dict[str, Any], field: str
) -> None:
    before = (version(hall), hall.get("root", "/admin/config").get_json()["config"])
    response = put(hall, path, body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert field in [f["field"] for f in error["fields"]], error
    assert field in error["message"]
    assert (version(hall), hall.get("root", "/admin/config").get_json()["config"]) == before
    assert changes(hall) == []


def test_windows_are_created_weighted_and_removed_live(hall: HallRig) -> None:
    created = hall.post(
        "root",
        "/admin/windows",
        {"number": 5, "zone": "C区", "floor": 2, "services": {"c": 2, "b": 1}},
    )
    assert created.status_code == 201, created.get_json()
    windows = {w["number"]: w for w in hall.get("boss", "/snapshot").get_json()["windows"]}
    assert windows[5]["name"] == "5号窗口" and windows[5]["services"] == ["b", "c"]
    assert put(hall, "/admin/windows/5", {"services": {"c": 3}}).status_code == 200
    hall.act("staff1", 5, "open")
    hall.issue("c")
    assert hall.act("staff1", 5, "call-next")["ticket"]["number"] == "C100"
    duplicate = hall.post(
        "root", "/admin/windows", {"number": 5, "zone": "C区", "floor": 2, "services": {"c": 1}}
    )
    assert duplicate.status_code == 422
    hall.act("staff1", 5, "finish")
    hall.act("staff1", 5, "close")
    removed = hall.client.delete("/api/v1/admin/windows/5", headers=hall.headers("root"))
    assert removed.status_code == 200
    assert 5 not in {w["number"] for w in hall.get("boss", "/snapshot").get_json()["windows"]}
    assert [(e["action"], e["key"]) for e in changes(hall)] == [
        ("created", "5"),
        ("updated", "5"),
        ("removed", "5"),
    ]


def test_notices_are_replaced_and_announced(hall: HallRig) -> None:
    assert put(hall, "/admin/notices", {"notices": ["今日14:00系统维护", " "]}).status_code == 200
    assert hall.get("tv-1", "/snapshot").get_json()["notices"] == ["今日14:00系统维护"]
    [event] = changes(hall)
    assert event["type"] == "notice.changed" and event["notices"] == ["今日14:00系统维护"]
    assert put(hall, "/admin/notices", {"notices": "x"}).status_code == 422


def test_device_tokens_are_shown_once_rotated_and_revoked(hall: HallRig) -> None:
    created = hall.post("root", "/admin/devices", {"name": "tv-2", "kind": "display"})
    assert created.status_code == 201, created.get_json()
    token = created.get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert hall.client.get("/api/v1/snapshot", headers=auth).status_code == 200
    rotated = hall.post("root", "/admin/devices/tv-2/rotate").get_json()["token"]
    assert hall.client.get("/api/v1/snapshot", headers=auth).status_code == 401
    auth = {"Authorization": f"Bearer {rotated}"}
    assert hall.client.get("/api/v1/snapshot", headers=auth).status_code == 200
    hall.post("root", "/admin/devices/tv-2/revoke")
    assert hall.client.get("/api/v1/snapshot", headers=auth).status_code == 401
    listed = {d["name"]: d for d in hall.get("root", "/admin/devices").get_json()["devices"]}
    assert listed["tv-2"]["revoked"] is True
    bad_kind = hall.post("root", "/admin/devices", {"name": "x-1", "kind": "toaster"})
    assert (
        bad_kind.status_code == 422 and bad_kind.get_json()["error"]["fields"][0]["field"] == "kind"
    )
    logged = [(e["action"], e["key"]) for e in changes(hall)]
    assert logged == [
        ("created", "tv-2"),
        ("rotated", "tv-2"),
        ("rotated", "tv-2"),
        ("revoked", "tv-2"),
    ]
    assert all(token not in str(e) for e in changes(hall))


def test_staff_logins_are_created_changed_and_disabled(hall: HallRig) -> None:
    created = hall.post(
        "root",
        "/admin/staff",
        {"login": "clerk", "name": "赵六", "role": "staff", "password": PASSWORD},
    )
    assert created.status_code == 201
    login = {"login": "clerk", "password": PASSWORD}
    assert hall.client.post("/api/v1/auth/login", json=login).get_json()["role"] == "staff"
    assert put(hall, "/admin/staff/clerk", {"role": "supervisor"}).status_code == 200
    assert hall.client.post("/api/v1/auth/login", json=login).get_json()["role"] == "supervisor"
    assert put(hall, "/admin/staff/clerk", {"active": False}).status_code == 200
    assert hall.client.post("/api/v1/auth/login", json=login).status_code == 401
    assert put(hall, "/admin/staff/root", {"active": False}).status_code == 409
    again = hall.post("root", "/admin/staff", {"login": "clerk", "password": PASSWORD})
    assert again.status_code == 422 and again.get_json()["error"]["fields"][0]["field"] == "login"
    logged = [(e["action"], e["fields"]) for e in changes(hall)]
    assert logged == [
        ("created", ["name", "password", "role"]),
        ("updated", ["role"]),
        ("updated", ["active"]),
    ]
    assert "赵六" not in str(changes(hall))  # people's names stay out of the log screens get


def test_the_layout_goes_out_as_toml_and_comes_back_in(hall: HallRig) -> None:
    exported = hall.get("root", "/admin/config.toml")
    assert exported.status_code == 200
    text = exported.data.decode()
    config = parse_hall_toml(text)
    assert [s.code for s in config.services] == ["a", "b", "c"]
    assert "出入境" in text
    changed = text.replace('name = "出入境"', 'name = "出入境管理"')
    imported = hall.client.post(
        "/api/v1/admin/config.toml",
        data=changed.encode(),
        headers=hall.headers("root", **{"Content-Type": "application/toml"}),
    )
    assert imported.status_code == 200, imported.get_json()
    names = {s["code"]: s["name"] for s in hall.get("kiosk-1", "/services").get_json()["services"]}
    assert names["c"] == "出入境管理"
    assert [(e["section"], e["action"]) for e in changes(hall)] == [("layout", "imported")]
    other = changed.replace('code = "test"', 'code = "other"')
    refused = hall.client.post(
        "/api/v1/admin/config.toml", data=other.encode(), headers=hall.headers("root")
    )
    assert (
        refused.status_code == 422 and refused.get_json()["error"]["fields"][0]["field"] == "code"
    )
    broken = hall.client.post(
        "/api/v1/admin/config.toml", data=b"[hall\nname=", headers=hall.headers("root")
    )
    assert broken.status_code == 422
    same = hall.client.post(
        "/api/v1/admin/config.toml", data=changed.encode(), headers=hall.headers("root")
    )
    assert same.get_json()["changed"] is False and len(changes(hall)) == 1


def test_the_audit_trail_lists_every_change_with_who_made_it(hall: HallRig) -> None:
    put(hall, "/admin/settings", {"alarms": {"wait_yellow_min": 15}})
    put(hall, "/admin/notices", {"notices": ["欢迎"]})
    hall.post("root", "/admin/devices/tv-1/rotate")
    audit = hall.get("root", "/admin/audit").get_json()["changes"]
    assert [(e["type"], e.get("section"), e["actor"]) for e in audit] == [
        ("config.changed", "devices", "root"),
        ("notice.changed", None, "root"),
        ("config.changed", "settings", "root"),
    ]
    assert audit[2]["changes"]["alarms"][1]["wait_yellow_min"] == 15


def test_admin_edits_survive_a_restart_with_the_same_site_file(hall: HallRig) -> None:
    from hall_server.services.layout import apply_hall_config

    site = hall.app.extensions["hall"].settings.hall
    assert put(hall, "/admin/services/b", {"name": "不动产登记中心"}).status_code == 200
    assert apply_hall_config(hall.ctx.db, site) == (hall.ctx.hall_id, False)  # same site file
    services = {s["code"]: s for s in hall.get("kiosk-1", "/services").get_json()["services"]}
    assert services["b"]["name"] == "不动产登记中心"

    upgraded = site.model_copy(deep=True)  # a newer version: a default the file leaves unset
    assert "timezone" not in upgraded.model_fields_set
    upgraded.__dict__["timezone"] = "Asia/Urumqi"  # changed without the file saying so
    assert apply_hall_config(hall.ctx.db, upgraded) == (hall.ctx.hall_id, False)
    services = {s["code"]: s for s in hall.get("kiosk-1", "/services").get_json()["services"]}
    assert services["b"]["name"] == "不动产登记中心"  # the admin's edit is still there

    changed_site = site.model_copy(update={"name": "测试大厅（新）"})
    assert apply_hall_config(hall.ctx.db, changed_site) == (hall.ctx.hall_id, True)


def test_a_devices_place_survives_an_edit_of_another_field_and_the_export(hall: HallRig) -> None:
    assert put(hall, "/admin/devices/kiosk-1", {"label": "1楼入口东侧自助机"}).status_code == 200
    assert put(hall, "/admin/devices/kiosk-1", {"zone": "大厅入口"}).status_code == 200
    config = hall.get("root", "/admin/config").get_json()["config"]
    kiosk = {d["name"]: d for d in config["devices"]}["kiosk-1"]
    assert (kiosk["label"], kiosk["zone"]) == ("1楼入口东侧自助机", "大厅入口")


def test_the_demo_halls_layout_reads_back_from_the_database_as_loaded(tmp_path: Any) -> None:
    """Every field the site file sets (labels, floors, guides, weekday hours …) comes back in
    the admin's config and its TOML export: a field the export forgot would be lost at the
    next admin edit, which writes the whole layout back."""
    from hall_server.settings import DEMO_HALL_FILE

    from .hall import build_hall

    rig = build_hall(f"sqlite:///{tmp_path}/hall.db", tmp_path, config_path=DEMO_HALL_FILE)
    site = rig.app.extensions["hall"].settings.hall
    exported = parse_hall_toml(rig.get("root", "/admin/config.toml").get_data(as_text=True))
    for section in ("services", "windows", "devices"):
        loaded = [item.model_dump() for item in getattr(site, section)]
        assert [item.model_dump() for item in getattr(exported, section)] == loaded, section
