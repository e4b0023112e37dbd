"""Load and validate the hall configuration once, into frozen typed Settings.

Layers, lowest first: ``config/default.toml`` -> the site TOML (``HALL_CONFIG``, default
``config/halls/demo.toml``) -> ``HALL_*`` environment -> a test mapping. Tables merge
deeply, lists replace. Any unknown, missing or invalid key stops start-up with a
``ConfigError`` naming the file (or variable) and the dotted key.
"""

import difflib
import itertools
import json
import os
import re
import string
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULTS_FILE = REPO_ROOT / "config" / "default.toml"
DEMO_HALL_FILE = REPO_ROOT / "config" / "halls" / "demo.toml"

# Environment variable -> dotted key it sets. Values are strings; pydantic converts them.
ENV_KEYS: dict[str, tuple[str, str]] = {
    "HALL_DATABASE_URL": ("server", "database_url"),
    "HALL_MESSAGE_QUEUE": ("server", "message_queue"),
    "HALL_SECRET_KEY": ("server", "secret_key"),
    "HALL_HOST": ("server", "host"),
    "HALL_PORT": ("server", "port"),
    "HALL_VAR_DIR": ("server", "var_dir"),
    "HALL_PUBLIC_BASE_URL": ("server", "public_base_url"),
    "HALL_ASYNC_MODE": ("server", "async_mode"),
    "HALL_WORKERS": ("server", "workers"),
    "HALL_NOTIFIER": ("notify", "kind"),
    "HALL_NOTIFY_AHEAD": ("notify", "ahead"),
    "HALL_SMS_URL": ("notify", "sms_url"),
    "HALL_SMS_TOKEN": ("notify", "sms_token"),
    "HALL_SMS_TIMEOUT_S": ("notify", "sms_timeout_s"),
}

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """Raised when the configuration cannot be loaded; the message names every bad key."""


class _Problems(ValueError):
    """Carry several (key relative to the model, message) problems out of one validator."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


def _raise_problems(problems: list[tuple[Loc, str]]) -> None:
    if problems:
        raise _Problems(problems)


def _quote(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------- field types


def _slug(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9-]+", value):
        raise ValueError("must be a slug: lowercase letters a-z, digits and '-'")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _hours(value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    for start, end in value:
        for moment in (start, end):
            if not _TIME.fullmatch(moment):
                raise ValueError(
                    f'times must be "HH:MM" from 00:00 to 23:59 (got {_quote(moment)})'
                )
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
    kiosk_rate_per_min: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _workers_share_a_queue(self) -> "ServerSettings":
        if self.workers > 1 and not self.message_queue:
            raise _Problems([(("workers",), "several workers need server.message_queue (a Redis "
                              "URL, HALL_MESSAGE_QUEUE): a call made in one must reach the screens "
                              "connected to the others")])  # fmt: skip
        if self.workers > 1 and self.async_mode != "gevent":
            raise _Problems([(("workers",), 'several workers need async_mode = "gevent"')])
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
    template: str = "请{number}号到{window}号窗口办理"

    @field_validator("template")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"is not a valid template: {exc}") from None
        if names != {"number", "window"}:
            raise ValueError("must use exactly the placeholders {number} and {window}")
        return value


class AlarmConfig(_Model):
    wait_yellow_min: Minutes = 20
    wait_red_min: Minutes = 40
    handle_yellow_min: Minutes = 20
    handle_red_min: Minutes = 40
    idle_with_queue_min: Minutes = 5
    pause_yellow_min: Minutes = 15
    pause_red_min: Minutes = 30

    @model_validator(mode="after")
    def _yellow_before_red(self) -> "AlarmConfig":
        problems: list[tuple[Loc, str]] = []
        for what in ("wait", "handle", "pause"):
            yellow, red = getattr(self, f"{what}_yellow_min"), getattr(self, f"{what}_red_min")
            if yellow >= red:
                problems.append(
                    ((f"{what}_red_min",), f"must be above {what}_yellow_min {yellow} (got {red})")
                )
        _raise_problems(problems)
        return self


class IssuingConfig(_Model):
    per_id_daily_limit: int = Field(default=3, ge=0)
    per_phone_daily_limit: int = Field(default=3, ge=0)
    elderly_age: int = Field(default=65, ge=50, le=100)


class GuideConfig(_Model):
    materials: tuple[str, ...] = ()
    fee: str = "免费"
    time_limit: str = "即办"
    notes: str = ""


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
        _raise_problems(problems)
        return self

    def hours_on(self, iso_weekday: int) -> tuple[tuple[str, str], ...]:
        """Return the opening periods on an ISO weekday; () when closed that day."""
        if iso_weekday not in self.weekdays:
            return ()
        return self.weekday_hours.get(iso_weekday, self.hours)


class WindowConfig(_Model):
    number: int = Field(ge=1)
    name: str = ""
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
            raise _Problems(
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
    zone: str = ""
    floor: int | None = None
    windows: tuple[int, ...] = ()
    layout: Literal["all", "zone", "floor"] = "all"
    options: dict[str, Any] = {}

    @model_validator(mode="after")
    def _layout_needs_place(self) -> "DeviceConfig":
        if self.layout == "zone" and not self.zone:
            raise _Problems([(("zone",), 'layout "zone" needs a zone')])
        if self.layout == "floor" and self.floor is None:
            raise _Problems([(("floor",), 'layout "floor" needs a floor')])
        return self


class HallConfig(_Model):
    code: Slug
    name: Text
    name_en: Text
    timezone: str = "Asia/Shanghai"
    notices: tuple[str, ...] = ()
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
        _raise_problems(_hall_links(self.model_dump()))
        return self

    def service(self, code: str) -> ServiceConfig:
        """Return the service with this code; KeyError names the known codes."""
        for service in self.services:
            if service.code == code:
                return service
        known = [service.code for service in self.services]
        raise KeyError(f"hall {_quote(self.code)}: {_unknown('service', code, known)}")

    def window(self, number: int) -> WindowConfig:
        """Return the window with this number; KeyError when the hall has none."""
        for window in self.windows:
            if window.number == number:
                return window
        raise KeyError(f"hall {_quote(self.code)}: no window number {number}")


def _listed(hall: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    items = hall.get(key)
    if not isinstance(items, list | tuple):
        return []
    return [(index, item) for index, item in enumerate(items) if isinstance(item, Mapping)]


def _hall_links(hall: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """Check what one item cannot check alone: uniqueness and references between tables.

    Works on plain (possibly invalid) data, so these problems are reported together with
    the per-item ones instead of only after those are fixed.
    """
    problems: list[tuple[Loc, str]] = []
    services, windows, devices = (_listed(hall, key) for key in ("services", "windows", "devices"))
    for table, items, key in (
        ("services", services, "code"),
        ("services", services, "prefix"),
        ("windows", windows, "number"),
        ("devices", devices, "name"),
    ):
        first: dict[Any, int] = {}
        for index, item in items:
            value = item.get(key)
            if not isinstance(value, str | int) or isinstance(value, bool):
                continue
            if value in first:
                message = f"duplicate {key} {_quote(value)} (also {table}[{first[value]}])"
                problems.append(((table, index, key), message))
            else:
                first[value] = index
    codes = [item["code"] for _, item in services if isinstance(item.get("code"), str)]
    numbers = [item["number"] for _, item in windows if isinstance(item.get("number"), int)]
    served: set[str] = set()
    for index, window in windows:
        listed = window.get("services")
        if window.get("general") is True:
            served.update(codes)
        if isinstance(listed, Mapping):
            served.update(listed)
            for code in listed:
                if code not in codes:
                    where: Loc = ("windows", index, "services", code)
                    problems.append((where, _unknown("service", code, codes)))
    alarms = hall.get("alarms")
    alarms = alarms if isinstance(alarms, Mapping) else {}
    for index, service in services:
        code = service.get("code")
        if isinstance(code, str) and code not in served:
            problems.append((("services", index), f"no window serves {_quote(code)}"))
        # Only one threshold overridden: compare it with the hall's other one. (Both
        # overridden is the service's own check.)
        if (service.get("wait_yellow_min") is None) != (service.get("wait_red_min") is None):
            yellow = service.get("wait_yellow_min") or alarms.get("wait_yellow_min")
            red = service.get("wait_red_min") or alarms.get("wait_red_min")
            if isinstance(yellow, int) and isinstance(red, int) and yellow >= red:
                message = f"red alarm {red} min must be above yellow alarm {yellow} min"
                problems.append((("services", index, "wait_red_min"), message))
    for index, device in devices:
        wanted = device.get("windows")
        for position, number in enumerate(wanted if isinstance(wanted, list | tuple) else []):
            if isinstance(number, int) and numbers and number not in numbers:
                where = ("devices", index, "windows", position)
                problems.append((where, f"no window number {number}"))
    return problems


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
            raise _Problems([(("sms_url",), 'kind = "http" needs the gateway: a URL starting '
                              'with "http://" or "https://" and a host')])  # fmt: skip
        return self


class Settings(_Model):
    server: ServerSettings = ServerSettings()
    notify: NotifySettings = NotifySettings()
    hall: HallConfig


class _HallFile(_Model):
    """A hall file as admin import reads it; a site file's [server] table is checked too."""

    server: ServerSettings = ServerSettings()
    notify: NotifySettings = NotifySettings()
    hall: HallConfig


def _unknown(what: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f'; did you mean "{close[0]}"?' if close else f" (known: {', '.join(known)})"
    return f"unknown {what} {_quote(name)}{hint}"


# ---------------------------------------------------------------- layering


class _Layers:
    """Merge configuration layers deeply and remember which source set each key."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.sources: dict[Loc, str] = {}

    def add(self, layer: Mapping[str, Any], source: str) -> None:
        self._merge(self.data, layer, (), source)

    def _merge(self, target: dict[str, Any], layer: Mapping[str, Any], loc: Loc, src: str) -> None:
        self.sources[loc] = src
        for key, value in layer.items():
            here = (*loc, key)
            if isinstance(value, Mapping) and isinstance(target.get(key), dict):
                self._merge(target[key], value, here, src)
                continue
            if here in self.sources:
                self._forget(here)
            target[key] = self._record(value, here, src)

    def _record(self, value: Any, loc: Loc, src: str) -> Any:
        """Copy a value into plain dicts and lists, noting the source of every key in it."""
        self.sources[loc] = src
        if isinstance(value, Mapping):
            return {key: self._record(item, (*loc, key), src) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._record(item, (*loc, index), src) for index, item in enumerate(value)]
        return value

    def _forget(self, loc: Loc) -> None:
        # A replaced list or table must not lend its old sources to the new value's keys.
        for known in [known for known in self.sources if known[: len(loc)] == loc]:
            del self.sources[known]

    def source_of(self, loc: Loc) -> str:
        for length in range(len(loc), -1, -1):
            source = self.sources.get(loc[:length])
            if source is not None:
                return source
        return "<configuration>"


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":
            text += f".{part}" if text else str(part)
    return text


def _field_names(model: type[BaseModel], loc: Loc) -> list[str]:
    """Return the keys allowed in the table at loc, for "did you mean" hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue  # a list index: the item type is already unwrapped
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return []
            current = current.model_fields[part].annotation
        while typing.get_origin(current) in (tuple, dict, Union, types.UnionType, Annotated):
            args = [arg for arg in typing.get_args(current) if arg not in (Ellipsis, type(None))]
            current = args[-1] if typing.get_origin(current) is not Annotated else args[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _describe(
    exc: ValidationError, model: type[BaseModel], layers: _Layers, site: str
) -> ConfigError:
    lines: list[str] = []
    errors = exc.errors()
    for error in errors:
        loc: Loc = tuple(error["loc"])
        if error["type"] == "too_short" and any(
            len(other["loc"]) > len(loc) and tuple(other["loc"][: len(loc)]) == loc
            for other in errors
        ):
            continue  # a list "too short" only because its items failed: the items say why
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, _Problems):
            found = [((*loc, *relative), message) for relative, message in cause.problems]
        else:
            found = [(loc, _message(error, model))]
        for where, message in found:
            source = layers.source_of(where)
            if error["type"] == "missing" and source == _label(DEFAULTS_FILE):
                source = site  # the defaults are complete; a missing key belongs to the site
            line = f"{source}: {_dotted(where)}: {message}"
            if line not in lines:
                lines.append(line)
    hall = layers.data.get("hall")
    if isinstance(hall, Mapping) and not any(_is_links(error) for error in exc.errors()):
        # The hall-wide check did not run (items failed first); run it on the raw data.
        for relative, message in _hall_links(hall):
            where = ("hall", *relative)
            line = f"{layers.source_of(where)}: {_dotted(where)}: {message}"
            if line not in lines:
                lines.append(line)
    count = f"{len(lines)} problem" + ("s" if len(lines) != 1 else "")
    return ConfigError(f"invalid configuration ({count}):\n" + "\n".join(lines))


def _is_links(error: Any) -> bool:
    return isinstance(error.get("ctx", {}).get("error"), _Problems) and error["loc"] == ("hall",)


def _message(error: Any, model: type[BaseModel]) -> str:
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "missing":
        return "missing: this key is required"
    if kind == "extra_forbidden":
        known = _field_names(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        return "unknown key" + (f'; did you mean "{close[0]}"?' if close else "")
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float | bool) and "(got " not in message:
        message += f" (got {_quote(value)})"
    return message


def _label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None


def _read(path: Path, why: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{_label(path)}: file not found ({why})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{_label(path)}: cannot be read ({why}): {exc}") from None
    return _parse(text, _label(path))


def _site_path(chosen: Any) -> Path:
    path = Path(str(chosen)).expanduser()
    # Relative to the current directory, like any shell path; fall back to the repository
    # so `HALL_CONFIG=config/halls/x.toml` works from anywhere.
    if not path.is_absolute() and not path.exists() and (REPO_ROOT / path).exists():
        return REPO_ROOT / path
    return path


def _validate(model: type[BaseModel], layers: _Layers, site: str) -> Any:
    try:
        return model.model_validate(layers.data)
    except ValidationError as exc:
        raise _describe(exc, model, layers, site) from None


# ---------------------------------------------------------------- public API


def load_settings(
    test_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    command_line: Mapping[str, Any] | None = None,
) -> Settings:
    """Load defaults, the site file, HALL_* environment, command-line options and test_config.

    ``command_line`` holds what a command's options set (``{"server": {"workers": 4}}``):
    checked with the rest, an error names the option's key as coming from the command line.
    """
    env = os.environ if environ is None else environ
    overrides = dict(test_config or {})
    if "config_path" in overrides:
        site_path, why = _site_path(overrides.pop("config_path")), "config_path in test_config"
    elif env.get("HALL_CONFIG"):
        site_path, why = _site_path(env["HALL_CONFIG"]), "set by HALL_CONFIG"
    else:
        site_path, why = DEMO_HALL_FILE, "the demo hall, as HALL_CONFIG is not set"
    layers = _Layers()
    layers.add(_read(DEFAULTS_FILE, "committed defaults"), _label(DEFAULTS_FILE))
    layers.add(_read(site_path, why), _label(site_path))
    for name, (table, key) in ENV_KEYS.items():
        if name in env:
            layers.add({table: {key: env[name]}}, f"environment {name}")
    if command_line:
        layers.add(command_line, "command line")
    if overrides:
        layers.add(overrides, "test_config")
    settings: Settings = _validate(Settings, layers, _label(site_path))
    return settings


def parse_hall_toml(text: str, source: str = "<string>") -> HallConfig:
    """Parse a hall file ([hall] table; a [server] table is checked and dropped) over defaults."""
    layers = _Layers()
    defaults = _read(DEFAULTS_FILE, "committed defaults")
    layers.add({"hall": defaults.get("hall", {})}, _label(DEFAULTS_FILE))
    layers.add(_parse(text, source), source)
    hall_file: _HallFile = _validate(_HallFile, layers, source)
    return hall_file.hall


def dump_hall_toml(hall: HallConfig) -> str:
    """Write a hall as a complete TOML hall file that parse_hall_toml reads back equal."""
    data = hall.model_dump(mode="json", exclude_none=True)
    header = f"# {hall.name} {hall.name_en}: hall file written by dump_hall_toml\n\n"
    return header + tomli_w.dumps({"hall": data})
