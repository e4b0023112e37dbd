"""One schema per request body: validated at the edge, named in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from ..domain.text import refusal, showable, unshowable
from ..settings import DeviceConfig, ServiceConfig, WindowConfig


def _refuse_unshowable(value: str) -> str:
    found = unshowable(value)
    if found:
        raise ValueError(refusal(found))
    return value


# Text the hall shows (docs/CONFIG.md, "Text the hall can show"): a visitor's or a busy
# clerk's own words lose only what no screen or printer can draw (emoji); a name an admin
# types is refused with the reason.
Kept = Annotated[str, AfterValidator(showable)]
Shown = Annotated[str, AfterValidator(_refuse_unshowable)]


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
    reason: Kept = Field(default="", max_length=100, description="pause: reason")
    note: Kept = Field(default="", max_length=200, description="transfer: note")
    case_no: str = Field(default="", max_length=64, description="finish: 办件编号")


class EvaluationBody(Body):
    score: int = Field(ge=1, le=5, description="5 非常满意 … 1 非常不满意")
    reasons: list[str] = Field(default_factory=list, max_length=10)
    comment: Kept = Field(default="", max_length=500)


class AppointmentBody(Body):
    service: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=4, max_length=32)
    slot_start: str = Field(description="ISO 8601 with offset, e.g. 2026-11-23T09:00:00+08:00")
    slot_end: str
    name: Kept = Field(default="", max_length=50)
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


class KioskIssueBody(Body):
    """What the kiosk page sends: the visitor chooses; priority comes only from the rules."""

    service: str = Field(default="", max_length=64)
    phone: str | None = Field(default=None, max_length=20)
    id_number: str | None = Field(default=None, max_length=18)
    appointment_code: str | None = Field(default=None, max_length=32)


# ---------------------------------------------------------------- admin (管理)
# A new service, window or device is an item of the hall file, so its schema is the hall
# file's own; an edit sends only the fields it changes. Either way the whole hall config is
# checked again by the service (cross references, ranges that depend on each other).


class NewServiceBody(ServiceConfig):
    """A new service (事项), as in the hall file's [[hall.services]]."""


class NewWindowBody(WindowConfig):
    """A new window (窗口), as in the hall file's [[hall.windows]]."""


class NewDeviceBody(DeviceConfig):
    """A new device, as in the hall file's [[hall.devices]]; its token is in the answer."""


def _edit_of(model: type[BaseModel], name: str) -> type[BaseModel]:
    """The same fields as ``model``, each optional (absent = unchanged; null is refused)."""
    fields: dict[str, Any] = {
        field: (
            Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation,
            Field(default=None, description=info.description),
        )
        for field, info in model.model_fields.items()
    }
    edit: type[BaseModel] = create_model(
        name, __config__=ConfigDict(extra="forbid"), __doc__=f"Changed fields of a {name[:-8]}.",
        **fields,
    )  # fmt: skip
    return edit


ServiceEditBody = _edit_of(ServiceConfig, "ServiceEditBody")
WindowEditBody = _edit_of(WindowConfig, "WindowEditBody")
DeviceEditBody = _edit_of(DeviceConfig, "DeviceEditBody")


class NoticesBody(Body):
    notices: list[str] = Field(max_length=50, description="each at most 300 characters")


class SettingsBody(Body):
    """Hall names and settings sections; a section sends only the keys it changes."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    policy: dict[str, Any] | None = None
    voice: dict[str, Any] | None = None
    alarms: dict[str, Any] | None = None
    issuing: dict[str, Any] | None = None


class TomlImportBody(Body):
    toml: str = Field(min_length=1, description="a whole hall file, as exported")


class NewStaffBody(Body):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=200)
    name: Shown = Field(default="", max_length=100)
    role: Literal["staff", "supervisor", "admin"] = "staff"


class StaffEditBody(Body):
    name: Shown | None = Field(default=None, max_length=100)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    role: Literal["staff", "supervisor", "admin"] | None = None
    active: bool | None = None


class NewWebhookBody(Body):
    url: str = Field(min_length=1, max_length=500)
    events: list[str] = Field(default_factory=list, max_length=50)
    name: str = Field(default="", max_length=100)


class WebhookEditBody(Body):
    active: bool | None = None
    events: list[str] | None = Field(default=None, max_length=50)
    rotate_secret: bool = False


SCHEMAS: tuple[type[BaseModel], ...] = (
    LoginBody,
    IssueBody,
    WindowActionBody,
    EvaluationBody,
    AppointmentBody,
    DeviceStatusBody,
    KioskIssueBody,
    NewServiceBody,
    NewWindowBody,
    NewDeviceBody,
    ServiceEditBody,
    WindowEditBody,
    DeviceEditBody,
    NoticesBody,
    SettingsBody,
    TomlImportBody,
    NewStaffBody,
    StaffEditBody,
    NewWebhookBody,
    WebhookEditBody,
)
