"""Load and validate the hall configuration once, into frozen typed Settings.

The package in parts:

- ``schema``: one typed pydantic model per section (``[server]``, ``[notify]``, ``[hall]``
  with its services, windows, devices, policy, voice, alarms, issuing);
- ``checks``: the hall-wide cross-checks, one small function per rule, run in order;
- ``layers``: the deep merge of sources that remembers which source set each key;
- ``load``: the sources, lowest first — ``config/default.toml`` -> the site TOML
  (``HALL_CONFIG``, default ``config/halls/demo.toml``) -> ``HALL_*`` environment ->
  command-line options -> a test mapping; and hall files on their own (admin import/export);
- ``report``: any unknown, missing or invalid key stops start-up with one ``ConfigError``
  naming the file (or variable) and the dotted key.
"""

from .base import DEFAULTS_FILE, DEMO_HALL_FILE, REPO_ROOT, ConfigError
from .load import ENV_KEYS, dump_hall_toml, load_settings, parse_hall_toml
from .schema import (
    AlarmConfig,
    DeviceConfig,
    GuideConfig,
    HallConfig,
    IssuingConfig,
    NotifySettings,
    PolicyConfig,
    ServerSettings,
    ServiceConfig,
    Settings,
    VoiceConfig,
    WindowConfig,
)

__all__ = [
    "DEFAULTS_FILE",
    "DEMO_HALL_FILE",
    "ENV_KEYS",
    "REPO_ROOT",
    "AlarmConfig",
    "ConfigError",
    "DeviceConfig",
    "GuideConfig",
    "HallConfig",
    "IssuingConfig",
    "NotifySettings",
    "PolicyConfig",
    "ServerSettings",
    "ServiceConfig",
    "Settings",
    "VoiceConfig",
    "WindowConfig",
    "dump_hall_toml",
    "load_settings",
    "parse_hall_toml",
]
