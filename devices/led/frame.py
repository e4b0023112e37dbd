"""What every LED frame protocol shares: text styles and the error for a bad frame."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from devices.base import DeviceError

E = TypeVar("E", bound=StrEnum)


class Effect(StrEnum):
    """How the sign brings the text in."""

    STATIC = "static"  # shown at once and kept
    TYPE = "type"  # drawn quickly character by character
    SCROLL_LEFT = "scroll_left"  # marquee, for text longer than the strip
    SCROLL_UP = "scroll_up"


class Color(StrEnum):
    """Text colour; single-colour strips ignore it."""

    RED = "red"
    GREEN = "green"
    YELLOW = "yellow"


class FrameError(DeviceError):
    """Bytes that are not a valid frame: truncated, bad length or bad checksum."""


def parse_choice(kind: type[E], value: object, key: str) -> E:
    """Return ``kind(value)`` or raise DeviceError naming ``key`` and the accepted values."""
    try:
        return kind(str(value))
    except ValueError:
        accepted = ", ".join(member.value for member in kind)
        raise DeviceError(
            f"LED 屏配置项 {key} 的值无效：{value!r}（可选：{accepted}） / "
            f"invalid value for LED option {key}: {value!r} (accepted: {accepted})"
        ) from None
