"""A generic framed text protocol for window strips and hall boards (RS-232/RS-485).

For signs whose controller firmware is ours or configurable ("自定义协议" boards sold
with a protocol sheet). One frame::

    STX   ADDR  CMD   LEN_HI LEN_LO  PAYLOAD...  CRC_LO CRC_HI  ETX
    0x02  1     1     2 (big-endian)  LEN bytes  CRC-16/MODBUS   0x03

- ADDR: sign address 1..254 on the RS-485 bus; 0xFF is broadcast (signs never answer it).
- LEN: payload length before stuffing.
- CRC: CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF) over ADDR..PAYLOAD before
  stuffing, low byte first.
- Byte stuffing: between STX and ETX, any 0x02, 0x03 or 0x10 is sent as 0x10 followed by
  the byte XOR 0x20, so STX and ETX never occur inside a frame and a receiver can resync
  on the next STX after noise.

Commands (host to sign):

- 0x54 'T' TEXT: payload = effect (1) + colour (1) + GB2312 text; 0x0A starts a new line.
  Effects: 0 static, 1 type, 2 scroll left, 3 scroll up. Colours: 1 red, 2 green, 3 yellow
  (bit 0 red, bit 1 green, as on two-colour modules).
- 0x43 'C' CLEAR: empty payload.
- 0x53 'S' STATUS: empty payload; the sign answers ACK when it is alive.

Command codes are printable ASCII so a serial monitor shows them and they never need
stuffing; payload bytes (effect 2/3, colour 2/3, CRC) are stuffed like any other.

Replies (sign to host), same framing and the sign's own address: 0x06 ACK (empty payload)
or 0x15 NAK (payload = one error code: 1 bad checksum, 2 unknown command, 3 text too long).
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.base import DeviceError
from devices.framing import crc16_modbus, stuff
from devices.led.charset import DEFAULT_SUBSTITUTE, from_gb2312, to_gb2312
from devices.led.frame import Color, Effect, FrameError

STX = 0x02
ETX = 0x03
DLE = 0x10
BROADCAST = 0xFF

CMD_TEXT = 0x54  # 'T'
CMD_CLEAR = 0x43  # 'C'
CMD_STATUS = 0x53  # 'S'
CMD_ACK = 0x06
CMD_NAK = 0x15

MAX_PAYLOAD = 0xFFFF

EFFECT_CODES = {Effect.STATIC: 0, Effect.TYPE: 1, Effect.SCROLL_LEFT: 2, Effect.SCROLL_UP: 3}
COLOR_CODES = {Color.RED: 1, Color.GREEN: 2, Color.YELLOW: 3}
NAK_REASONS = {
    1: "校验错误 / checksum error",
    2: "未知命令 / unknown command",
    3: "文字过长 / text too long",
}

_SPECIAL = frozenset({STX, ETX, DLE})


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame."""

    address: int
    command: int
    payload: bytes

    @property
    def text(self) -> str:
        """The text of a TEXT frame (after the effect and colour bytes)."""
        if self.command != CMD_TEXT:
            raise FrameError(f"不是文字帧 / not a text frame (command 0x{self.command:02X})")
        return from_gb2312(self.payload[2:])


def encode_frame(address: int, command: int, payload: bytes = b"") -> bytes:
    """Frame ``payload`` for the sign at ``address``: header, CRC, stuffing, STX/ETX."""
    if not 0 <= address <= 0xFF:
        raise DeviceError(f"LED 屏地址超出范围：{address} / LED address out of range: {address}")
    if len(payload) > MAX_PAYLOAD:
        raise DeviceError(
            f"LED 屏文字过长：{len(payload)} 字节 / LED text too long: {len(payload)} bytes"
        )
    body = bytes([address, command]) + len(payload).to_bytes(2, "big") + payload
    body += crc16_modbus(body).to_bytes(2, "little")
    return bytes([STX]) + stuff(body, _SPECIAL, DLE) + bytes([ETX])


def encode_text(
    address: int,
    text: str,
    *,
    effect: Effect = Effect.STATIC,
    color: Color = Color.RED,
    substitute: str = DEFAULT_SUBSTITUTE,
) -> bytes:
    """Encode a TEXT frame; characters outside GB2312 are substituted or dropped."""
    payload = bytes([EFFECT_CODES[effect], COLOR_CODES[color]])
    return encode_frame(address, CMD_TEXT, payload + to_gb2312(text, substitute=substitute))


def encode_lines(
    address: int,
    lines: list[str],
    *,
    effect: Effect = Effect.STATIC,
    color: Color = Color.RED,
    substitute: str = DEFAULT_SUBSTITUTE,
) -> bytes:
    """Encode a TEXT frame with one line per item (hall boards)."""
    flat = [line.replace("\n", " ") for line in lines]
    return encode_text(address, "\n".join(flat), effect=effect, color=color, substitute=substitute)


def encode_clear(address: int) -> bytes:
    """Encode a CLEAR frame."""
    return encode_frame(address, CMD_CLEAR)


def encode_status(address: int) -> bytes:
    """Encode a STATUS query; a live sign answers ACK."""
    return encode_frame(address, CMD_STATUS)


def encode_ack(address: int) -> bytes:
    """Encode the ACK a sign sends (used by fakes and tests)."""
    return encode_frame(address, CMD_ACK)


def encode_nak(address: int, reason: int) -> bytes:
    """Encode the NAK a sign sends (used by fakes and tests)."""
    return encode_frame(address, CMD_NAK, bytes([reason]))


def decode_frame(data: bytes) -> Frame:
    """Decode one frame, checking framing, length and CRC; raise FrameError if bad."""
    start = data.find(STX)
    if start < 0:
        raise FrameError("没有帧头 / no frame start (STX) found")
    end = data.find(ETX, start + 1)
    if end < 0:
        raise FrameError("帧不完整 / frame truncated: no ETX")
    body = bytearray()
    escaped = False
    for byte in data[start + 1 : end]:
        if escaped:
            body.append(byte ^ 0x20)
            escaped = False
        elif byte == DLE:
            escaped = True
        elif byte == STX:
            raise FrameError("帧内出现帧头 / STX inside a frame")
        else:
            body.append(byte)
    if escaped or len(body) < 6:
        raise FrameError("帧过短 / frame too short")
    length = int.from_bytes(body[2:4], "big")
    if length != len(body) - 6:
        raise FrameError(
            f"帧长度不符 / frame length mismatch: header {length}, payload {len(body) - 6}"
        )
    expected = crc16_modbus(bytes(body[:-2]))
    received = int.from_bytes(body[-2:], "little")
    if expected != received:
        raise FrameError(
            f"帧校验错误 / frame checksum mismatch: got {received:04X}, expected {expected:04X}"
        )
    return Frame(address=body[0], command=body[1], payload=bytes(body[4:-2]))


def check_reply(reply: bytes, address: int) -> None:
    """Raise DeviceError unless ``reply`` is an ACK from ``address``."""
    frame = decode_frame(reply)
    if frame.address != address:
        raise FrameError(f"应答地址不符 / reply from address {frame.address}, expected {address}")
    if frame.command == CMD_ACK:
        return
    if frame.command == CMD_NAK:
        code = frame.payload[0] if frame.payload else 0
        reason = NAK_REASONS.get(code, f"错误码 {code} / error code {code}")
        raise DeviceError(f"LED 屏拒绝了命令：{reason} / LED sign refused the command")
    raise FrameError(f"意外的应答 / unexpected reply command 0x{frame.command:02X}")
