"""LED signs: window strips (窗口屏) and hall boards (条屏/综合屏), real and fake.

A window strip shows the call ("A012 请到3号窗口") and otherwise the window's state
("暂停服务"); a hall board shows the recent calls, one per line ("A012→3号").
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from devices.base import DeviceError, DeviceStatus, Health
from devices.led import generic, onbon
from devices.led.charset import DEFAULT_SUBSTITUTE, to_gb2312
from devices.led.frame import Color, Effect, FrameError, parse_choice
from devices.led.transport import SerialTransport


def call_text(number: str, window: int) -> str:
    """Return the strip text for a call: ``A012 请到3号窗口``."""
    return f"{number} 请到{window}号窗口"


def board_line(number: str, window: int) -> str:
    """Return one hall-board line for a call: ``A012→3号``."""
    return f"{number}→{window}号"


@runtime_checkable
class LedSign(Protocol):
    """An LED sign the display agent drives."""

    def show_call(self, number: str, window: int) -> None:
        """Show that ``number`` is called to ``window``."""
        ...

    def show_state(self, text: str) -> None:
        """Show a window state or notice (``暂停服务``); empty text clears the sign."""
        ...

    def show_lines(self, lines: list[str]) -> None:
        """Show several lines at once (hall board: recent calls)."""
        ...

    def status(self) -> DeviceStatus:
        """Ask the sign whether it is alive."""
        ...


class Codec(Protocol):
    """The byte protocol of one controller family."""

    @property
    def end_byte(self) -> int:
        """The byte that ends every frame (replies are read up to it)."""
        ...

    def text(self, address: int, lines: list[str], effect: Effect, color: Color) -> bytes:
        """Encode ``lines`` for display."""
        ...

    def clear(self, address: int) -> bytes:
        """Encode a clear command."""
        ...

    def ping(self, address: int) -> bytes:
        """Encode a command the sign answers with an ACK."""
        ...

    def check_reply(self, reply: bytes, address: int) -> None:
        """Raise DeviceError unless ``reply`` is a positive acknowledgement."""
        ...


@dataclass(frozen=True, slots=True)
class GenericCodec:
    """The generic framed protocol (devices.led.generic)."""

    substitute: str = DEFAULT_SUBSTITUTE
    end_byte: int = generic.ETX

    def text(self, address: int, lines: list[str], effect: Effect, color: Color) -> bytes:
        """Encode ``lines`` for display."""
        return generic.encode_lines(
            address, lines, effect=effect, color=color, substitute=self.substitute
        )

    def clear(self, address: int) -> bytes:
        """Encode a clear command."""
        return generic.encode_clear(address)

    def ping(self, address: int) -> bytes:
        """Encode a status query."""
        return generic.encode_status(address)

    def check_reply(self, reply: bytes, address: int) -> None:
        """Raise DeviceError unless ``reply`` is an ACK."""
        generic.check_reply(reply, address)


@dataclass(frozen=True, slots=True)
class OnbonCodec:
    """Onbon BX-5K/6K real-time dynamic area (devices.led.onbon)."""

    area: onbon.DynamicArea = field(default_factory=onbon.DynamicArea)
    font: str | None = None
    substitute: str = DEFAULT_SUBSTITUTE
    response: bool = True
    end_byte: int = onbon.FRAME_END

    def text(self, address: int, lines: list[str], effect: Effect, color: Color) -> bytes:
        """Encode ``lines`` into the dynamic area."""
        return onbon.encode_text(
            address,
            "\n".join(line.replace("\n", " ") for line in lines),
            effect=effect,
            color=color,
            area=self.area,
            font=self.font,
            response=self.response,
            substitute=self.substitute,
        )

    def clear(self, address: int) -> bytes:
        """Encode the clear-screen command."""
        return onbon.encode_clear(address, response=self.response)

    def ping(self, address: int) -> bytes:
        """Encode PING."""
        return onbon.encode_ping(address)

    def check_reply(self, reply: bytes, address: int) -> None:
        """Raise DeviceError unless ``reply`` is an ACK."""
        onbon.check_reply(reply, address)


class SerialLedSign:
    """A real sign: a codec, a transport and the sign's bus address."""

    def __init__(
        self,
        codec: Codec,
        transport: SerialTransport,
        address: int,
        *,
        wait_ack: bool = True,
        color: Color = Color.RED,
        effect: Effect = Effect.STATIC,
        long_text_chars: int = 0,
    ) -> None:
        self.codec = codec
        self.transport = transport
        self.address = address
        self.wait_ack = wait_ack
        self.color = color
        self.effect = effect
        # Text longer than the strip scrolls instead of being cut (0 = never scroll).
        self.long_text_chars = long_text_chars
        self._last_error: str | None = None

    def show_call(self, number: str, window: int) -> None:
        """Show ``A012 请到3号窗口``."""
        text = call_text(number, window)
        self._send(self.codec.text(self.address, [text], *self._style(len(text))))

    def show_state(self, text: str) -> None:
        """Show the window's state; empty text clears the sign."""
        if not text.strip():
            self._send(self.codec.clear(self.address))
            return
        self._send(self.codec.text(self.address, [text], *self._style(len(text))))

    def show_lines(self, lines: list[str]) -> None:
        """Show one line per item."""
        if not lines:
            self._send(self.codec.clear(self.address))
            return
        self._send(self.codec.text(self.address, list(lines), self.effect, self.color))

    def status(self) -> DeviceStatus:
        """Ping the sign; a sign that cannot answer (write-only bus) is UNKNOWN, never OK."""
        if not self.wait_ack:
            if self._last_error is not None:
                return _fault(self._last_error)
            return DeviceStatus(
                health=Health.UNKNOWN,
                online=None,
                message="LED 屏不回应答，状态未知 / sign does not acknowledge; state unknown",
            )
        try:
            self._exchange(self.codec.ping(self.address))
        except FrameError as exc:
            return _fault(str(exc))
        except DeviceError as exc:
            if self.transport.is_open:  # port fine, nobody answered
                return DeviceStatus(health=Health.UNKNOWN, online=None, message=str(exc))
            return _fault(str(exc))
        return DeviceStatus(health=Health.OK, online=True, message="LED 屏正常 / LED sign OK")

    def _style(self, length: int) -> tuple[Effect, Color]:
        if self.long_text_chars and length > self.long_text_chars:
            return Effect.SCROLL_LEFT, self.color
        return self.effect, self.color

    def _send(self, frame: bytes) -> None:
        try:
            self._exchange(frame)
        except DeviceError as exc:
            self._last_error = str(exc)
            raise
        self._last_error = None

    def _exchange(self, frame: bytes) -> None:
        reply_end = self.codec.end_byte if self.wait_ack else None
        reply = self.transport.send(frame, reply_end=reply_end)
        if reply is not None:
            self.codec.check_reply(reply, self.address)


@dataclass
class FakeLedSign:
    """A sign in memory: keeps everything it showed (demo hall, tests, agents)."""

    name: str = "fake"
    online: bool = True
    shown: list[list[str]] = field(default_factory=list)
    substitute: str = DEFAULT_SUBSTITUTE
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def lines(self) -> list[str]:
        """What the sign shows now (empty when cleared or never used)."""
        with self._lock:
            return list(self.shown[-1]) if self.shown else []

    @property
    def text(self) -> str:
        """What the sign shows now, lines joined by newlines."""
        return "\n".join(self.lines)

    def show_call(self, number: str, window: int) -> None:
        """Show ``A012 请到3号窗口``."""
        self._show([call_text(number, window)])

    def show_state(self, text: str) -> None:
        """Show the window's state; empty text clears the sign."""
        self._show([text] if text.strip() else [])

    def show_lines(self, lines: list[str]) -> None:
        """Show one line per item."""
        self._show(list(lines))

    def status(self) -> DeviceStatus:
        """Report OK, or FAULT while ``online`` is False."""
        if not self.online:
            return _fault("模拟 LED 屏离线 / fake LED sign offline")
        return DeviceStatus(health=Health.OK, online=True, message="LED 屏正常 / LED sign OK")

    def _show(self, lines: list[str]) -> None:
        if not self.online:
            raise DeviceError("模拟 LED 屏离线 / fake LED sign offline")
        # What a GB2312 sign can draw, so the fake shows what the real one would.
        drawable = [to_gb2312(line, substitute=self.substitute).decode("gb2312") for line in lines]
        with self._lock:
            self.shown.append(drawable)


_FAKE_KEYS = frozenset({"type", "name"})
_SERIAL_KEYS = frozenset(
    {
        "type",
        "protocol",
        "url",
        "baudrate",
        "address",
        "ack",
        "timeout_s",
        "color",
        "effect",
        "substitute",
        "scroll_over_chars",
        "width_px",
        "height_px",
        "font",
    }
)
PROTOCOLS = ("generic", "onbon")


def build_led_sign(options: Mapping[str, Any]) -> LedSign:
    """Build a sign from config: ``{"type": "fake"}`` or ``{"type": "serial", ...}``."""
    kind = options.get("type")
    if kind == "fake":
        _reject_unknown(options, _FAKE_KEYS)
        return FakeLedSign(name=str(options.get("name", "fake")))
    if kind != "serial":
        raise DeviceError(
            f"LED 屏配置项 type 无效：{kind!r}（可选：fake, serial） / "
            f"invalid LED option type: {kind!r} (accepted: fake, serial)"
        )
    _reject_unknown(options, _SERIAL_KEYS)
    if "url" not in options:
        raise DeviceError("LED 屏缺少配置项 url / LED option url is missing")
    protocol = options.get("protocol", "generic")
    substitute = str(options.get("substitute", DEFAULT_SUBSTITUTE))
    try:
        substitute.encode("gb2312")
    except UnicodeEncodeError:
        raise DeviceError(
            f"LED 屏配置项 substitute 不是 GB2312 字符：{substitute!r} / "
            f"LED option substitute must be GB2312: {substitute!r}"
        ) from None
    codec: Codec
    if protocol == "generic":
        codec = GenericCodec(substitute=substitute)
        address = _int_option(options, "address", 1, 0, 0xFF)
    elif protocol == "onbon":
        area = onbon.DynamicArea(
            width_px=_int_option(options, "width_px", 128, 8, 0x7FFF),
            height_px=_int_option(options, "height_px", 32, 8, 0x7FFF),
        )
        font = options.get("font")
        codec = OnbonCodec(
            area=area,
            font=None if font is None else str(font),
            substitute=substitute,
            response=bool(options.get("ack", True)),
        )
        address = _int_option(options, "address", 1, 0, 0xFFFF)
    else:
        raise DeviceError(
            f"LED 屏配置项 protocol 无效：{protocol!r}（可选：{', '.join(PROTOCOLS)}） / "
            f"invalid LED option protocol: {protocol!r} (accepted: {', '.join(PROTOCOLS)})"
        )
    transport = SerialTransport(
        str(options["url"]),
        baudrate=_int_option(options, "baudrate", 9600, 1, 4_000_000),
        timeout_s=float(options.get("timeout_s", 1.0)),
    )
    return SerialLedSign(
        codec,
        transport,
        address,
        wait_ack=bool(options.get("ack", True)),
        color=parse_choice(Color, options.get("color", Color.RED.value), "color"),
        effect=parse_choice(Effect, options.get("effect", Effect.STATIC.value), "effect"),
        long_text_chars=_int_option(options, "scroll_over_chars", 0, 0, 10_000),
    )


def _reject_unknown(options: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise DeviceError(
            f"LED 屏配置项未知：{', '.join(unknown)} / unknown LED option: {', '.join(unknown)}"
        )


def _int_option(options: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DeviceError(
            f"LED 屏配置项 {key} 应为 {low}–{high} 的整数：{value!r} / "
            f"LED option {key} must be an integer {low}..{high}: {value!r}"
        )
    return value


def _fault(message: str) -> DeviceStatus:
    return DeviceStatus(health=Health.FAULT, online=False, message=message)
