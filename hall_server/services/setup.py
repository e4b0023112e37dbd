"""Prepare a database for a hall: schema, layout, demo logins and device tokens."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from ..db import Database
from ..migrate import upgrade
from ..models import Device, Hall
from ..settings import Settings
from .auth import add_user, issue_device_token, token_hash
from .layout import apply_hall_config

DEMO_LOGINS = (
    # login, role, name, password
    ("admin", "admin", "管理员 Admin", "admin-demo-2026"),
    ("supervisor", "supervisor", "值班长 Supervisor", "super-demo-2026"),
    ("staff01", "staff", "张敏", "staff-demo-2026"),
    ("staff02", "staff", "李强", "staff-demo-2026"),
    ("staff03", "staff", "王芳", "staff-demo-2026"),
)


def init_database(settings: Settings, url: str) -> tuple[Database, int, bool]:
    """Create or upgrade the schema at ``url`` and load the hall's layout (idempotent)."""
    upgrade(url)
    db = Database(url)
    hall_id, changed = apply_hall_config(db, settings.hall)
    return db, hall_id, changed


def hall_id_of(db: Database, code: str) -> int:
    """Find the hall's id, or say that `hall init` is needed."""
    try:
        with db.read() as session:
            hall_id = session.scalar(select(Hall.id).where(Hall.code == code))
    except DBAPIError:
        raise LookupError("the database is not initialised: run `hall init` first") from None
    if hall_id is None:
        raise LookupError(f"hall {code!r} is not in the database: run `hall init`")
    return hall_id


def create_demo_logins(db: Database, hall_id: int) -> list[tuple[str, str, str]]:
    """Create (or reset) the demo hall's logins; return (login, role, password)."""
    now = datetime.now(UTC)
    for login, role, name, password in DEMO_LOGINS:
        add_user(db, hall_id, login, role=role, password=password, name=name, now=now)
    return [(login, role, password) for login, role, _, password in DEMO_LOGINS]


def rotate_device_tokens(db: Database, hall_id: int) -> dict[str, tuple[str, str]]:
    """Give every configured device a fresh token; return name -> (kind, token)."""
    with db.read() as session:
        devices = session.execute(
            select(Device.name, Device.kind).where(Device.hall_id == hall_id).order_by(Device.id)
        ).all()
    return {name: (kind, issue_device_token(db, hall_id, name)) for name, kind in devices}


def keep_device_tokens(
    db: Database, hall_id: int, known: Mapping[str, str]
) -> dict[str, tuple[str, str]]:
    """Keep each device's token from ``known`` (name -> token) while it still opens that
    device; give the others (new, revoked, or never known) a fresh one. Return name ->
    (kind, token), as ``rotate_device_tokens`` does."""
    with db.read() as session:
        devices = session.execute(
            select(Device.name, Device.kind, Device.token_hash, Device.revoked)
            .where(Device.hall_id == hall_id)
            .order_by(Device.id)
        ).all()
    kept: dict[str, tuple[str, str]] = {}
    for name, kind, digest, revoked in devices:
        token = known.get(name, "")
        if not token or revoked or digest is None:
            still = False
        else:
            still = hmac.compare_digest(token_hash(token), digest)
        kept[name] = (kind, token if still else issue_device_token(db, hall_id, name))
    return kept
