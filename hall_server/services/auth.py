"""Staff logins and device tokens. Only hashes are stored: passwords with scrypt, tokens
(random, 256 bits) with SHA-256, which is enough for secrets that are not guessable."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import Database
from ..domain.errors import Forbidden, InvalidInput, NotFound, RateLimited
from ..models import AuthToken, Device, Staff, Window
from .actors import SYSTEM, Actor
from .audit import LoginLocked, LoginUnlocked
from .context import HallContext
from .devices import device_row
from .hall_log import hall_write
from .login_limits import LoginLimits

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


# A password hash no password matches (werkzeug reads it as malformed and answers False).
NO_LOGIN = "!"


def add_staff_without_login(
    db: Database, hall_id: int, people: list[tuple[str, str]], *, now: datetime
) -> list[Staff]:
    """Create staff rows that cannot log in, ``(login, name)`` each, in one write.

    For the simulator's window staff: a scrypt hash per person cost more than a small
    simulated day.
    """
    with db.write() as session:
        rows = [
            Staff(hall_id=hall_id, login=login, name=name, role="staff", active=True,
                  password_hash=NO_LOGIN, created_at=now)
            for login, name in people
        ]  # fmt: skip
        session.add_all(rows)
        session.flush()
        return rows


def issue_device_token(db: Database, hall_id: int, name: str, *, kind: str | None = None) -> str:
    """Give a device a new token (creating the device if needed); the old token stops working."""
    with db.write() as session:
        device = device_row(session, hall_id, name)
        if device is None:
            if kind not in DEVICE_KINDS:
                raise InvalidInput(f"kind must be one of {', '.join(DEVICE_KINDS)} (got {kind!r}).")
            device = Device(hall_id=hall_id, name=name, kind=kind)
            session.add(device)
        elif kind is not None and kind != device.kind:
            raise InvalidInput(
                f"设备 {name} 的类型是 {device.kind}，不是 {kind} "
                f"(device {name} is registered as a {device.kind}, not as a {kind})."
            )
        token = new_token(DEVICE_PREFIX)
        device.token_hash, device.revoked = token_hash(token), False
        return token


class TooManyAttempts(RateLimited):
    """Too many wrong passwords for a login or from a client address (HTTP 429 + Retry-After)."""

    def __init__(self, retry_after_s: int) -> None:
        minutes = max(1, math.ceil(retry_after_s / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(
            f"登录尝试过多，请{minutes}分钟后再试 (too many login attempts: try again in "
            f"{minutes} {unit})."
        )
        self.retry_after_s = retry_after_s


@cache
def dummy_password_hash() -> str:
    """A hash made like every staff password's (same method and scrypt cost), of nothing known.

    An unknown login is checked against it, so "no such login" costs what "wrong password"
    does and the time of an answer does not tell which logins exist.
    """
    return generate_password_hash(secrets.token_urlsafe(24))


@dataclass(frozen=True, slots=True)
class _Login:
    """What a login attempt reads of a staff row, before the (slow) password check."""

    id: int
    login: str
    name: str
    role: str
    password_hash: str
    active: bool
    locked_until: datetime | None


def login(
    ctx: HallContext,
    login_name: str,
    password: str,
    *,
    ttl_h: int,
    address: str = "",
    limits: LoginLimits | None = None,
) -> dict[str, Any]:
    """Check a staff member's password and open a session token.

    With ``limits``: refused (429) while the login's or the address's count of wrong
    passwords is full, even with the right password; a wrong one is counted, and the one
    that fills a known login's count locks it (锁定) in the database and the hall log. The
    password is checked outside any transaction: scrypt takes ~0.1 s and must not hold the
    hall's writer.
    """
    name = login_name.strip()
    if limits is not None and (wait := limits.wait_s(name, address)):
        raise TooManyAttempts(wait)
    now = ctx.clock()
    with ctx.db.read() as session:
        row = session.scalar(select(Staff).where(Staff.hall_id == ctx.hall_id, Staff.login == name))
        staff = None if row is None else _Login(
            row.id, row.login, row.name, row.role, row.password_hash, row.active, row.locked_until
        )  # fmt: skip
    if staff is not None and staff.locked_until is not None and staff.locked_until > now:
        raise TooManyAttempts(math.ceil((staff.locked_until - now).total_seconds()))
    # The same scrypt work for an unknown login, an inactive one and a wrong password.
    right = check_password_hash(
        staff.password_hash if staff is not None else dummy_password_hash(), password
    )
    if not right or staff is None or not staff.active:
        if limits is not None:
            lock_s = limits.failed(name, address)
            if lock_s and staff is not None:
                _lock(ctx, staff.id, lock_s, address, failures=limits.per_login.amount)
        raise Unauthorized("用户名或密码错误 (wrong login or password).")
    if limits is not None:
        limits.forget(name)
    token = new_token(STAFF_PREFIX)
    expires = now + timedelta(hours=ttl_h)
    with ctx.db.write() as session:
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


def _lock(ctx: HallContext, staff_id: int, seconds: int, address: str, *, failures: int) -> None:
    """Lock a login whose count of wrong passwords is full, audited in the hall log."""
    with hall_write(ctx, SYSTEM) as write:
        row = write.session.get(Staff, staff_id)
        if row is None or (row.locked_until is not None and row.locked_until > write.now):
            return  # gone, or another process locked it a moment ago
        row.locked_until = write.now + timedelta(seconds=seconds)
        write.log(
            LoginLocked(
                login=row.login,
                until=row.locked_until.isoformat(),
                failures=failures,
                address=address,
            )
        )


def unlock(
    ctx: HallContext, actor: Actor, login_name: str, *, limits: LoginLimits | None = None
) -> dict[str, Any]:
    """Lift a login's lock (supervisors and admins): it may log in again at once."""
    require(actor, "supervisor")
    with hall_write(ctx, actor) as write:
        row = write.session.scalar(
            select(Staff).where(Staff.hall_id == ctx.hall_id, Staff.login == login_name)
        )
        if row is None:
            raise NotFound(f"没有此账号 {login_name} (no login {login_name}).")
        was = row.locked_until
        lifted = was is not None and was > write.now
        row.locked_until = None
        if lifted and was is not None:
            write.log(LoginUnlocked(login=row.login, was_until=was.isoformat()))
        result = {"login": row.login, "locked": False, "lifted": lifted,
                  "by": actor.name, "at": write.now.isoformat()}  # fmt: skip
    if limits is not None:
        limits.forget(login_name)
    return result


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


# Who was refused, in plain English (never the role codes: "staff staff may not do this").
_WHO_EN = {
    "staff": "window staff",
    "supervisor": "a supervisor",
    "admin": "an administrator",
    "kiosk": "a kiosk",
    "display": "a display screen",
    "agent": "a device agent",
    "evaluator": "a rating keypad",
}


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
        raise Forbidden(f"无权执行此操作 ({_WHO_EN.get(actor.role or '', 'you')} may not do this).")
