"""Map keypad key codes to window actions, and turn key strokes into intents.

Key names are the words of the hall API: a window action key is named after
``POST /windows/{n}/{action}`` (``call-next``, ``recall``, ``start``, ``finish``,
``no-show``, ``pause``, ``resume``, ``hold``, ``transfer``). The other names are
``0``..``9``, ``enter`` (确认), ``clear`` (清除), ``prefix`` (业务/字母 key) and
``score-1``..``score-5`` (evaluator keys, 非常不满意 = 1 … 非常满意 = 5).

Default codes (what the keypad firmware sends): digits are their ASCII codes
0x30..0x39, ``enter`` 0x0D, ``clear`` 0x08, ``prefix`` 0x2A (``*``), actions 0x41..0x49
in the order above, evaluator keys 0x61..0x65 for scores 1..5. A site overrides any
of them with ``options["keymap"]``: ``{"0x4A": "call-next", "66": "recall"}``.

特呼 (call a specific number) with :class:`KeyBuffer`: press ``prefix`` to choose the
ticket letter (each press moves to the next prefix the window serves: A, B, C, A, …;
without it the first prefix is used), type the digits, press ``enter``:
``prefix 1 2 enter`` -> ``Intent("call", "A012")``. Digits followed by ``transfer``
transfer to that window number: ``5 transfer`` -> ``Intent("transfer", "5")``.
Any other action key drops a half-typed number and acts at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

WINDOW_ACTIONS: tuple[str, ...] = (
    "call-next",
    "recall",
    "start",
    "finish",
    "no-show",
    "pause",
    "resume",
    "hold",
    "transfer",
)
DIGITS: tuple[str, ...] = tuple("0123456789")
SCORE_KEYS: tuple[str, ...] = tuple(f"score-{n}" for n in range(1, 6))
ENTRY_KEYS: tuple[str, ...] = ("enter", "clear", "prefix")
KEY_NAMES: frozenset[str] = frozenset(WINDOW_ACTIONS + DIGITS + SCORE_KEYS + ENTRY_KEYS)

SCORE_LABELS: Mapping[int, str] = {
    5: "非常满意",
    4: "满意",
    3: "基本满意",
    2: "不满意",
    1: "非常不满意",
}

DEFAULT_KEYMAP: Mapping[int, str] = {
    **{0x30 + n: str(n) for n in range(10)},
    0x0D: "enter",
    0x08: "clear",
    0x2A: "prefix",
    **{0x41 + i: action for i, action in enumerate(WINDOW_ACTIONS)},
    **{0x61 + i: key for i, key in enumerate(SCORE_KEYS)},
}


class Intent(NamedTuple):
    """What the staff (or visitor) asked for: an API action and its argument."""

    action: str
    argument: str | None = None


def parse_key_code(code: int | str) -> int:
    """Return a key code given as an int, a decimal string or a ``0x`` hex string."""
    if isinstance(code, bool):
        raise ValueError(f"键码无效 / invalid key code {code!r}")
    try:
        value = code if isinstance(code, int) else int(code.strip(), 0)
    except ValueError:
        raise ValueError(
            f"键码无效 / invalid key code {code!r}: use 0..255, e.g. 65 or 0x41"
        ) from None
    if not 0 <= value <= 0xFF:
        raise ValueError(f"键码须在 0..255 之间 / key code {code!r} is outside 0..255")
    return value


def build_keymap(overrides: Mapping[int | str, str] | None = None) -> dict[int, str]:
    """Return the default keymap with site ``overrides`` applied and checked."""
    keymap = dict(DEFAULT_KEYMAP)
    for raw_code, name in (overrides or {}).items():
        code = parse_key_code(raw_code)
        if name not in KEY_NAMES:
            raise ValueError(
                f"未知按键名 / unknown key name {name!r} for code {raw_code!r}; "
                f"use one of: {', '.join(sorted(KEY_NAMES))}"
            )
        keymap[code] = name
    return keymap


def key_name(code: int, keymap: Mapping[int, str] = DEFAULT_KEYMAP) -> str | None:
    """Return the name of key ``code``, or None when the keymap does not know it."""
    return keymap.get(code)


def key_code(name: str, keymap: Mapping[int, str] = DEFAULT_KEYMAP) -> int:
    """Return the code the keymap gives key ``name`` (the lowest when several do)."""
    codes = sorted(code for code, mapped in keymap.items() if mapped == name)
    if not codes:
        raise ValueError(f"按键表中没有该键 / no key named {name!r} in the keymap")
    return codes[0]


def score_of(name: str | None) -> int | None:
    """Return the evaluation score (1..5) of an evaluator key, else None."""
    if name in SCORE_KEYS:
        return int(name.removeprefix("score-"))
    return None


class KeyBuffer:
    """Collect key strokes into intents; pure, one per keypad."""

    def __init__(self, prefixes: Sequence[str] = ("A",), *, digits: int = 3) -> None:
        """Serve ticket ``prefixes`` (first = default); pad numbers to ``digits``."""
        if not prefixes:
            raise ValueError("至少需要一个号码前缀 / at least one ticket prefix is needed")
        if digits < 1:
            raise ValueError("号码位数须大于零 / digits must be at least 1")
        self._prefixes = tuple(prefixes)
        self._width = digits
        self._prefix_index: int | None = None
        self._digits = ""

    @property
    def pending(self) -> bool:
        """Tell whether a number is half typed."""
        return self._prefix_index is not None or bool(self._digits)

    def press(self, name: str | None) -> Intent | None:
        """Take one key stroke; return the intent it completes, if any."""
        if name is None:
            return None
        if name in DIGITS:
            # Extra digits are ignored: a number never grows past the ticket width.
            if len(self._digits) < self._width:
                self._digits += name
            return None
        if name == "prefix":
            current = -1 if self._prefix_index is None else self._prefix_index
            self._prefix_index = (current + 1) % len(self._prefixes)
            return None
        if name == "clear":
            self.reset()
            return None
        if name == "enter":
            return self._enter()
        if name == "transfer" and self._digits:
            window = str(int(self._digits))
            self.reset()
            return Intent("transfer", window)
        score = score_of(name)
        if score is not None:
            self.reset()
            return Intent("evaluation", str(score))
        if name in WINDOW_ACTIONS:
            self.reset()
            return Intent(name)
        return None

    def _enter(self) -> Intent | None:
        if not self._digits:
            self.reset()
            return None
        prefix = self._prefixes[self._prefix_index or 0]
        number = f"{prefix}{self._digits.zfill(self._width)}"
        self.reset()
        return Intent("call", number)

    def reset(self) -> None:
        """Forget a half-typed number."""
        self._prefix_index = None
        self._digits = ""

    def display(self) -> str:
        """Return the line to show while typing, e.g. ``特呼 A12_``; empty when idle."""
        if not self.pending:
            return ""
        prefix = self._prefixes[self._prefix_index or 0]
        return f"特呼 {prefix}{self._digits}_"
