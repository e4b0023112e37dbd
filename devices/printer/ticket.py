"""What a printed ticket shows: the data, free of any printer command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TicketPrint:
    """One ticket as the visitor reads it: Chinese first, a short English line second."""

    hall_name: str  # "某某市政务服务中心"
    service_name: str  # "社保业务"
    service_name_en: str  # "Social Insurance"
    number: str  # "A012"
    people_ahead: int
    eta_min: int | None  # None: no estimate yet
    issued_at: datetime  # tz-aware, printed in its own zone: "2026-11-22 09:05"
    zone: str  # waiting zone as signposted in the hall: "A区"
    floor: str  # "2", "B1": printed "2楼" / "Floor 2"
    qr_url: str  # mobile ticket page /t/<token>
    notices: tuple[str, ...] = ()
    priority_label: str = ""  # "" or e.g. "绿色通道"
    appointment_label: str = ""  # "" or e.g. "预约 09:00-09:30"
    eta_past_closing: bool = False  # the median wait ends after the service's closing today

    def __post_init__(self) -> None:
        """Refuse a naive time: a ticket's time is printed in the hall's zone."""
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise ValueError("issued_at must be timezone-aware")
        if self.people_ahead < 0:
            raise ValueError("people_ahead must not be negative")

    @property
    def issued_text(self) -> str:
        """Return the issue time as printed: ``2026-11-22 09:05``."""
        return self.issued_at.strftime("%Y-%m-%d %H:%M")
