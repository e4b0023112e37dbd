"""The schema: one frozen, typed pydantic model per section of the configuration.

Each model checks its own keys; what spans tables of the hall (uniqueness, references) is
in ``checks``. Unknown keys are refused (``extra="forbid"``).
"""

import itertools
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..domain.text import refusal, unshowable
from .base import REPO_ROOT, Loc, Problems, quote, raise_problems, unknown
from .checks import hall_links

# ---------------------------------------------------------------- field types


def _slug(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9-]+", value):
        raise ValueError("must be a slug: lowercase letters a-z, digits and '-'")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return _showable(value)


def _showable(value: str) -> str:
    found = unshowable(value)
    if found:
        raise ValueError(refusal(found))
    return value


_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")  # 24:00 ends a period at midnight


def _hours(value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    for start, end in value:
        for moment in (start, end):
            if not _TIME.fullmatch(moment):
                raise ValueError(f'times must be "HH:MM" from 00:00 to 24:00 (got {quote(moment)})')
        if start >= end:
            raise ValueError(f"each period must start before it ends (got {start}-{end})")
    for (start_a, end_a), (start_b, end_b) in itertools.pairwise(value):
        if start_b < end_a:
            raise ValueError(
                f"periods must be in time order and must not overlap "
                f"(got {start_a}-{end_a} then {start_b}-{end_b})"
            )
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Text = Annotated[str, AfterValidator(_non_empty)]
Shown = Annotated[str, AfterValidator(_showable)]  # text on a screen or ticket; may be empty
Hours = Annotated[tuple[tuple[str, str], ...], AfterValidator(_hours)]
Minutes = Annotated[int, Field(ge=1)]
Weight = Annotated[int, Field(ge=1, le=10)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- server


class ServerSettings(_Model):
    host: Text = "127.0.0.1"
    port: int = Field(default=5000, ge=1, le=65535)
    secret_key: str = ""
    database_url: str = ""
    message_queue: str = ""
    async_mode: Literal["gevent", "threading"] = "gevent"
    workers: int = Field(default=1, ge=1, le=32)
    var_dir: Text = "var"
    public_base_url: str = ""
    token_ttl_h: int = Field(default=12, ge=1)
    resync_max_events: int = Field(default=500, ge=1)
    sqlite_synchronous: Literal["full", "normal"] = "full"  # durable commits (docs/CONFIG.md)
    kiosk_rate_per_min: int = Field(default=30, ge=1)
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    leader_check_s: float = Field(default=1.0, gt=0, le=60)  # leader election (ARCHITECTURE.md)
    metrics_token: str = ""  # empty: /metrics is open (counts only, docs/SECURITY.md)

    @model_validator(mode="after")
    def _workers_share_a_queue(self) -> "ServerSettings":
        if self.workers > 1 and not self.message_queue:
            raise Problems([(("workers",), "several workers need server.message_queue (a Redis "
                              "URL, HALL_MESSAGE_QUEUE): a call made in one must reach the screens "
                              "connected to the others")])  # fmt: skip
        if self.workers > 1 and self.async_mode != "gevent":
            raise Problems([(("workers",), 'several workers need async_mode = "gevent"')])
        return self

    @field_validator("message_queue")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError('must be empty or a Redis URL ("redis://host:6379/0")')
        return value

    @field_validator("public_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not re.match(r"https?://[^/\s]+", value):
            raise ValueError('must be empty or start with "http://" or "https://" and a host')
        return value

    @property
    def var_path(self) -> Path:
        """Return var_dir as an absolute path (relative ones hang off the repository root)."""
        path = Path(self.var_dir)
        return path if path.is_absolute() else REPO_ROOT / path


# ---------------------------------------------------------------- hall


class PolicyConfig(_Model):
    priority_swap_ratio: int = Field(default=3, ge=0)
    aging_min: int = Field(default=20, ge=0)
    appointment_early_min: int = Field(default=30, ge=0)
    appointment_late_min: int = Field(default=15, ge=0)
    no_show_requeue: Literal["end", "front", "after_n"] = "after_n"
    requeue_after_n: int = Field(default=3, ge=0)
    no_show_return_limit_min: int = Field(default=60, ge=0)
    max_recalls: int = Field(default=3, ge=0)
    finish_from_called: bool = True
    logout_window: Literal["pause", "close"] = "pause"


class VoiceConfig(_Model):
    repeat: int = Field(default=2, ge=1, le=5)
    chime: bool = True
    template: str = "请{number}号到{floor}{window}号窗口办理"  # {floor}: "2楼" or empty

    @field_validator("template")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"is not a valid template: {exc}") from None
        if names not in ({"number", "window"}, {"number", "window", "floor"}):
            raise ValueError("must use the placeholders {number} and {window}, and may use {floor}")
        return value


class AlarmConfig(_Model):
    wait_yellow_min: Minutes = 20
    wait_red_min: Minutes = 40
    handle_yellow_min: Minutes = 20
    handle_red_min: Minutes = 40
    idle_with_queue_min: Minutes = 5
    pause_yellow_min: Minutes = 15
    pause_red_min: Minutes = 30
    # Staffing (排班建议) and the "open another window" alarm: this share of visitors is to be
    # called within their service's sla_wait_min; arrivals of the last sla_recent_min count.
    sla_share: float = Field(default=0.8, gt=0, lt=1)
    sla_recent_min: Minutes = 45

    @model_validator(mode="after")
    def _yellow_before_red(self) -> "AlarmConfig":
        problems: list[tuple[Loc, str]] = []
        for what in ("wait", "handle", "pause"):
            yellow, red = getattr(self, f"{what}_yellow_min"), getattr(self, f"{what}_red_min")
            if yellow >= red:
                problems.append(
                    ((f"{what}_red_min",), f"must be above {what}_yellow_min {yellow} (got {red})")
                )
        raise_problems(problems)
        return self


class IssuingConfig(_Model):
    per_id_daily_limit: int = Field(default=3, ge=0)
    per_phone_daily_limit: int = Field(default=3, ge=0)
    elderly_age: int = Field(default=65, ge=50, le=100)


class GuideConfig(_Model):
    """办事指南 on the kiosk; what the admin leaves empty is shown as "ask at the desk"."""

    materials: tuple[Shown, ...] = ()
    fee: Shown = ""
    time_limit: Shown = ""
    notes: Shown = ""


class ServiceConfig(_Model):
    code: Slug
    name: Text
    name_en: Text
    category: Text
    prefix: str
    number_start: int = Field(default=1, ge=0)
    number_end: int = Field(default=999, ge=1)
    digits: int = Field(default=3, ge=1, le=6)
    daily_cap: int | None = Field(default=None, ge=1)
    hours: Hours = (("08:30", "12:00"), ("13:30", "17:30"))
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)
    # Days whose hours differ from `hours` (e.g. Saturday morning only); keys are ISO weekdays.
    weekday_hours: dict[int, Hours] = {}
    zone: Text
    floor: int
    avg_handle_min: float = Field(default=8.0, gt=0)
    sla_wait_min: Minutes = 30
    wait_yellow_min: Minutes | None = None
    wait_red_min: Minutes | None = None
    guide: GuideConfig = GuideConfig()

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{1,2}", value):
            raise ValueError("must be 1-2 capital letters")
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(not 1 <= day <= 7 for day in value) or len(set(value)) != len(value):
            raise ValueError("must list ISO weekdays 1 (Monday) .. 7 (Sunday), each at most once")
        return value

    @model_validator(mode="after")
    def _ranges(self) -> "ServiceConfig":
        problems: list[tuple[Loc, str]] = []
        start, end = self.number_start, self.number_end
        if end <= start:
            problems.append((("number_end",), f"must be above number_start {start} (got {end})"))
        elif len(str(end)) > self.digits:
            problems.append((("digits",), f"too few for number_end {end} (got {self.digits})"))
        elif self.daily_cap is not None and self.daily_cap > end - start + 1:
            problems.append(
                (
                    ("daily_cap",),
                    f"must not exceed the {end - start + 1} numbers of {start}-{end} "
                    f"(got {self.daily_cap})",
                )
            )
        for day in self.weekday_hours:
            if day not in self.weekdays:
                problems.append((("weekday_hours", day), f"day {day} is not in weekdays"))
        if self.wait_yellow_min and self.wait_red_min and self.wait_yellow_min >= self.wait_red_min:
            problems.append(
                (("wait_red_min",), f"must be above wait_yellow_min (got {self.wait_red_min})")
            )
        raise_problems(problems)
        return self

    def hours_on(self, iso_weekday: int) -> tuple[tuple[str, str], ...]:
        """Return the opening periods on an ISO weekday; () when closed that day."""
        if iso_weekday not in self.weekdays:
            return ()
        return self.weekday_hours.get(iso_weekday, self.hours)


class WindowConfig(_Model):
    number: int = Field(ge=1)
    name: Shown = ""
    zone: Text
    floor: int
    general: bool = False
    services: dict[str, Weight] = {}

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and not data.get("name") and "number" in data:
            return {**data, "name": f"{data['number']}号窗口"}
        return data

    @model_validator(mode="after")
    def _serves_something(self) -> "WindowConfig":
        if not self.general and not self.services:
            raise Problems(
                [(("services",), "a window that is not general (综合窗口) must list a service")]
            )
        return self

    def weight_for(self, service_code: str) -> int | None:
        """Return this window's weight for a service, or None when it does not serve it."""
        if service_code in self.services:
            return self.services[service_code]
        return 1 if self.general else None


class DeviceConfig(_Model):
    name: Slug
    kind: Literal["kiosk", "display", "agent", "evaluator"]
    label: Shown = Field("", max_length=50)  # the place visitors know it by: "1楼东侧自助机"
    zone: str = ""
    floor: int | None = None
    windows: tuple[int, ...] = ()
    layout: Literal["all", "zone", "floor"] = "all"
    options: dict[str, Any] = {}

    @model_validator(mode="after")
    def _layout_needs_place(self) -> "DeviceConfig":
        if self.layout == "zone" and not self.zone:
            raise Problems([(("zone",), 'layout "zone" needs a zone')])
        if self.layout == "floor" and self.floor is None:
            raise Problems([(("floor",), 'layout "floor" needs a floor')])
        return self


class HallConfig(_Model):
    code: Slug
    name: Text
    name_en: Text
    timezone: str = "Asia/Shanghai"
    notices: tuple[Shown, ...] = ()
    policy: PolicyConfig = PolicyConfig()
    voice: VoiceConfig = VoiceConfig()
    alarms: AlarmConfig = AlarmConfig()
    issuing: IssuingConfig = IssuingConfig()
    services: tuple[ServiceConfig, ...] = Field(min_length=1)
    windows: tuple[WindowConfig, ...] = Field(min_length=1)
    devices: tuple[DeviceConfig, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError('unknown time zone; use an IANA name like "Asia/Shanghai"') from None
        return value

    @model_validator(mode="after")
    def _cross_references(self) -> "HallConfig":
        raise_problems(hall_links(self.model_dump()))
        return self

    def service(self, code: str) -> ServiceConfig:
        """Return the service with this code; KeyError names the known codes."""
        for service in self.services:
            if service.code == code:
                return service
        known = [service.code for service in self.services]
        raise KeyError(f"hall {quote(self.code)}: {unknown('service', code, known)}")

    def window(self, number: int) -> WindowConfig:
        """Return the window with this number; KeyError when the hall has none."""
        for window in self.windows:
            if window.number == number:
                return window
        raise KeyError(f"hall {quote(self.code)}: no window number {number}")


class NotifySettings(_Model):
    """The turn-near message to a visitor's phone (叫号提醒), services/notify.py."""

    kind: Literal["log", "http"] = "log"
    ahead: int = Field(default=3, ge=0, le=100)
    sms_url: str = ""
    sms_token: str = ""
    sms_timeout_s: float = Field(default=5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _http_needs_a_gateway(self) -> "NotifySettings":
        if self.kind == "http" and not re.match(r"https?://[^/\s]+", self.sms_url):
            raise Problems([(("sms_url",), 'kind = "http" needs the gateway: a URL starting '
                              'with "http://" or "https://" and a host')])  # fmt: skip
        return self


class LoginSettings(_Model):
    """Limits on wrong passwords (services/login_limits.py), per login and per client address."""

    fails_per_login: int = Field(default=5, ge=1, le=1000)
    fails_per_address: int = Field(default=20, ge=1, le=100_000)
    window_min: Minutes = 15
    storage_url: str = ""

    @field_validator("storage_url")
    @classmethod
    def _storage(cls, value: str) -> str:
        if value and not value.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
            raise ValueError('must be empty, "memory://" or a Redis URL ("redis://host:6379/0")')
        return value


class Settings(_Model):
    server: ServerSettings = ServerSettings()
    notify: NotifySettings = NotifySettings()
    login: LoginSettings = LoginSettings()
    hall: HallConfig

    @model_validator(mode="after")
    def _workers_share_login_counts(self) -> "Settings":
        if self.server.workers > 1 and self.login.storage_url.startswith("memory://"):
            raise Problems([(("login", "storage_url"), "several workers must share the login "
                              'counts: leave it empty (server.message_queue) or give a Redis URL, '
                              'not "memory://"')])  # fmt: skip
        return self


class HallFile(_Model):
    """A hall file as admin import reads it; a site file's [server] table is checked too."""

    server: ServerSettings = ServerSettings()
    notify: NotifySettings = NotifySettings()
    login: LoginSettings = LoginSettings()
    hall: HallConfig
