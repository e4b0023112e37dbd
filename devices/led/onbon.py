"""Onbon (上海仰邦) BX-5K / BX-5MK / BX-6K font-card controllers: real-time text.

Followed: Onbon's own "BX-5K/6K 通讯协议用户版本" v1.4 (2021-02-28), published by the vendor
at github.com/onbonlab/onbonlab.github.io (onbon-docs/docs/zh/k/potocol.md): chapter 3
(framing, escaping), 4 (packet header), 5.1 (request/ACK/NACK), 6 (CmdError), 8.2.1
(A3 06 send real-time area data), 8.7 (A2 00 PING), 8.16 (A3 10 clear screen), 9.1 (area
data), 11.1 (text escapes) and the appendix (CRC16). The tests replay the document's
example frames byte for byte.

Subset implemented: A3 06 with one dynamic area of text, no voice (SoundMode 0), no
extension bytes (ExtendParaLen 0), optional ``\\F`` font and ``\\C`` colour escapes and
``\\n`` line breaks; A2 00 PING; A3 10 clear; decoding of any frame and of ACK/NACK.
Program files, special dynamic areas, BarCode addressing and sum/no checksum modes are not.

Frame (PHY0)::

    0xA5 x 8 | escape(PHY1) | 0x5A
    PHY1 = header (14) | data (N) | CRC16 (2, LSB first, over header + data, unescaped)
    header = DstAddr (2) SrcAddr (2, 0x8000) Reserved (3) BarCodeOption (1) CheckMode (1)
             DisplayMode (1) DeviceType (1, 0xFE any) ProtocolVersion (1, 0x02) DataLen (2)

Escaping inside PHY1: A5 -> A6 02, A6 -> A6 01, 5A -> 5B 02, 5B -> 5B 01.
CRC16: polynomial x^16 + x^15 + x^2 + 1, reflected, initial value 0 (CRC-16/ARC).
All multi-byte numbers are little-endian.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from devices import framing
from devices.base import DeviceError
from devices.led.charset import DEFAULT_SUBSTITUTE, to_gb2312
from devices.led.frame import Color, Effect, FrameError

FRAME_START = 0xA5
FRAME_END = 0x5A
HEADER_RUN = bytes([FRAME_START]) * 8
SOURCE_ADDRESS = 0x8000  # PC client software, chapter 4
DEVICE_ANY = 0xFE
PROTOCOL_VERSION = 0x02
BROADCAST_NO_REPLY = 0xFFFF
BROADCAST_REPLY = 0xFFFE

PIXEL_UNITS = 0x8000  # high bit of AreaX/AreaWidth: the value is in pixels, not bytes

RESPONSE_REQUIRED = 0x01
RESPONSE_NONE = 0x02

DISPLAY_MODES = {
    Effect.STATIC: 0x01,
    Effect.TYPE: 0x02,
    Effect.SCROLL_LEFT: 0x03,
    Effect.SCROLL_UP: 0x05,
}
COLOR_ESCAPES = {Color.RED: b"\\C1", Color.GREEN: b"\\C2", Color.YELLOW: b"\\C3"}
LINE_BREAK = b"\\n"

CMD_ERRORS = {
    1: "命令分组错误 / command group error",
    2: "命令不存在 / command not found",
    3: "控制器忙 / controller busy",
    4: "存储空间不足 / out of memory",
    5: "校验错误 / CRC16 checksum error",
    12: "字库不存在 / font library not found",
    13: "控制器型号不符 / firmware type error",
}

_ESCAPES = {0xA5: b"\xa6\x02", 0xA6: b"\xa6\x01", 0x5A: b"\x5b\x02", 0x5B: b"\x5b\x01"}
_UNESCAPES = {(0xA6, 0x02): 0xA5, (0xA6, 0x01): 0xA6, (0x5B, 0x02): 0x5A, (0x5B, 0x01): 0x5B}


@dataclass(frozen=True, slots=True)
class DynamicArea:
    """Geometry and behaviour of one dynamic area (chapter 9.1); positions in pixels."""

    width_px: int = 128
    height_px: int = 32
    x_px: int = 0
    y_px: int = 0
    area_id: int = 0
    line_spacing: int = 0
    run_mode: int = 0  # 0 = loop the area's data
    timeout_s: int = 0
    alignment: int = 0x00  # bit1..0 left/right/centre, bit3..2 top/bottom/middle
    single_line: bool = False
    auto_wrap: bool = False
    effect: Effect = Effect.STATIC
    exit_mode: int = 0
    speed: int = 0x02  # 0x00 fastest .. 0x18 slowest
    stay_half_s: int = 0x0A  # stay time in 0.5 s units

    def encode(self, data: bytes) -> bytes:
        """Return the area data block (area header + display data)."""
        return (
            bytes([0x00])  # AreaType
            + _u16(PIXEL_UNITS | self.x_px)
            + _u16(self.y_px)
            + _u16(PIXEL_UNITS | self.width_px)
            + _u16(self.height_px)
            + bytes([self.area_id, self.line_spacing, self.run_mode])
            + _u16(self.timeout_s)
            + bytes([0x00, 0x00])  # SoundMode 0 (no voice), ExtendParaLen 0
            + bytes([self.alignment])
            + bytes([0x01 if self.single_line else 0x02, 0x02 if self.auto_wrap else 0x01])
            + bytes([DISPLAY_MODES[self.effect], self.exit_mode, self.speed, self.stay_half_s])
            + len(data).to_bytes(4, "little")
            + data
        )


@dataclass(frozen=True, slots=True)
class Packet:
    """One decoded frame: addresses, device type and the data field."""

    destination: int
    source: int
    device_type: int
    data: bytes


def crc16(data: bytes) -> int:
    """Return the Onbon CRC16 (CRC-16/ARC) of ``data``."""
    return framing.crc16(data, 0)


def encode_packet(
    address: int, data: bytes, *, device_type: int = DEVICE_ANY, source: int = SOURCE_ADDRESS
) -> bytes:
    """Wrap a data field for the controller at ``address`` into a complete frame."""
    if not 0 <= address <= 0xFFFF:
        raise DeviceError(f"LED 屏地址超出范围：{address} / LED address out of range: {address}")
    header = (
        _u16(address)
        + _u16(source)
        + bytes(3)  # Reserved
        + bytes([0x00, 0x00, 0x00])  # BarCodeOption off, CheckMode CRC16, DisplayMode normal
        + bytes([device_type, PROTOCOL_VERSION])
        + _u16(len(data))
    )
    phy1 = header + data
    phy1 += _u16(crc16(phy1))
    escaped = b"".join(_ESCAPES.get(byte, bytes([byte])) for byte in phy1)
    return HEADER_RUN + escaped + bytes([FRAME_END])


def encode_area_data(
    address: int,
    area: DynamicArea,
    data: bytes,
    *,
    response: bool = True,
    clear_area: bool = False,
    device_type: int = DEVICE_ANY,
) -> bytes:
    """Encode command A3 06 (send real-time area data) for one area."""
    block = area.encode(data)
    command = (
        bytes([0xA3, 0x06, RESPONSE_REQUIRED if response else RESPONSE_NONE])
        + bytes([0x01 if clear_area else 0x00, 0x00])  # ProcessMode, Reserved
        + bytes([0x00, 0x01])  # DeleteAreaNum 0 (no ids follow), AreaNum 1
        + _u16(len(block))
        + block
    )
    return encode_packet(address, command, device_type=device_type)


def text_data(
    lines: list[str],
    *,
    color: Color | None = Color.RED,
    font: str | None = None,
    substitute: str = DEFAULT_SUBSTITUTE,
) -> bytes:
    """Return display data: optional font and colour escapes, then GB2312 lines."""
    # A backslash typed by staff would start a controller escape; show a full-width one.
    encoded = [
        to_gb2312(line.replace("\\", "＼").replace("\n", " "), substitute=substitute)
        for line in lines
    ]
    prefix = b""
    if font is not None:
        prefix += b"\\F" + font.encode("ascii")
    if color is not None:
        prefix += COLOR_ESCAPES[color]
    return prefix + LINE_BREAK.join(encoded)


def encode_text(
    address: int,
    text: str,
    *,
    effect: Effect = Effect.STATIC,
    color: Color = Color.RED,
    area: DynamicArea | None = None,
    font: str | None = None,
    response: bool = True,
    substitute: str = DEFAULT_SUBSTITUTE,
) -> bytes:
    """Encode real-time text for the whole dynamic area (lines split on ``\\n``)."""
    lines = text.split("\n")
    shaped = replace(area or DynamicArea(), effect=effect, single_line=len(lines) == 1)
    data = text_data(lines, color=color, font=font, substitute=substitute)
    return encode_area_data(address, shaped, data, response=response)


def encode_ping(address: int) -> bytes:
    """Encode command A2 00 (PING); the controller answers ACK."""
    return encode_packet(address, bytes([0xA2, 0x00, RESPONSE_REQUIRED, 0x00, 0x00]))


def encode_clear(address: int, *, response: bool = True) -> bytes:
    """Encode command A3 10 (clear screen)."""
    flag = RESPONSE_REQUIRED if response else RESPONSE_NONE
    return encode_packet(address, bytes([0xA3, 0x10, flag, 0x00, 0x00]))


def encode_ack(address: int, *, error: int = 0) -> bytes:
    """Encode the controller's ACK (error 0) or NACK (used by fakes and tests)."""
    data = bytes([0xA0, 0x00 if error == 0 else 0x01, error, 0x00, 0x00])
    return encode_packet(SOURCE_ADDRESS, data, source=address)


def decode_frame(frame: bytes) -> Packet:
    """Decode one frame, checking framing, length and CRC16; raise FrameError if bad."""
    start = frame.find(FRAME_START)
    if start < 0:
        raise FrameError("没有帧头 / no frame start (0xA5) found")
    while start < len(frame) and frame[start] == FRAME_START:
        start += 1  # any run of 0xA5 is the header (chapter 3, item 1)
    end = frame.find(FRAME_END, start)
    if end < 0:
        raise FrameError("帧不完整 / frame truncated: no 0x5A")
    phy1 = bytearray()
    raw = frame[start:end]
    index = 0
    while index < len(raw):
        byte = raw[index]
        if byte in (0xA6, 0x5B):
            pair = (byte, raw[index + 1]) if index + 1 < len(raw) else (byte, -1)
            if pair not in _UNESCAPES:
                raise FrameError(f"转义错误 / bad escape at byte {index}")
            phy1.append(_UNESCAPES[pair])
            index += 2
        else:
            phy1.append(byte)
            index += 1
    if len(phy1) < 16:
        raise FrameError("帧过短 / frame too short")
    length = int.from_bytes(phy1[12:14], "little")
    if length != len(phy1) - 16:
        raise FrameError(
            f"帧长度不符 / frame length mismatch: header {length}, data {len(phy1) - 16}"
        )
    expected = crc16(bytes(phy1[:-2]))
    received = int.from_bytes(phy1[-2:], "little")
    if expected != received:
        raise FrameError(
            f"帧校验错误 / frame checksum mismatch: got {received:04X}, expected {expected:04X}"
        )
    return Packet(
        destination=int.from_bytes(phy1[0:2], "little"),
        source=int.from_bytes(phy1[2:4], "little"),
        device_type=phy1[10],
        data=bytes(phy1[14:-2]),
    )


def check_reply(reply: bytes, address: int) -> None:
    """Raise DeviceError unless ``reply`` is an ACK (chapter 7)."""
    packet = decode_frame(reply)
    if packet.source != address:
        raise FrameError(f"应答地址不符 / reply from address {packet.source}, expected {address}")
    data = packet.data
    if len(data) < 3 or data[0] != 0xA0:
        raise FrameError(f"意外的应答 / unexpected reply {data[:2].hex()}")
    if data[1] == 0x00 and data[2] == 0:
        return
    reason = CMD_ERRORS.get(data[2], f"错误码 {data[2]} / error code {data[2]}")
    raise DeviceError(f"LED 控制器拒绝了命令：{reason} / LED controller refused the command")


def _u16(value: int) -> bytes:
    return value.to_bytes(2, "little")
