"""Who is acting: a staff member, a device, a visitor (by ticket token) or the system."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller of a use case, recorded in the hall log."""

    kind: str  # staff | device | visitor | system
    id: int | None = None
    name: str = ""
    role: str = ""  # staff role, or device kind
    windows: tuple[int, ...] = ()  # windows a device is bound to

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_supervisor(self) -> bool:
        return self.kind == "staff" and self.role in {"supervisor", "admin"}

    @property
    def is_admin(self) -> bool:
        return self.kind == "staff" and self.role == "admin"


SYSTEM = Actor(kind="system", name="system")
