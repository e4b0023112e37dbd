"""Ticket printers: ESC/POS in Chinese with a QR code, status polling, and a shipped fake.

``build_printer(config)`` picks the adapter; ``layout`` holds the pure byte encoders.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devices.base import DeviceError
from devices.printer.adapters import (
    FilePrinter,
    NetworkPrinter,
    Printer,
    SerialPrinter,
    UsbPrinter,
)
from devices.printer.fake import FakePrinter
from devices.printer.profile import PrinterProfile
from devices.printer.ticket import TicketPrint

__all__ = ["FakePrinter", "Printer", "PrinterProfile", "TicketPrint", "build_printer"]

_PROFILE_KEYS = {"encoding", "qr", "mode", "width_dots", "cut", "font_path"}
_TYPE_KEYS: dict[str, tuple[set[str], set[str]]] = {  # type: (required, optional)
    "fake": (set(), {"paper"}),
    "network": ({"host"}, {"port", "timeout_s", "status_timeout_s"}),
    "usb": ({"vendor_id", "product_id"}, {"status_timeout_s"}),
    "serial": ({"url"}, {"baudrate", "status_timeout_s"}),
    "file": ({"path"}, set()),
}


def _bad(key: str, value: object, want: str) -> DeviceError:
    return DeviceError(
        f"打印机配置 {key} 的值 {value!r} 无效，应为{want} / "
        f"invalid printer setting {key}={value!r}"
    )


def _int(options: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = options.get(key, default)
    if isinstance(value, str):
        try:
            return int(value, 0)  # USB ids are written "0x0416"
        except ValueError:
            raise _bad(key, value, "整数") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(key, value, "整数")
    return value


def _float(options: Mapping[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _bad(key, value, "正数（秒）")
    return float(value)


def _str(options: Mapping[str, Any], key: str) -> str:
    value = options.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(key, value, "非空字符串")
    return value


def _profile(options: Mapping[str, Any]) -> PrinterProfile:
    settings = {key: options[key] for key in _PROFILE_KEYS if key in options}
    if "cut" in settings and not isinstance(settings["cut"], bool):
        raise _bad("cut", settings["cut"], " true 或 false")
    if "width_dots" in settings:
        settings["width_dots"] = _int(options, "width_dots")
    if "font_path" in settings:
        settings["font_path"] = _str(options, "font_path")
    return PrinterProfile(**settings)


def build_printer(options: Mapping[str, Any], *, out_dir: Path | None = None) -> Printer:
    """Build the printer a config section describes; unknown or missing keys are named."""
    kind = options.get("type")
    if kind not in _TYPE_KEYS:
        raise DeviceError(
            f"打印机配置 type 的值 {kind!r} 无效，可选 {', '.join(_TYPE_KEYS)} / "
            f"unknown printer type {kind!r}"
        )
    required, optional = _TYPE_KEYS[kind]
    for key in options:
        if key != "type" and key not in required | optional | _PROFILE_KEYS:
            raise DeviceError(f"打印机配置中有未知项 {key} / unknown printer setting {key}")
    for key in sorted(required):
        if key not in options:
            raise DeviceError(f"打印机配置缺少 {key} / printer setting {key} is missing")
    profile = _profile(options)
    timeout = _float(options, "status_timeout_s", 1.0) if kind != "fake" else 1.0
    if kind == "fake":
        printer = FakePrinter(profile, out_dir=out_dir)
        if "paper" in options:
            try:
                printer.paper = options["paper"]
            except ValueError:
                raise _bad("paper", options["paper"], " ok、low、out 或 offline") from None
        return printer
    if kind == "network":
        return NetworkPrinter(
            profile,
            host=_str(options, "host"),
            port=_int(options, "port", 9100),
            timeout_s=_float(options, "timeout_s", 5.0),
            status_timeout_s=timeout,
        )
    if kind == "usb":
        return UsbPrinter(
            profile,
            vendor_id=_int(options, "vendor_id"),
            product_id=_int(options, "product_id"),
            status_timeout_s=timeout,
        )
    if kind == "serial":
        return SerialPrinter(
            profile,
            url=_str(options, "url"),
            baudrate=_int(options, "baudrate", 9600),
            status_timeout_s=timeout,
        )
    return FilePrinter(profile, path=_str(options, "path"))
