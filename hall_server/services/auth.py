"""Staff logins and device tokens. Only hashes are stored: passwords with scrypt, tokens
(random, 256 bits) with SHA-256, which is enough for secrets that are not guessable."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import Database
from ..domain.errors import Forbidden, InvalidInput, NotFound
from ..models import AuthToken, Device, Staff, Window
from .actors import Actor
from .context import HallContext

ROLES = ("staff", "supervisor", "admin")
DEVICE_KINDS = ("kiosk", "display", "agent", "evaluator")
STAFF_PREFIX, DEVICE_PREFIX = "s.", "d."


class Unauthorized(Forbidden):
    """No valid credentials (HTTP 401)."""

    code = "unauthorized"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def add_user(
    db: Database, hall_id: int, login: str, *, role: str, password: str, name: str, now: datetime
) -> Staff:
    """Create a staff login, or reset an existing one's role and password."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)} (got {role!r}).")
    if len(password) < 8:
        raise InvalidInput("密码至少8位 (the password needs at least 8 characters).")
    login = login.strip()
    if not login:
        raise InvalidInput("登录名不能为空 (the login must not be empty).")
    with db.write() as session:
        staff = session.scalar(select(Staff).where(Staff.hall_id == hall_id, Staff.login == login))
        if staff is None:
            staff = Staff(hall_id=hall_id, login=login, created_at=now)
            session.add(staff)
        staff.role, staff.name, staff.active = role, name or staff.name or login, True
        staff.password_hash = generate_password_hash(password)
        session.flush()
        return staff


def issue_device_token(db: Database, hall_id: int, name: str, *, kind: str | None = None) -> str:
    """Give a device a new token (creating the device if needed); the old token stops working."""
    with db.write() as session:
        device = session.scalar(
            select(Device).where(Device.hall_id == hall_id, Device.name == name)
        )
        if device is None:
            if kind not in DEVICE_KINDS:
                raise InvalidInput(f"kind must be one of {', '.join(DEVICE_KINDS)} (got {kind!r}).")
            device = Device(hall_id=hall_id, name=name, kind=kind)
            session.add(device)
        elif kind is not None and kind != device.kind:
            raise InvalidInput(f"device {name} is a {device.kind}, not a {kind}.")
        token = new_token(DEVICE_PREFIX)
        device.token_hash, device.revoked = token_hash(token), False
        return token


def login(ctx: HallContext, login_name: str, password: str, *, ttl_h: int) -> dict[str, Any]:
    """Check a staff member's password and open a session token."""
    now = ctx.clock()
    with ctx.db.write() as session:
        staff = session.scalar(
            select(Staff).where(Staff.hall_id == ctx.hall_id, Staff.login == login_name.strip())
        )
        if (
            staff is None
            or not staff.active
            or not check_password_hash(staff.password_hash, password)
        ):
            raise Unauthorized("用户名或密码错误 (wrong login or password).")
        token = new_token(STAFF_PREFIX)
        expires = now + timedelta(hours=ttl_h)
        session.add(
            AuthToken(
                hall_id=ctx.hall_id,
                token_hash=token_hash(token),
                staff_id=staff.id,
                created_at=now,
                expires_at=expires,
            )
        )
        window = session.scalar(
            select(Window.number).where(Window.hall_id == ctx.hall_id, Window.staff_id == staff.id)
        )
        return {
            "token": token,
            "role": staff.role,
            "name": staff.name,
            "login": staff.login,
            "expires_at": expires.isoformat(),
            "window": window,
        }


def logout(ctx: HallContext, token: str) -> None:
    """End a staff session token."""
    ctx.token_cache.pop(token_hash(token), None)
    with ctx.db.write() as session:
        row = session.scalar(select(AuthToken).where(AuthToken.token_hash == token_hash(token)))
        if row is not None:
            row.revoked = True


TOKEN_CACHE_S = 10.0  # how long a checked token is trusted without asking the database


def authenticate(ctx: HallContext, token: str | None) -> Actor:
    """Turn a bearer token into the actor it belongs to, or raise Unauthorized.

    A checked token is remembered for TOKEN_CACHE_S: a database round trip per request was a
    third of the cost of issuing a ticket. Logout and token rotation forget it at once in
    this process; other processes trust it for at most TOKEN_CACHE_S more.
    """
    if not token:
        raise Unauthorized("需要登录 (missing token: send Authorization: Bearer <token>).")
    digest = token_hash(token)
    cached = ctx.token_cache.get(digest)
    if cached is not None and cached[1] > time.monotonic() and cached[2] > ctx.clock():
        known: Actor = cached[0]
        return known
    actor, expires = _lookup(ctx, token, digest)
    if len(ctx.token_cache) > 10_000:  # bounded: logins of a day and the hall's devices fit
        ctx.token_cache.clear()
    ctx.token_cache[digest] = (actor, time.monotonic() + TOKEN_CACHE_S, expires)
    return actor


def forget_tokens(ctx: HallContext) -> None:
    """Drop every remembered token (after a device token is rotated or revoked)."""
    ctx.token_cache.clear()


def _lookup(ctx: HallContext, token: str, digest: str) -> tuple[Actor, datetime]:
    with ctx.db.read() as session:
        if token.startswith(STAFF_PREFIX):
            row = session.execute(
                select(AuthToken, Staff)
                .join(Staff, Staff.id == AuthToken.staff_id)
                .where(AuthToken.token_hash == digest)
            ).first()
            if row is not None:
                auth, staff = row
                if not auth.revoked and staff.active and auth.expires_at > ctx.clock():
                    actor = Actor("staff", staff.id, staff.name or staff.login, staff.role)
                    return actor, auth.expires_at
        elif token.startswith(DEVICE_PREFIX):
            device = session.scalar(select(Device).where(Device.token_hash == digest))
            if device is not None and not device.revoked and device.hall_id == ctx.hall_id:
                actor = Actor("device", device.id, device.name, device.kind, tuple(device.windows))
                return actor, datetime.max.replace(tzinfo=UTC)
    raise Unauthorized("登录已失效，请重新登录 (the token is invalid or expired).")


def require(actor: Actor, *allowed: str) -> None:
    """Refuse unless the actor is one of ``allowed`` (roles, or ``device:<kind>``)."""
    if actor.kind == "staff":
        ok = (
            actor.role in allowed
            or (actor.role == "admin")
            or (actor.role == "supervisor" and "staff" in allowed)
        )
    else:
        ok = f"{actor.kind}:{actor.role}" in allowed
    if not ok:
        raise Forbidden(f"无权执行此操作 ({actor.kind} {actor.role or ''} may not do this).")


def find_device(db: Database, hall_id: int, name: str) -> Device:
    with db.read() as session:
        device = session.scalar(
            select(Device).where(Device.hall_id == hall_id, Device.name == name)
        )
        if device is None:
            raise NotFound(f"没有设备 {name} (no device named {name}).")
        return device
