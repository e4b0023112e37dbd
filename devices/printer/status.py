"""Read a printer's DLE EOT answers as a DeviceStatus: pure, no I/O."""

from __future__ import annotations

from devices.base import DeviceStatus, Health

ASK_ONLINE = b"\x10\x04\x01"  # DLE EOT 1: printer status
ASK_PAPER = b"\x10\x04\x04"  # DLE EOT 4: roll paper sensor

# Every DLE EOT answer has bit 1 and bit 4 set, bits 0 and 7 clear: anything else is noise.
_FIXED_MASK = 0x93
_FIXED_BITS = 0x12
OFFLINE_BIT = 0x08  # DLE EOT 1, bit 3
PAPER_NEAR_END_BITS = 0x0C  # DLE EOT 4, bits 2-3
PAPER_END_BITS = 0x60  # DLE EOT 4, bits 5-6

# What a healthy / worried printer answers (fake printers send exactly these).
REPLY_ONLINE = 0x12
REPLY_OFFLINE = 0x1A
REPLY_PAPER_OK = 0x12
REPLY_PAPER_LOW = 0x1E
REPLY_PAPER_OUT = 0x7E

MESSAGES = {
    "ok": "打印机正常 / Printer ready",
    "low": "打印机纸将用尽，请及时换纸 / Printer paper low",
    "out": "打印机缺纸 / Printer out of paper",
    "offline": "打印机离线（可能开盖或故障） / Printer offline (cover open or error)",
    "silent": "打印机无响应 / Printer not responding",
    "paper_unknown": "打印机未报告纸张状态 / Printer did not report its paper",
}


def is_reply(value: int | None) -> bool:
    """Tell whether ``value`` looks like a DLE EOT answer at all."""
    return value is not None and value & _FIXED_MASK == _FIXED_BITS


def paper_state(paper_reply: int | None) -> str | None:
    """Return "ok", "low" or "out" from a DLE EOT 4 answer, None when there is none."""
    if paper_reply is None or not is_reply(paper_reply):
        return None
    if paper_reply & PAPER_END_BITS:
        return "out"
    if paper_reply & PAPER_NEAR_END_BITS:
        return "low"
    return "ok"


def status_from_replies(online_reply: int | None, paper_reply: int | None) -> DeviceStatus:
    """Map the two answers (None = none came) to what the hall is told; silence is UNKNOWN."""
    if online_reply is None or not is_reply(online_reply):
        return DeviceStatus(Health.UNKNOWN, None, {}, MESSAGES["silent"])
    online = not online_reply & OFFLINE_BIT
    paper = paper_state(paper_reply)
    detail = {"paper": paper or "unknown"}
    # Paper first: most printers also go offline when the roll ends, and "缺纸" says what to do.
    if paper == "out":
        return DeviceStatus(Health.FAULT, online, detail, MESSAGES["out"])
    if not online:
        return DeviceStatus(Health.FAULT, False, detail, MESSAGES["offline"])
    if paper is None:
        return DeviceStatus(Health.UNKNOWN, True, detail, MESSAGES["paper_unknown"])
    if paper == "low":
        return DeviceStatus(Health.WARNING, True, detail, MESSAGES["low"])
    return DeviceStatus(Health.OK, True, detail, MESSAGES["ok"])
