"""Text the hall can show: the TV, kiosk and phone fonts have no emoji, the ticket printer's
code page (GB18030 two-byte set) has none either; they would come out as boxes or "?".

``unshowable`` finds such characters (refused at admin input), ``showable`` drops them (for
a visitor's own words, where refusing would lose what they typed). The printer keeps its own
copy of the rule (devices import no app): ``devices/printer/content.py``.
"""

from __future__ import annotations

import re
import unicodedata

# Blocks whose characters are mostly emoji-style pictographs; one stays when the hall's
# fonts and printers have it (it is in the GBK set, e.g. ★ ☆ ♀ ♂).
_PICTOGRAPH_BLOCKS = ((0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x1F000, 0x1FAFF))


def _in_gbk(ch: str) -> bool:
    try:
        ch.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def is_unshowable(ch: str) -> bool:
    """True for an emoji (a pictograph the GBK set lacks, its variation selector or keycap)
    or a control, format, private or unassigned character. Rare CJK characters beyond the
    Basic Multilingual Plane (𠮷) are letters, not emoji: they stay."""
    if ch in "\n\t":
        return False
    category = unicodedata.category(ch)
    if category in ("Cc", "Cf", "Co", "Cs", "Cn"):
        return True
    code = ord(ch)
    if 0xFE00 <= code <= 0xFE0F or code == 0x20E3:
        return True
    if category in ("So", "Sk") and (
        code >= 0x10000 or any(lo <= code <= hi for lo, hi in _PICTOGRAPH_BLOCKS)
    ):
        return not _in_gbk(ch)
    return False


def unshowable(text: str) -> str:
    """The characters of ``text`` the hall cannot show, each once, in order."""
    return "".join(dict.fromkeys(ch for ch in text if is_unshowable(ch)))


def showable(text: str) -> str:
    """``text`` without what the hall cannot show (spaces tidied where a character went)."""
    kept = "".join(ch for ch in text if not is_unshowable(ch))
    return re.sub(" {2,}", " ", kept).strip() if kept != text else text


def refusal(found: str) -> str:
    """The sentence an admin form shows for a refused text; each character is also named by
    its code point, since the admin's own screen may draw it as a box too."""
    found = " ".join(f"{ch} U+{ord(ch):04X}" for ch in found)
    return (
        f"含有大厅屏幕和打印机无法显示的字符（如表情符号）：{found} "
        f"(contains characters the hall's screens and printer cannot show, such as emoji: {found})"
    )
