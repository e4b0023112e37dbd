"""Window keypads (叫号器/评价器): the interface, the serial adapter and the shipped fake."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import serial

from devices.base import DeviceError, DeviceStatus, Health
from devices.keypad import protocol
from devices.keypad.keys import build_keymap, key_code, key_name
from devices.serial_port import SerialPort

DEFAULT_BAUDRATE = 9600
# A fixed read timeout: changing it per call would reconfigure a real UART every time.
READ_SLICE_S = 0.05
OFFLINE_AFTER_S = 10.0  # keypads send a heartbeat every few seconds
REPEAT_WINDOW_S = 2.0  # a repeated KEY sequence within this time is a retransmission


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """A key pressed on a keypad: its bus address, raw code and name (None if unmapped)."""

    address: int
    code: int
    key: str | None


class Keypad(Protocol):
    """A keypad at a window: keys in, one display line and a beeper out."""

    def read_events(self, timeout_s: float) -> list[KeyEvent]:
        """Return the keys pressed, waiting up to ``timeout_s`` for the first one."""
        ...

    def show(self, text: str) -> None:
        """Show ``text`` on the display line."""
        ...

    def beep(self) -> None:
        """Beep once."""
        ...

    def status(self) -> DeviceStatus:
        """Report how the keypad answered lately."""
        ...

    def close(self) -> None:
        """Release the port."""
        ...


class FakeKeypad:
    """A keypad in memory: ``press()`` injects keys, ``shown`` keeps what was displayed."""

    def __init__(self, *, address: int = 1, keymap: Mapping[int, str] | None = None) -> None:
        """Make a fake keypad at bus ``address`` using ``keymap`` (default codes if None)."""
        self.address = address
        self.keymap = dict(keymap) if keymap is not None else build_keymap()
        self.shown: list[str] = []
        self.beeps = 0
        self.closed = False
        self._events: deque[KeyEvent] = deque()
        self._ready = threading.Condition()

    def press(self, key: str | int) -> KeyEvent:
        """Press a key given by name (``"call-next"``) or code (``0x41``)."""
        code = key_code(key, self.keymap) if isinstance(key, str) else key
        event = KeyEvent(self.address, code, key_name(code, self.keymap))
        with self._ready:
            self._events.append(event)
            self._ready.notify_all()
        return event

    def read_events(self, timeout_s: float) -> list[KeyEvent]:
        """Return the keys pressed, waiting up to ``timeout_s`` for the first one."""
        self._check_open()
        with self._ready:
            self._ready.wait_for(lambda: bool(self._events) or self.closed, timeout_s)
            events = list(self._events)
            self._events.clear()
        return events

    @property
    def text(self) -> str:
        """Return what the display shows now."""
        return self.shown[-1] if self.shown else ""

    def show(self, text: str) -> None:
        """Keep ``text`` as what the display shows."""
        self._check_open()
        self.shown.append(text)

    def beep(self) -> None:
        """Count a beep."""
        self._check_open()
        self.beeps += 1

    def status(self) -> DeviceStatus:
        """Report the fake as online, or offline once closed."""
        if self.closed:
            return DeviceStatus(Health.FAULT, False, message="叫号器已关闭 / keypad closed")
        return DeviceStatus(Health.OK, True, message="模拟叫号器 / fake keypad")

    def close(self) -> None:
        """Close the fake; a reader waiting in ``read_events`` returns at once."""
        with self._ready:
            self.closed = True
            self._ready.notify_all()

    def _check_open(self) -> None:
        if self.closed:
            raise DeviceError("叫号器已关闭。The keypad has been closed.")


class SerialKeypad:
    """A keypad on an RS-485/serial line opened by pyserial URL; reopens after a failure."""

    def __init__(
        self,
        url: str,
        *,
        address: int = 1,
        baudrate: int = DEFAULT_BAUDRATE,
        keymap: Mapping[int, str] | None = None,
        display_bytes: int = protocol.DISPLAY_MAX_BYTES,
        offline_after_s: float = OFFLINE_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Talk to the keypad at bus ``address`` on port ``url`` (opened on first use)."""
        if not 1 <= address < protocol.BROADCAST:
            raise DeviceError(
                f"叫号器地址须在 1..254 之间，现为 {address}。"
                f"The keypad address must be 1..254, got {address}."
            )
        self.url = url
        self.address = address
        self.baudrate = baudrate
        self.keymap = dict(keymap) if keymap is not None else build_keymap()
        self.display_bytes = display_bytes
        self.offline_after_s = offline_after_s
        self._clock = clock
        self._link = SerialPort(url, baudrate=baudrate, timeout_s=READ_SLICE_S,
                                what_zh="叫号器串口", what_en="Keypad port")  # fmt: skip
        self._buffer = b""
        self._last_heard: float | None = None
        self._recent: dict[int, float] = {}  # sequence -> when first seen
        self._lock = threading.Lock()
        self.rejected = 0  # frames dropped by the decoder (noise on the bus)

    def _open(self) -> Any:
        return self._link.open()

    def _fail(self, exc: BaseException, zh: str, en: str) -> NoReturn:
        """Close the port so the next call reopens it, and raise a sentence."""
        self._buffer = b""
        self._link.fail(exc, zh, en)

    def _drop_port(self) -> None:
        self._buffer = b""
        self._link.close()

    def _write(self, data: bytes) -> None:
        port = self._open()
        try:
            port.write(data)
            port.flush()
        except (serial.SerialException, OSError) as exc:
            self._fail(exc, "写入失败", "write failed")

    def read_events(self, timeout_s: float) -> list[KeyEvent]:
        """Return the keys pressed, waiting up to ``timeout_s`` for the first one."""
        with self._lock:
            deadline = time.monotonic() + max(0.0, timeout_s)
            events: list[KeyEvent] = []
            while True:
                port = self._open()
                try:
                    chunk = port.read(1)
                    if chunk:
                        chunk += port.read(port.in_waiting or 0)
                except (serial.SerialException, OSError) as exc:
                    self._fail(exc, "读取失败", "read failed")
                if chunk:
                    events += self._take(bytes(chunk))
                if events or time.monotonic() >= deadline:
                    return events

    def _take(self, chunk: bytes) -> list[KeyEvent]:
        decoded = protocol.decode(self._buffer + chunk)
        self._buffer = decoded.rest
        self.rejected += len(decoded.rejected)
        events: list[KeyEvent] = []
        now = self._clock()
        for frame in decoded.frames:
            if frame.address != self.address or frame.command >= 0x80:
                # Another keypad on the bus, or a host frame echoed by a half-duplex adapter.
                continue
            self._last_heard = now
            press = protocol.key_press(frame)
            if press is None:
                continue
            self._write(protocol.encode_ack(self.address, press.sequence))
            first_seen = self._recent.get(press.sequence)
            if first_seen is not None and now - first_seen < REPEAT_WINDOW_S:
                continue  # the keypad did not hear our ack and sent it again
            self._recent[press.sequence] = now
            events.append(KeyEvent(self.address, press.code, key_name(press.code, self.keymap)))
        return events

    def show(self, text: str) -> None:
        """Show ``text`` on the display line (GB2312, cut to fit)."""
        with self._lock:
            self._write(protocol.encode_display(self.address, text, self.display_bytes))

    def beep(self) -> None:
        """Beep once."""
        with self._lock:
            self._write(protocol.encode_beep(self.address))

    def status(self) -> DeviceStatus:
        """Report online when a frame came within ``offline_after_s``; silence is unknown."""
        detail = {"url": self.url, "address": str(self.address)}
        if self._link.last_error and not self._link.is_open:
            error = self._link.last_error
            return DeviceStatus(
                Health.FAULT, False, detail, f"叫号器串口故障：{error}。Keypad port fault: {error}."
            )
        if self._last_heard is None:
            return DeviceStatus(
                Health.UNKNOWN, None, detail, "叫号器尚未应答。The keypad has not answered yet."
            )
        silent_s = self._clock() - self._last_heard
        if silent_s > self.offline_after_s:
            return DeviceStatus(
                Health.FAULT,
                False,
                detail,
                f"叫号器 {silent_s:.0f} 秒无心跳。"
                f"No heartbeat from the keypad for {silent_s:.0f} s.",
            )
        return DeviceStatus(Health.OK, True, detail, "叫号器在线。Keypad online.")

    def close(self) -> None:
        """Close the port."""
        with self._lock:
            self._drop_port()


_FAKE_OPTIONS = frozenset({"type", "address", "keymap"})
_SERIAL_OPTIONS = frozenset(
    {"type", "url", "baudrate", "address", "keymap", "display_bytes", "offline_after_s"}
)


def build_keypad(options: Mapping[str, Any]) -> Keypad:
    """Build the keypad ``options`` describe: ``{"type": "fake"}`` or a serial one."""
    kind = options.get("type")
    allowed = {"fake": _FAKE_OPTIONS, "serial": _SERIAL_OPTIONS}.get(str(kind))
    if allowed is None:
        raise DeviceError(
            f"未知叫号器类型 {kind!r}（可用 fake、serial）。"
            f"Unknown keypad type {kind!r}: use fake or serial."
        )
    for key in options:
        if key not in allowed:
            raise DeviceError(
                f"叫号器配置项 {key!r} 不认识。Unknown keypad option {key!r} for type {kind}; "
                f"known: {', '.join(sorted(allowed))}."
            )
    try:
        keymap = build_keymap(options.get("keymap"))
    except ValueError as exc:
        raise DeviceError(f"叫号器按键表有误：{exc}") from exc
    address = _int_option(options, "address", 1)
    if kind == "fake":
        return FakeKeypad(address=address, keymap=keymap)
    url = options.get("url")
    if not isinstance(url, str) or not url:
        raise DeviceError("串口叫号器需要 url 配置项。A serial keypad needs the option 'url'.")
    return SerialKeypad(
        url,
        address=address,
        baudrate=_int_option(options, "baudrate", DEFAULT_BAUDRATE),
        keymap=keymap,
        display_bytes=_int_option(options, "display_bytes", protocol.DISPLAY_MAX_BYTES),
        offline_after_s=_seconds_option(options, "offline_after_s", OFFLINE_AFTER_S),
    )


def _int_option(options: Mapping[str, Any], key: str, default: int) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DeviceError(
            f"叫号器配置项 {key!r} 须为整数，现为 {value!r}。"
            f"Keypad option {key!r} must be an integer."
        )
    return value


def _seconds_option(options: Mapping[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise DeviceError(
            f"叫号器配置项 {key!r} 须为正数（秒），现为 {value!r}。"
            f"Keypad option {key!r} must be a positive number of seconds."
        )
    return float(value)
