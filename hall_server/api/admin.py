"""The admin API (admin role): layout edits, devices and tokens, staff, settings, TOML
export and import, webhooks and their delivery log, and the audit trail of changes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel

from ..contract import API_PREFIX
from ..services import admin, webhooks
from ..services.audit import CONFIG_CHANGED, LOGIN_LOCKED, LOGIN_UNLOCKED
from ..services.devices import device_views
from ..services.snapshot import events_after
from . import schemas
from .bodies import large_body
from .common import actor, body, hall
from .errors import BadRequest, error_response
from .ids import int_arg

admin_api = Blueprint("admin_api", __name__, url_prefix=f"{API_PREFIX}/admin")
AUDITED = (CONFIG_CHANGED, "notice.changed", LOGIN_LOCKED, LOGIN_UNLOCKED)


@admin_api.errorhandler(admin.ConfigInvalid)
def _invalid(error: admin.ConfigInvalid) -> Any:
    return error_response(422, error.code, error.message, fields=error.fields)


@admin_api.before_request
def _admins_only() -> None:
    actor("admin")


def _who() -> Any:
    return actor("admin")


@admin_api.get("/config")
def config() -> Any:
    return jsonify(admin.read_config(hall().ctx))


@admin_api.get("/config.toml")
def export() -> Any:
    text = admin.export_toml(hall().ctx)
    name = f"hall-{hall().ctx.hall_code}.toml"
    return Response(
        text,
        mimetype="application/toml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


MAX_TOML_BODY_BYTES = 2 * 1024 * 1024  # the demo hall is 14 KB; JSON-wrapped text grows


@admin_api.post("/config.toml")
@large_body(MAX_TOML_BODY_BYTES)  # an admin's file: more than the 64 KB of a JSON body
def import_() -> Any:
    text = body(schemas.TomlImportBody).toml if request.is_json else request.get_data(as_text=True)
    if not text.strip():
        raise BadRequest("请上传 TOML 文件内容 (send the TOML text as the body).")
    return jsonify(admin.import_toml(hall().ctx, _who(), text))


def _fields(schema: type[BaseModel]) -> dict[str, Any]:
    """The body parsed with ``schema``: only the fields it sent, as JSON values."""
    return body(schema).model_dump(mode="json", exclude_unset=True)


@admin_api.post("/services")
def create_service() -> Any:
    item = _fields(schemas.NewServiceBody)
    return jsonify(admin.save_item(hall().ctx, _who(), "services", None, item, create=True)), 201


@admin_api.post("/windows")
def create_window() -> Any:
    item = _fields(schemas.NewWindowBody)
    return jsonify(admin.save_item(hall().ctx, _who(), "windows", None, item, create=True)), 201


@admin_api.post("/devices")
def create_device() -> Any:
    """Add a device; its token is in the answer (shown once)."""
    item = _fields(schemas.NewDeviceBody)
    result = admin.save_item(hall().ctx, _who(), "devices", None, item, create=True)
    result["token"] = admin.rotate_device_token(hall().ctx, _who(), item["name"])["token"]
    return jsonify(result), 201


@admin_api.put("/services/<code>")
def update_service(code: str) -> Any:
    item = _fields(schemas.ServiceEditBody)
    return jsonify(admin.save_item(hall().ctx, _who(), "services", code, item, create=False))


@admin_api.put("/windows/<int:number>")
def update_window(number: int) -> Any:
    item = _fields(schemas.WindowEditBody)
    return jsonify(admin.save_item(hall().ctx, _who(), "windows", number, item, create=False))


@admin_api.put("/devices/<name>")
def update_device(name: str) -> Any:
    item = _fields(schemas.DeviceEditBody)
    return jsonify(admin.save_item(hall().ctx, _who(), "devices", name, item, create=False))


@admin_api.delete("/services/<code>")
def remove_service(code: str) -> Any:
    return jsonify(admin.remove_item(hall().ctx, _who(), "services", code))


@admin_api.delete("/windows/<int:number>")
def remove_window(number: int) -> Any:
    return jsonify(admin.remove_item(hall().ctx, _who(), "windows", number))


@admin_api.get("/devices")
def devices() -> Any:
    ctx = hall().ctx
    with ctx.db.read() as session:
        return jsonify({"devices": device_views(ctx, session)})


@admin_api.post("/devices/<name>/rotate")
def rotate(name: str) -> Any:
    return jsonify(admin.rotate_device_token(hall().ctx, _who(), name))


@admin_api.post("/devices/<name>/revoke")
def revoke(name: str) -> Any:
    return jsonify(admin.revoke_device(hall().ctx, _who(), name))


@admin_api.put("/notices")
def notices() -> Any:
    return jsonify(admin.save_notices(hall().ctx, _who(), body(schemas.NoticesBody).notices))


@admin_api.put("/settings")
def settings() -> Any:
    return jsonify(admin.save_settings(hall().ctx, _who(), _fields(schemas.SettingsBody)))


@admin_api.get("/staff")
def staff() -> Any:
    return jsonify({"staff": admin.list_staff(hall().ctx)})


@admin_api.post("/staff")
def create_staff() -> Any:
    return jsonify(admin.save_staff(hall().ctx, _who(), None, _fields(schemas.NewStaffBody))), 201


@admin_api.put("/staff/<login>")
def update_staff(login: str) -> Any:
    return jsonify(admin.save_staff(hall().ctx, _who(), login, _fields(schemas.StaffEditBody)))


@admin_api.get("/webhooks")
def list_webhooks() -> Any:
    return jsonify({"webhooks": webhooks.list_subscriptions(hall().ctx), "events": webhooks.EVENTS})


@admin_api.post("/webhooks")
def create_webhook() -> Any:
    data = body(schemas.NewWebhookBody)
    result = webhooks.create_subscription(
        hall().ctx, _who(), url=data.url, events=data.events, name=data.name
    )
    return jsonify(result), 201


@admin_api.put("/webhooks/<int:subscription_id>")
def update_webhook(subscription_id: int) -> Any:
    data = body(schemas.WebhookEditBody)
    result = webhooks.update_subscription(
        hall().ctx, _who(), subscription_id, active=data.active, events=data.events,
        rotate_secret=data.rotate_secret,
    )  # fmt: skip
    return jsonify(result)


@admin_api.get("/webhooks/deliveries")
def deliveries() -> Any:
    sub = int_arg("subscription") if request.args.get("subscription") else None
    return jsonify(
        {
            "deliveries": webhooks.list_deliveries(
                hall().ctx,
                subscription_id=sub,
                state=request.args.get("state") or None,
            )
        }
    )


@admin_api.get("/audit")
def audit() -> Any:
    """The hall log's admin changes, newest first (at most the last 1000 events read)."""
    ctx = hall().ctx
    after = int_arg("after", 0) if request.args.get("after") else 0
    last = events_after(ctx, 0, staff=True, limit=1)["last_seq"]
    start = max(after, last - 1000)
    found = events_after(ctx, start, staff=True, limit=1000)["events"]
    return jsonify({"changes": [e for e in reversed(found) if e["type"] in AUDITED]})
