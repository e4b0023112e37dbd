"""One schema per request body: validated at the edge, named in the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginBody(Body):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class IssueBody(Body):
    service: str = Field(default="", max_length=64, description="service code, e.g. shebao")
    kiosk: str | None = Field(default=None, max_length=64)
    priority: bool = False
    priority_kind: str = Field(default="", max_length=32, description="绿色通道 class, e.g. 老年人")
    phone: str | None = Field(default=None, max_length=20)
    id_number: str | None = Field(default=None, max_length=18)
    appointment_code: str | None = Field(default=None, max_length=32)


class WindowActionBody(Body):
    number: str | None = Field(default=None, max_length=16, description="call: ticket number")
    service: str | None = Field(default=None, max_length=64, description="transfer: service")
    window: int | None = Field(default=None, ge=1, description="transfer: window number")
    reason: str = Field(default="", max_length=100, description="pause: reason")
    note: str = Field(default="", max_length=200, description="transfer: note")
    case_no: str = Field(default="", max_length=64, description="finish: 办件编号")


class EvaluationBody(Body):
    score: int = Field(ge=1, le=5, description="5 非常满意 … 1 非常不满意")
    reasons: list[str] = Field(default_factory=list, max_length=10)
    comment: str = Field(default="", max_length=500)


class AppointmentBody(Body):
    service: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=4, max_length=32)
    slot_start: str = Field(description="ISO 8601 with offset, e.g. 2026-11-23T09:00:00+08:00")
    slot_end: str
    name: str = Field(default="", max_length=50)
    phone: str | None = Field(default=None, max_length=20)
    id_number: str | None = Field(default=None, max_length=18)


class PartStatus(Body):
    health: Literal["ok", "warning", "fault", "unknown"]
    online: bool | None = None
    detail: dict[str, str] = Field(default_factory=dict)
    message: str = Field(default="", max_length=200)


class DeviceStatusBody(Body):
    part: str = Field(default="device", max_length=40, description='e.g. "printer", "led:3"')
    status: PartStatus


SCHEMAS: tuple[type[Body], ...] = (
    LoginBody,
    IssueBody,
    WindowActionBody,
    EvaluationBody,
    AppointmentBody,
    DeviceStatusBody,
)
