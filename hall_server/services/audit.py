"""The audit event of admin changes: ``config.changed``, one per change, in the hall log.

Screens receive it too (it tells them to reload the layout), so its payload names what
changed — section, key, fields, old and new values of hall settings — and never a person's
data or a secret: staff changes list only the fields, tokens and webhook secrets never
appear.
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
