"""What every device shares: its status and the error it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Health(StrEnum):
    """How a device answered its last status query."""

    OK = "ok"
    WARNING = "warning"  # works, but needs attention soon (paper low, …)
    FAULT = "fault"  # cannot work (paper out, cover open, offline, …)
    UNKNOWN = "unknown"  # no answer: never taken as OK


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device's state as reported to the hall server (event ``device.status``)."""

    health: Health
    online: bool | None  # None = did not answer
    detail: dict[str, str] = field(default_factory=dict)  # e.g. {"paper": "low"}
    message: str = ""  # one sentence for a person, Chinese first

    def as_dict(self) -> dict[str, object]:
        """Serialise for JSON."""
        return {
            "health": self.health.value,
            "online": self.online,
            "detail": dict(self.detail),
            "message": self.message,
        }


class DeviceError(Exception):
    """A device could not do what was asked; ``str()`` is a sentence for a person."""
