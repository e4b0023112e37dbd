"""GB2312 text for LED controllers: what the sign cannot draw is replaced, never an error.

LED controllers carry a GB2312 font only (6763 simplified characters, ASCII, full-width
punctuation). Text from the hall (service names, notices typed by staff) may contain
traditional or rare characters and emoji; a sign must still show the rest of the line.
"""

from __future__ import annotations

import unicodedata

DEFAULT_SUBSTITUTE = "?"

# Categories with nothing to draw on an LED: emoji and symbols outside GB2312, variation
# selectors and joiners (emoji sequences), private use and unassigned code points.
_DROPPED_CATEGORIES = frozenset({"So", "Sk", "Mn", "Me", "Cf", "Co", "Cs", "Cn"})


def to_gb2312(text: str, *, substitute: str = DEFAULT_SUBSTITUTE) -> bytes:
    """Encode ``text`` as GB2312, replacing characters the sign has no glyph for.

    A character outside GB2312 becomes ``substitute`` (itself GB2312) when it is a letter,
    digit or punctuation (a traditional or rare character), and is dropped when it is an
    emoji, symbol or invisible mark. Control characters other than ``\\n`` are dropped.
    """
    fallback = substitute.encode("gb2312")  # raises at once on a bad configuration
    out = bytearray()
    for char in text:
        if char == "\n":
            out += b"\n"
            continue
        if unicodedata.category(char) == "Cc":
            continue
        try:
            out += char.encode("gb2312")
        except UnicodeEncodeError:
            if unicodedata.category(char) not in _DROPPED_CATEGORIES:
                out += fallback
    return bytes(out)


def from_gb2312(data: bytes) -> str:
    """Decode GB2312 bytes from a frame (for fakes, tests and logs)."""
    return data.decode("gb2312", errors="replace")
