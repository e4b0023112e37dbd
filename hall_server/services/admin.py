"""Hall admin: services, windows and weights, devices and tokens, notices, settings and
alarm thresholds, staff — validated as a whole hall config, written in one hall write with
its ``config.changed`` (or ``notice.changed``) event, so every change is audited and screens
reload. The layout is exported and imported as the same TOML as the site file.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ..domain import events as ev
from ..domain.errors import IllegalTransition, InvalidInput, NotFound
from ..models import Device, Hall, Notice, Service, Staff, Window, WindowSkill
from ..settings import ConfigError, HallConfig, dump_hall_toml, parse_hall_toml
from .actors import Actor
from .audit import ConfigChanged
from .auth import DEVICE_KINDS, DEVICE_PREFIX, ROLES, forget_tokens, new_token, token_hash
from .context import HallContext
from .devices import device_row
from .hall_log import HallWrite, hall_write
from .layout import write_hall_config

SETTINGS_SECTIONS = ("policy", "voice", "alarms", "issuing")
HALL_FIELDS = ("name", "name_en")


class ConfigInvalid(InvalidInput):
    """An edit the hall config refuses; ``fields`` names each bad field (HTTP 422)."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        text = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        super().__init__(f"输入有误 (invalid): {text}")
        self.fields = fields


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part != "[key]")


def _problems(error: ValidationError, prefix: tuple[Any, ...]) -> list[dict[str, str]]:
    """Each problem with its field path relative to the edited item (``prefix``)."""
    found: list[dict[str, str]] = []
    for item in error.errors():
        loc = tuple(item["loc"])
        cause = item.get("ctx", {}).get("error")
        pairs = [((*loc, *rel), msg) for rel, msg in getattr(cause, "problems", [])] or [
            (loc, str(item["msg"]).removeprefix("Value error, "))
        ]
        for where, message in pairs:
            if where[: len(prefix)] == prefix and len(where) > len(prefix):
                where = where[len(prefix) :]
            entry = {"field": _dotted(where) or "body", "message": message}
            if entry not in found:
                found.append(entry)
    return found


def validate(data: dict[str, Any], prefix: tuple[Any, ...] = ()) -> HallConfig:
    """Check a whole hall config; ConfigInvalid names the fields (relative to ``prefix``)."""
    try:
        return HallConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigInvalid(_problems(error, prefix)) from None


# ---------------------------------------------------------------- the hall as a config


def current_config(session: Session, hall: Hall) -> dict[str, Any]:
    """The hall's layout as it is in the database, shaped like the [hall] table of a site file."""
    services = list(
        session.scalars(
            select(Service)
            .where(Service.hall_id == hall.id, Service.active)
            .order_by(Service.sort_order, Service.id)
        )
    )
    codes = {s.id: s.code for s in services}
    skills: dict[int, dict[str, int]] = {}
    for skill in session.scalars(select(WindowSkill).where(WindowSkill.hall_id == hall.id)):
        if skill.service_id in codes:
            skills.setdefault(skill.window_id, {})[codes[skill.service_id]] = skill.weight
    windows = session.scalars(
        select(Window).where(Window.hall_id == hall.id, Window.active).order_by(Window.number)
    )
    devices = session.scalars(select(Device).where(Device.hall_id == hall.id).order_by(Device.id))
    notices = session.scalars(
        select(Notice.text)
        .where(Notice.hall_id == hall.id, Notice.active)
        .order_by(Notice.sort_order)
    )
    return {
        "code": hall.code,
        "name": hall.name,
        "name_en": hall.name_en,
        "timezone": hall.timezone,
        "notices": list(notices),
        **{section: dict(getattr(hall, section)) for section in SETTINGS_SECTIONS},
        "services": [_service(s) for s in services],
        "windows": [
            {
                "number": w.number,
                "name": w.name,
                "zone": w.zone,
                "floor": w.floor,
                "general": w.general,
                "services": skills.get(w.id, {}),
            }
            for w in windows
        ],
        "devices": [
            {
                "name": d.name,
                "kind": d.kind,
                "label": d.label,
                "zone": d.zone,
                "windows": list(d.windows),
                "layout": d.layout,
                "options": dict(d.options),
            }
            | ({"floor": d.floor} if d.floor is not None else {})
            for d in devices
        ],
    }


def _service(s: Service) -> dict[str, Any]:
    data = {
        "code": s.code,
        "name": s.name,
        "name_en": s.name_en,
        "category": s.category,
        "prefix": s.prefix,
        "number_start": s.number_start,
        "number_end": s.number_end,
        "digits": s.digits,
        "daily_cap": s.daily_cap,
        "hours": [list(p) for p in s.hours],
        "weekdays": list(s.weekdays),
        "weekday_hours": {int(k): [list(p) for p in v] for k, v in s.weekday_hours.items()},
        "zone": s.zone,
        "floor": s.floor,
        "avg_handle_min": s.avg_handle_min,
        "sla_wait_min": s.sla_wait_min,
        "wait_yellow_min": s.wait_yellow_min,
        "wait_red_min": s.wait_red_min,
        "guide": dict(s.guide),
    }
    return {k: v for k, v in data.items() if v is not None}


def read_config(ctx: HallContext) -> dict[str, Any]:
    """The current layout and its version."""
    with ctx.db.read() as session:
        hall = session.get(Hall, ctx.hall_id)
        assert hall is not None
        return {"version": hall.config_version, "config": current_config(session, hall)}


def export_toml(ctx: HallContext) -> str:
    """The layout as a TOML hall file (what `hall init` reads)."""
    with ctx.db.read() as session:
        hall = session.get(Hall, ctx.hall_id)
        assert hall is not None
        return dump_hall_toml(validate(current_config(session, hall)))


# ---------------------------------------------------------------- edits of the layout


@dataclass(frozen=True, slots=True)
class Edit:
    """What an edit did, for its audit event."""

    section: str
    action: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prefix: tuple[Any, ...] = ()


def _changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    before, after = before or {}, after or {}
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def change_layout(
    ctx: HallContext,
    actor: Actor,
    edit: Callable[[dict[str, Any]], Edit],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply ``edit`` to the hall's config, validate the whole, write it, audit it."""
    with hall_write(ctx, actor, now) as write:
        hall = write.session.get(Hall, write.hall.id)
        assert hall is not None
        data = current_config(write.session, hall)
        notices_before = list(data["notices"])
        done = edit(data)
        config = validate(data, done.prefix)
        _, changed = write_hall_config(write.session, config)
        changes = _changes(done.before, done.after)
        if changed and done.section != "notices":  # notice.changed says it all
            write.log(
                ConfigChanged(
                    section=done.section,
                    action=done.action,
                    key=done.key,
                    fields=list(changes),
                    changes=changes,
                    config_version=hall.config_version,
                )
            )
        if list(config.notices) != notices_before:
            write.log(ev.NoticeChanged(notices=list(config.notices)))
        return {"changed": changed, "version": hall.config_version, "changes": changes}


def _index(items: list[dict[str, Any]], key: str, value: Any, what: str) -> int:
    for i, item in enumerate(items):
        if item.get(key) == value:
            return i
    raise NotFound(f"没有{what} {value} (no {what} {value!r}).")


def _body(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象 (the body must be a JSON object).")
    return dict(data)


def save_item(
    ctx: HallContext, actor: Actor, section: str, key: Any, body: Any, *, create: bool
) -> dict[str, Any]:
    """Create or update one service (by code), window (by number) or device (by name)."""
    field = {"services": "code", "windows": "number", "devices": "name"}[section]
    body = _body(body)
    if section == "devices" and "kind" in body and body["kind"] not in DEVICE_KINDS:
        raise ConfigInvalid(
            [{"field": "kind", "message": f"must be one of {', '.join(DEVICE_KINDS)}"}]
        )

    def edit(data: dict[str, Any]) -> Edit:
        items: list[dict[str, Any]] = data[section]
        if create:
            name = body.get(field)
            if any(item.get(field) == name for item in items):
                raise ConfigInvalid([{"field": field, "message": f"{name} already exists"}])
            items.append(body)
            return Edit(section, "created", str(name), None, body, (section, len(items) - 1))
        i = _index(items, field, key, section.rstrip("s"))
        before = copy.deepcopy(items[i])
        items[i] = {**items[i], **body, field: key}
        return Edit(section, "updated", str(key), before, items[i], (section, i))

    return change_layout(ctx, actor, edit)


def remove_item(ctx: HallContext, actor: Actor, section: str, key: Any) -> dict[str, Any]:
    """Remove a service (its windows stop serving it) or a window; history stays."""
    field = {"services": "code", "windows": "number"}[section]

    def edit(data: dict[str, Any]) -> Edit:
        items: list[dict[str, Any]] = data[section]
        i = _index(items, field, key, section.rstrip("s"))
        before = items.pop(i)
        if section == "services":
            for window in data["windows"]:
                window["services"].pop(key, None)
        return Edit(section, "removed", str(key), before, None, (section,))

    return change_layout(ctx, actor, edit)


def save_notices(ctx: HallContext, actor: Actor, notices: Any) -> dict[str, Any]:
    """Replace the hall's notices (shown on screens, printed on tickets)."""
    if not isinstance(notices, list) or not all(isinstance(n, str) for n in notices):
        raise ConfigInvalid([{"field": "notices", "message": "must be a list of texts"}])
    lines = [n.strip() for n in notices if n.strip()]
    if any(len(n) > 300 for n in lines):
        raise ConfigInvalid([{"field": "notices", "message": "each notice at most 300 characters"}])

    def edit(data: dict[str, Any]) -> Edit:
        before = {"notices": data["notices"]}
        data["notices"] = lines
        return Edit("notices", "updated", "", before, {"notices": lines})

    return change_layout(ctx, actor, edit)


def save_settings(ctx: HallContext, actor: Actor, body: Any) -> dict[str, Any]:
    """Change the hall's names, policy, voice, alarm thresholds or issuing limits."""
    body = _body(body)
    unknown = sorted(set(body) - set(SETTINGS_SECTIONS) - set(HALL_FIELDS))
    if unknown:
        raise ConfigInvalid([{"field": name, "message": "unknown setting"} for name in unknown])

    def edit(data: dict[str, Any]) -> Edit:
        before = {k: copy.deepcopy(data[k]) for k in body}
        for name, value in body.items():
            if name in SETTINGS_SECTIONS:
                if not isinstance(value, dict):
                    raise ConfigInvalid([{"field": name, "message": "must be an object"}])
                data[name] = {**data[name], **value}
            else:
                data[name] = value
        return Edit(
            "settings", "updated", ",".join(sorted(body)), before, {k: data[k] for k in body}
        )

    return change_layout(ctx, actor, edit)


def import_toml(ctx: HallContext, actor: Actor, text: str) -> dict[str, Any]:
    """Replace the layout by a TOML hall file of the same hall."""
    try:
        config = parse_hall_toml(text, "imported file")
    except ConfigError as error:
        raise InvalidInput(f"导入文件有误 (the file is invalid): {error}") from None

    def edit(data: dict[str, Any]) -> Edit:
        if config.code != data["code"]:
            message = f"is {config.code!r}; this hall is {data['code']!r}"
            raise ConfigInvalid([{"field": "code", "message": message}])
        imported = config.model_dump(mode="json", exclude_none=True)
        sections = [k for k in imported if imported[k] != data.get(k)]
        before = {k: data.get(k) for k in sections}
        data.clear()
        data.update(imported)
        return Edit("layout", "imported", "", before, {k: imported[k] for k in sections})

    return change_layout(ctx, actor, edit)


# ---------------------------------------------------------------- devices: tokens


def _device(write: HallWrite, name: str) -> Device:
    row = device_row(write.session, write.hall.id, name)
    if row is None:
        raise NotFound(f"没有设备 {name} (no device named {name}).")
    return row


def rotate_device_token(ctx: HallContext, actor: Actor, name: str) -> dict[str, Any]:
    """Give a device a new token (shown once); the old one stops working at once."""
    with hall_write(ctx, actor) as write:
        row = _device(write, name)
        token = new_token(DEVICE_PREFIX)
        row.token_hash, row.revoked = token_hash(token), False
        write.log(ConfigChanged(section="devices", action="rotated", key=name, fields=["token"]))
        result = {"name": name, "kind": row.kind, "token": token}
    forget_tokens(ctx)  # the old token stops working now, not when the cache expires
    return result


def revoke_device(ctx: HallContext, actor: Actor, name: str) -> dict[str, Any]:
    """Stop a device's token (lost or stolen kiosk); rotate gives it a new one."""
    with hall_write(ctx, actor) as write:
        row = _device(write, name)
        row.token_hash, row.revoked = None, True
        write.log(ConfigChanged(section="devices", action="revoked", key=name, fields=["token"]))
        result = {"name": name, "kind": row.kind, "revoked": True}
    forget_tokens(ctx)
    return result


# ---------------------------------------------------------------- staff


def staff_view(row: Staff) -> dict[str, Any]:
    return {
        "id": row.id,
        "login": row.login,
        "name": row.name,
        "role": row.role,
        "active": row.active,
    }


def list_staff(ctx: HallContext) -> list[dict[str, Any]]:
    now = ctx.clock()
    with ctx.db.read() as session:
        rows = session.scalars(
            select(Staff).where(Staff.hall_id == ctx.hall_id).order_by(Staff.login)
        )
        # Locked (锁定) after too many wrong passwords: the staff list offers to lift it.
        return [
            staff_view(r) | {"locked": r.locked_until is not None and r.locked_until > now}
            for r in rows
        ]


def _staff_problems(body: dict[str, Any], *, create: bool) -> list[dict[str, str]]:
    problems = []
    known = {"login", "name", "role", "password", "active"}
    problems += [{"field": k, "message": "unknown field"} for k in sorted(set(body) - known)]
    if create and not str(body.get("login", "")).strip():
        problems.append({"field": "login", "message": "must not be empty"})
    if "role" in body and body["role"] not in ROLES:
        problems.append({"field": "role", "message": f"must be one of {', '.join(ROLES)}"})
    if "password" in body or create:
        password = body.get("password")
        if not isinstance(password, str) or len(password) < 8:
            problems.append({"field": "password", "message": "at least 8 characters"})
    if "active" in body and not isinstance(body["active"], bool):
        problems.append({"field": "active", "message": "must be true or false"})
    if "name" in body and (not isinstance(body["name"], str) or len(body["name"]) > 100):
        problems.append({"field": "name", "message": "a text of at most 100 characters"})
    return problems


def save_staff(ctx: HallContext, actor: Actor, login: str | None, body: Any) -> dict[str, Any]:
    """Create a staff login (``login`` None) or change one's name, role, password, active."""
    body = _body(body)
    problems = _staff_problems(body, create=login is None)
    if problems:
        raise ConfigInvalid(problems)
    with hall_write(ctx, actor) as write:
        if login is None:
            login = str(body["login"]).strip()
            if write.session.scalar(
                select(Staff.id).where(Staff.hall_id == write.hall.id, Staff.login == login)
            ):
                raise ConfigInvalid([{"field": "login", "message": f"{login} already exists"}])
            row = Staff(
                hall_id=write.hall.id,
                login=login,
                name=body.get("name") or login,
                role=body.get("role", "staff"),
                active=True,
                created_at=write.now,
                password_hash=generate_password_hash(body["password"]),
            )
            write.session.add(row)
            write.session.flush()
            action, fields = "created", sorted(set(body) - {"login"})
        else:
            found = write.session.scalar(
                select(Staff).where(Staff.hall_id == write.hall.id, Staff.login == login)
            )
            if found is None:
                raise NotFound(f"没有此账号 {login} (no login {login}).")
            row = found
            if row.id == actor.id and (
                body.get("active") is False or body.get("role", "admin") != "admin"
            ):
                raise IllegalTransition(
                    "不能停用或降级自己的管理员账号 (you cannot demote or disable yourself)."
                )
            fields = []
            for name in ("name", "role", "active"):
                if name in body and body[name] != getattr(row, name):
                    setattr(row, name, body[name])
                    fields.append(name)
            if "password" in body:
                row.password_hash = generate_password_hash(body["password"])
                fields.append("password")
            action = "updated"
        if fields or action == "created":
            write.log(ConfigChanged(section="staff", action=action, key=str(row.id), fields=fields))
        result = staff_view(row)
    forget_tokens(ctx)  # a new role or a disabled login counts at once
    return result
