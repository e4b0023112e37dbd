"""Load the configuration from its sources, lowest first, into frozen Settings.

``config/default.toml`` (committed defaults) -> the site TOML (``HALL_CONFIG``, default
``config/halls/demo.toml``) -> ``HALL_*`` environment -> command-line options -> a test
mapping. Also reads and writes a hall file on its own (admin import and export).
"""

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ValidationError

from .base import DEFAULTS_FILE, DEMO_HALL_FILE, REPO_ROOT, ConfigError, label
from .layers import Layers
from .report import describe
from .schema import HallConfig, HallFile, Settings

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
    "HALL_SQLITE_SYNCHRONOUS": ("server", "sqlite_synchronous"),
    "HALL_TRUSTED_PROXIES": ("server", "trusted_proxies"),
    "HALL_LEADER_CHECK_S": ("server", "leader_check_s"),
    "HALL_METRICS_TOKEN": ("server", "metrics_token"),
    "HALL_LOGIN_STORAGE_URL": ("login", "storage_url"),
    "HALL_NOTIFIER": ("notify", "kind"),
    "HALL_NOTIFY_AHEAD": ("notify", "ahead"),
    "HALL_SMS_URL": ("notify", "sms_url"),
    "HALL_SMS_TOKEN": ("notify", "sms_token"),
    "HALL_SMS_TIMEOUT_S": ("notify", "sms_timeout_s"),
}


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None


def _read(path: Path, why: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{label(path)}: file not found ({why})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label(path)}: cannot be read ({why}): {exc}") from None
    return _parse(text, label(path))


def _site_path(chosen: Any) -> Path:
    path = Path(str(chosen)).expanduser()
    # Relative to the current directory, like any shell path; fall back to the repository
    # so `HALL_CONFIG=config/halls/x.toml` works from anywhere.
    if not path.is_absolute() and not path.exists() and (REPO_ROOT / path).exists():
        return REPO_ROOT / path
    return path


def _validate(model: type[BaseModel], layers: Layers, site: str) -> Any:
    try:
        return model.model_validate(layers.data)
    except ValidationError as exc:
        raise describe(exc, model, layers, site) from None


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
    layers = Layers()
    layers.add(_read(DEFAULTS_FILE, "committed defaults"), label(DEFAULTS_FILE))
    layers.add(_read(site_path, why), label(site_path))
    for name, (table, key) in ENV_KEYS.items():
        if name in env:
            layers.add({table: {key: env[name]}}, f"environment {name}")
    if command_line:
        layers.add(command_line, "command line")
    if overrides:
        layers.add(overrides, "test_config")
    settings: Settings = _validate(Settings, layers, label(site_path))
    return settings


def parse_hall_toml(text: str, source: str = "<string>") -> HallConfig:
    """Parse a hall file ([hall] table; a [server] table is checked and dropped) over defaults."""
    layers = Layers()
    defaults = _read(DEFAULTS_FILE, "committed defaults")
    layers.add({"hall": defaults.get("hall", {})}, label(DEFAULTS_FILE))
    layers.add(_parse(text, source), source)
    hall_file: HallFile = _validate(HallFile, layers, source)
    return hall_file.hall


def dump_hall_toml(hall: HallConfig) -> str:
    """Write a hall as a complete TOML hall file that parse_hall_toml reads back equal."""
    data = hall.model_dump(mode="json", exclude_none=True)
    header = f"# {hall.name} {hall.name_en}: hall file written by dump_hall_toml\n\n"
    return header + tomli_w.dumps({"hall": data})
