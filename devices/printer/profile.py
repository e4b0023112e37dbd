"""How one printer model wants its tickets: encoding, QR, text or picture, paper width."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from devices.base import DeviceError

Encoding = Literal["gb18030", "gbk", "big5"]
QrMode = Literal["native", "image"]
PrintMode = Literal["text", "image"]

WIDTH_80_MM = 576
WIDTH_58_MM = 384
FONT_A_DOTS = 12  # Font A is 12 x 24 dots: a Chinese character takes two columns


@dataclass(frozen=True)
class PrinterProfile:
    """A printer model's needs; the defaults fit a common 80 mm GB18030 kiosk printer."""

    encoding: Encoding = "gb18030"
    qr: QrMode = "native"
    mode: PrintMode = "text"
    width_dots: int = WIDTH_80_MM
    cut: bool = True
    font_path: str | None = None  # image mode: a CJK font file; None = search the system

    def __post_init__(self) -> None:
        """Refuse values no printer takes, naming the key."""
        for key, value, allowed in (
            ("encoding", self.encoding, get_args(Encoding)),
            ("qr", self.qr, get_args(QrMode)),
            ("mode", self.mode, get_args(PrintMode)),
        ):
            if value not in allowed:
                raise DeviceError(
                    f"打印机配置 {key} 的值 {value!r} 无效，可选 {', '.join(allowed)} / "
                    f"invalid printer setting {key}={value!r}"
                )
        if (
            isinstance(self.width_dots, bool)
            or not isinstance(self.width_dots, int)
            or not 192 <= self.width_dots <= 832
            or self.width_dots % 8
        ):
            raise DeviceError(
                f"打印机配置 width_dots 的值 {self.width_dots!r} 无效（80 mm 用 576，58 mm 用 384）"
                f" / invalid printer setting width_dots={self.width_dots!r}"
            )

    @property
    def columns(self) -> int:
        """Return how many Font A columns fit across the paper (48 at 80 mm, 32 at 58 mm)."""
        return self.width_dots // FONT_A_DOTS

    @property
    def number_scale(self) -> int:
        """Return the size multiplier of the ticket number: as large as the paper allows."""
        return 4 if self.width_dots >= WIDTH_80_MM else 3

    @property
    def qr_module_dots(self) -> int:
        """Return the dots per QR module: big enough for a phone at arm's length."""
        return 6 if self.width_dots >= WIDTH_80_MM else 4
