"""Which clips make up a call announcement: pure, no audio here.

"请 A零一二 号到 3 号窗口办理": the ticket number is read character by character (letters
by their letter name, digits one by one: "A012" -> A 零 一 二), the window number as a
Chinese number. Window numbers 1..999 are read the way hall staff say them:

- 1..9 -> 一 .. 九 (2 is 二, never 两: "二号窗口")
- 10..19 -> 十, 十一 .. 十九 (no leading 一)
- 20..99 -> 二十, 二十三 ...
- 100..999 -> 一百, 一百零五 (零 for an empty tens place), 一百一十 / 一百一十五 (一十 after
  a hundred), 二百 (not 两百), 九百九十九

Hence the bank needs 百 besides 十 and the digits.

In a rush the TV reads a call once (``phrase``) or, when the backlog would otherwise run
late, in its short form (``brief_phrase``: "A零一二 到 三 号窗口"), after one chime per batch.

A window on another floor than the screen is read with its floor before the window
("请 D零零一 号到 二 楼 十六 号窗口办理"): the floor as a Chinese number (1..999, read like a
window number), then 楼. Floors below 1 (basements) are not read.
"""

from __future__ import annotations

CHIME = "chime"
PLEASE = "请"
NUMBER_SIGN = "号"
GO_TO = "到"
WINDOW = "窗口"
HANDLE = "办理"
TEN = "十"
HUNDRED = "百"
FLOOR = "楼"
DIGITS = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")
LETTERS = tuple(chr(code) for code in range(ord("A"), ord("Z") + 1))

WORDS = (PLEASE, NUMBER_SIGN, GO_TO, WINDOW, HANDLE, TEN, HUNDRED, FLOOR)
ALL_CLIPS = (CHIME, *WORDS, *DIGITS, *LETTERS)

MAX_WINDOW = 999


def window_words(window: int) -> list[str]:
    """Return the clips reading ``window`` (1..999) as a Chinese number."""
    if not 1 <= window <= MAX_WINDOW:
        raise ValueError(f"window number must be 1..{MAX_WINDOW}, got {window}")
    hundreds, rest = divmod(window, 100)
    tens, ones = divmod(rest, 10)
    words: list[str] = []
    if hundreds:
        words += [DIGITS[hundreds], HUNDRED]
        if tens:
            words += [DIGITS[tens], TEN]
        elif ones:
            words.append(DIGITS[0])
    elif tens:
        if tens > 1:
            words.append(DIGITS[tens])
        words.append(TEN)
    if ones:
        words.append(DIGITS[ones])
    return words


def ticket_words(number: str) -> list[str]:
    """Return the clips reading a ticket number character by character."""
    words: list[str] = []
    for char in number.strip().upper():
        if char.isascii() and char.isdigit():
            words.append(DIGITS[int(char)])
        elif char in LETTERS:
            words.append(char)
        else:
            raise ValueError(f"ticket number may hold only A-Z and 0-9, got {number!r}")
    if not words:
        raise ValueError("ticket number is empty")
    return words


def floor_words(floor: int | None) -> list[str]:
    """Return the clips reading a floor ("二 楼"), or nothing for no floor or a basement."""
    if floor is None or floor < 1:
        return []
    return [*window_words(floor), FLOOR]


def phrase(number: str, window: int, floor: int | None = None) -> list[str]:
    """Return one reading of the call, without the chime; ``floor`` only when it is said."""
    return [
        PLEASE,
        *ticket_words(number),
        NUMBER_SIGN,
        GO_TO,
        *floor_words(floor),
        *window_words(window),
        NUMBER_SIGN,
        WINDOW,
        HANDLE,
    ]


def brief_phrase(number: str, window: int, floor: int | None = None) -> list[str]:
    """Return the short reading for a backlog: "A零一二 到 [二 楼] 三 号窗口" (no 请, no 办理)."""
    return [
        *ticket_words(number),
        GO_TO,
        *floor_words(floor),
        *window_words(window),
        NUMBER_SIGN,
        WINDOW,
    ]


def clip_sequence(
    number: str, window: int, *, chime: bool = True, repeat: int = 1, floor: int | None = None
) -> list[str]:
    """Return the clip names of a call: the chime once, then the phrase ``repeat`` times."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    return ([CHIME] if chime else []) + phrase(number, window, floor) * repeat
