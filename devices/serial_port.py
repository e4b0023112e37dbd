"""A serial port opened by pyserial URL on first use and reopened after any failure."""

from __future__ import annotations

import contextlib
from typing import Any, NoReturn

import serial

from .base import DeviceError


class SerialPort:
    """The port of one device; a failure closes it, so the next use reopens it.

    ``what_zh``/``what_en`` name the device in the sentences of its errors
    (e.g. "叫号器串口" / "Keypad port").
    """

    def __init__(
        self, url: str, *, baudrate: int, timeout_s: float, what_zh: str, what_en: str
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.what_zh, self.what_en = what_zh, what_en
        self.last_error = ""
        self._port: Any = None

    @property
    def is_open(self) -> bool:
        """Tell whether the port is open now."""
        return self._port is not None

    def open(self) -> Any:
        """Return the open port, opening it first when needed."""
        if self._port is None:
            try:
                self._port = serial.serial_for_url(
                    self.url, baudrate=self.baudrate, timeout=self.timeout_s
                )
            except (serial.SerialException, OSError, ValueError) as exc:
                self.fail(exc, "打不开", "cannot be opened")
        return self._port

    def fail(self, exc: BaseException, zh: str, en: str) -> NoReturn:
        """Close the port so the next use reopens it, and raise a sentence."""
        self.close()
        self.last_error = str(exc) or type(exc).__name__
        raise DeviceError(
            f"{self.what_zh} {self.url} {zh}：{self.last_error}。"
            f"{self.what_en} {self.url} {en}: {self.last_error}."
        ) from exc

    def close(self) -> None:
        """Close the port (a broken one too: the reopen tells what is wrong)."""
        port, self._port = self._port, None
        if port is not None:
            # pyserial's socket:// close() skips closing the socket when shutdown() fails
            # (peer already gone), leaking it; keep a hold on it and close it ourselves.
            sock = getattr(port, "_socket", None)
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()
            if sock is not None:
                sock.close()
