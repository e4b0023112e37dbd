"""Frames of the "SAM" serial protocol that most ID-card readers speak, and the card text.

Pure functions. What is covered, as described by public sources (reader vendors' SDK
notes and open-source drivers; the protocol descends from GA 467):

Command (host -> reader)::

    AA AA AA 96 69 | LEN1 LEN2 | CMD | PARA | DATA… | CHK

Response (reader -> host)::

    AA AA AA 96 69 | LEN1 LEN2 | SW1 SW2 SW3 | DATA… | CHK

- ``LEN1 LEN2``: big-endian count of the bytes after them, checksum included.
- ``CHK``: XOR of every byte between the preamble and the checksum (LEN1 … DATA).
- ``SW3`` is the reader's answer: 0x90 done, 0x9F card found, 0x80 no card, … (see
  ``SW3_MEANINGS``); SW1 and SW2 are 00 00 in every source seen.
- Reading a card: FIND (20 01) -> 9F, SELECT (20 02) -> 90, READ BASE (30 01) -> 90 with
  DATA = text length (2, big-endian) | photo length (2, big-endian) | text | photo.
- Text block (256 bytes, UCS-2 little-endian, fields padded with spaces): name 30,
  sex 2 (GB/T 2261.1 code), nation 4 (GB 3304 code), birth 16 (YYYYMMDD), address 70,
  ID number 36, issuer 30, valid from 16, valid until 16 (a date or 长期), reserved 36.

Not covered: the photo (1024 bytes of WLT data needs the vendor's licensed decoder, and
the hall does not need it), fingerprints, the foreigner's permanent residence card
layout, SAM reset and configuration commands beyond the status query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from devices.idcard.card import IdCard, validate_id_number

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
MAX_LENGTH = 0x0A00  # READ BASE answers 1288 bytes; with fingerprints about 2.3 KB

SW3_OK = 0x90
SW3_CARD_FOUND = 0x9F
SW3_NO_CARD = 0x80

SW3_MEANINGS: dict[int, str] = {
    0x90: "操作成功 / done",
    0x9F: "找到证件 / card found",
    0x80: "未找到证件 / no card on the reader",
    0x81: "选取证件失败 / the card could not be selected",
    0x41: "读证件失败 / reading the card failed",
    0x10: "校验和错 / the reader got a bad checksum",
    0x11: "长度错 / the reader got a bad length",
    0x21: "命令错 / the reader does not know the command",
    0x23: "越权操作 / operation not allowed",
    0x24: "无法识别的错误 / unknown reader error",
    0x31: "证件认证机具失败 / the card did not accept the reader",
    0x32: "机具认证证件失败 / the reader did not accept the card",
    0x33: "信息验证错误 / card data failed verification",
    0x40: "无法识别的卡类型 / not a resident ID card",
    0x47: "SAM 模块不可用 / the reader's SAM module is unavailable",
    0x60: "SAM 模块自检失败 / the reader's SAM module failed its self-test",
    0x66: "SAM 模块未授权 / the reader's SAM module is not authorised",
}

SEX_CODES: dict[str, str] = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

NATIONS: tuple[str, ...] = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜",
    "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳",
    "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",
    "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
    "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔",
    "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)  # fmt: skip
_OTHER_NATIONS = {"97": "其他", "98": "外国血统中国籍人士"}

# (name, bytes) in the order of the 256-byte text block.
TEXT_FIELDS: tuple[tuple[str, int], ...] = (
    ("name", 30),
    ("sex", 2),
    ("nation", 4),
    ("birth", 16),
    ("address", 70),
    ("id_number", 36),
    ("issuer", 30),
    ("valid_from", 16),
    ("valid_until", 16),
    ("reserved", 36),
)
TEXT_BLOCK_BYTES = sum(size for _, size in TEXT_FIELDS)


class SamError(ValueError):
    """A frame or text block that does not follow the protocol."""


@dataclass(frozen=True, slots=True)
class SamResponse:
    """One reader answer, checksum verified."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    @property
    def meaning(self) -> str:
        """Return what SW3 means, for logs and status messages."""
        return SW3_MEANINGS.get(self.sw3, f"未知状态 / unknown status 0x{self.sw3:02X}")


def _xor(data: bytes) -> int:
    check = 0
    for byte in data:
        check ^= byte
    return check


def _frame(body: bytes) -> bytes:
    length = len(body) + 1
    head = length.to_bytes(2, "big") + body
    return PREAMBLE + head + bytes((_xor(head),))


def encode_command(cmd: int, para: int, data: bytes = b"") -> bytes:
    """Return a command frame for the reader."""
    return _frame(bytes((cmd, para)) + data)


def encode_response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """Return a reader answer frame (for simulators and tests)."""
    return _frame(bytes((sw1, sw2, sw3)) + data)


SAM_STATUS = encode_command(0x11, 0xFF)
FIND_CARD = encode_command(0x20, 0x01)
SELECT_CARD = encode_command(0x20, 0x02)
READ_BASE = encode_command(0x30, 0x01)


def decode_response(buffer: bytes) -> tuple[SamResponse | None, bytes]:
    """Return the first whole answer in ``buffer`` and the bytes after it.

    Bytes before the preamble are dropped; an incomplete answer gives ``(None, buffer)``
    from its preamble on. A bad checksum or length raises :class:`SamError`.
    """
    start = buffer.find(PREAMBLE)
    if start < 0:
        # Keep a tail that may be the start of a preamble split across reads.
        keep = next(
            (n for n in range(len(PREAMBLE) - 1, 0, -1) if buffer.endswith(PREAMBLE[:n])), 0
        )
        return None, buffer[len(buffer) - keep :] if keep else b""
    buffer = buffer[start:]
    head = len(PREAMBLE)
    if len(buffer) < head + 2:
        return None, buffer
    length = int.from_bytes(buffer[head : head + 2], "big")
    if not 4 <= length <= MAX_LENGTH:
        raise SamError(f"读卡器应答长度 {length} 不合理。Reader answer length {length} is invalid.")
    end = head + 2 + length
    if len(buffer) < end:
        return None, buffer
    body = buffer[head:end]
    if _xor(body[:-1]) != body[-1]:
        raise SamError("读卡器应答校验和错。Reader answer has a bad checksum.")
    return SamResponse(body[2], body[3], body[4], body[5:-1]), buffer[end:]


def split_base_data(data: bytes) -> tuple[bytes, bytes]:
    """Return (text block, photo) from the DATA of a READ BASE answer."""
    if len(data) < 4:
        raise SamError("读卡数据过短。The card data is too short.")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if len(data) < 4 + text_len + photo_len:
        raise SamError(
            f"读卡数据不完整：应有 {4 + text_len + photo_len} 字节，实得 {len(data)}。"
            f"The card data is incomplete: {len(data)} of {4 + text_len + photo_len} bytes."
        )
    return data[4 : 4 + text_len], data[4 + text_len : 4 + text_len + photo_len]


def text_fields(block: bytes) -> dict[str, str]:
    """Return the raw text of each field of a 256-byte text block, padding removed."""
    if len(block) < TEXT_BLOCK_BYTES:
        raise SamError(
            f"文字信息须为 {TEXT_BLOCK_BYTES} 字节，实为 {len(block)}。"
            f"The text block must be {TEXT_BLOCK_BYTES} bytes, got {len(block)}."
        )
    fields: dict[str, str] = {}
    offset = 0
    for name, size in TEXT_FIELDS:
        raw = block[offset : offset + size]
        offset += size
        # A broken UCS-2 unit must not crash the kiosk; it shows as U+FFFD.
        fields[name] = raw.decode("utf-16-le", errors="replace").rstrip(" \x00")
    return fields


def nation_name(code: str) -> str | None:
    """Return the name of a GB 3304 nation code (``"01"`` -> 汉), or None if unknown."""
    if code in _OTHER_NATIONS:
        return _OTHER_NATIONS[code]
    if code.isdigit() and 1 <= int(code) <= len(NATIONS):
        return NATIONS[int(code) - 1]
    return None


def _card_date(text: str) -> date | None:
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def parse_text_block(block: bytes) -> IdCard:
    """Return the card a 256-byte text block describes; raise SamError when it is unusable."""
    fields = text_fields(block)
    try:
        id_number = validate_id_number(fields["id_number"])
    except ValueError as exc:
        raise SamError(f"证件号码无效：{exc}") from exc
    birth = _card_date(fields["birth"])
    if birth is None:
        raise SamError(f"证件出生日期 {fields['birth']!r} 无效。The card's birth date is invalid.")
    return IdCard(
        name=fields["name"],
        id_number=id_number,
        birth_date=birth,
        sex=SEX_CODES.get(fields["sex"], "未知"),
        address=fields["address"] or None,
        nation=nation_name(fields["nation"]),
        issuer=fields["issuer"] or None,
        valid_from=_card_date(fields["valid_from"]),
        valid_until=_card_date(fields["valid_until"]),  # 长期 -> None
    )


def build_text_block(
    *,
    name: str,
    sex_code: str,
    nation_code: str,
    birth: str,
    address: str,
    id_number: str,
    issuer: str = "",
    valid_from: str = "",
    valid_until: str = "",
) -> bytes:
    """Return a 256-byte text block as a card holds it (for simulators and tests)."""
    values = {
        "name": name,
        "sex": sex_code,
        "nation": nation_code,
        "birth": birth,
        "address": address,
        "id_number": id_number,
        "issuer": issuer,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "reserved": "",
    }
    block = bytearray()
    for field_name, size in TEXT_FIELDS:
        encoded = values[field_name].encode("utf-16-le")
        if len(encoded) > size:
            raise ValueError(f"{field_name} is longer than {size // 2} characters")
        block += encoded + " ".encode("utf-16-le") * ((size - len(encoded)) // 2)
    return bytes(block)


def build_base_data(text_block: bytes, photo: bytes = b"") -> bytes:
    """Return the DATA of a READ BASE answer (for simulators and tests)."""
    return len(text_block).to_bytes(2, "big") + len(photo).to_bytes(2, "big") + text_block + photo
