"""Move frames to a sign over a port opened by pyserial URL; no protocol knowledge here.

URLs: ``/dev/ttyUSB0`` (USB-RS485 adapter), ``socket://10.0.0.7:5005`` (RS-485-to-Ethernet
converter or an Ethernet controller), ``loop://`` (tests). A pty slave name works too.
"""

from __future__ import annotations

import contextlib
import threading

import serial

from devices.base import DeviceError


class SerialTransport:
    """A port opened on first use and reopened after any failure."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 9600,
        timeout_s: float = 1.0,
        write_timeout_s: float = 2.0,
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.write_timeout_s = write_timeout_s
        self._port: serial.SerialBase | None = None
        self._lock = threading.Lock()  # one frame on the bus at a time

    @property
    def is_open(self) -> bool:
        """Whether the port is open now."""
        return self._port is not None

    def send(self, frame: bytes, *, reply_end: int | None = None) -> bytes | None:
        """Write ``frame``; when ``reply_end`` is given, read a reply up to that byte."""
        with self._lock:
            port = self._open()
            try:
                port.reset_input_buffer()  # a stale reply must not answer this frame
                port.write(frame)
                port.flush()
                if reply_end is None:
                    return None
                reply = port.read_until(bytes([reply_end]))
            except (serial.SerialException, OSError) as exc:
                self._drop()
                raise DeviceError(
                    f"LED 屏通信失败（{self.url}）：{exc} / LED sign I/O failed on {self.url}"
                ) from exc
            if not reply.endswith(bytes([reply_end])):
                raise DeviceError(
                    f"LED 屏 {self.timeout_s:g} 秒内无应答（{self.url}） / "
                    f"no answer from the LED sign on {self.url} within {self.timeout_s:g} s"
                )
            return bytes(reply)

    def close(self) -> None:
        """Close the port; the next send reopens it."""
        with self._lock:
            self._drop()

    def _open(self) -> serial.SerialBase:
        if self._port is not None:
            return self._port
        try:
            port = serial.serial_for_url(
                self.url,
                baudrate=self.baudrate,
                timeout=self.timeout_s,
                write_timeout=self.write_timeout_s,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceError(
                f"无法打开 LED 屏端口 {self.url}：{exc} / cannot open LED sign port {self.url}"
            ) from exc
        self._port = port
        return port

    def _drop(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            # Already broken; the next send opens a fresh one.
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()
