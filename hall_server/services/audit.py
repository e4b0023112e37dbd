"""The audit event of admin changes: ``config.changed``, one per change, in the hall log.

Screens receive it too (it tells them to reload the layout), so its payload names what
changed — section, key, fields, old and new values of hall settings — and never a person's
data or a secret: staff changes list only the fields, tokens and webhook secrets never
appear.

Logins locked after too many wrong passwords and lifted by a supervisor are audited here
too (``login.locked``, ``login.unlocked``): staff-only events, the public sees only their seq.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..domain.events import HallEvent

CONFIG_CHANGED = "config.changed"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigChanged(HallEvent):
    type: ClassVar[str] = CONFIG_CHANGED
    section: str  # services | windows | staff | devices | notices | settings | webhooks | layout
    action: str  # created | updated | removed | imported | rotated | revoked
    key: str = ""
    fields: list[str] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)  # field -> [old, new]
    config_version: int = 0


LOGIN_LOCKED = "login.locked"
LOGIN_UNLOCKED = "login.unlocked"


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginLocked(HallEvent):
    """A login filled its count of wrong passwords and is locked (锁定) until ``until``.

    Staff-only: it names a login and the client address the last wrong password came from.
    """

    type: ClassVar[str] = LOGIN_LOCKED
    login: str
    until: str  # ISO time the lock ends by itself
    failures: int  # wrong passwords counted within the window
    address: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginUnlocked(HallEvent):
    """A supervisor or admin (the event's actor) lifted a login's lock before it ended."""

    type: ClassVar[str] = LOGIN_UNLOCKED
    login: str
    was_until: str  # ISO time the lock would have ended
