"""Window keypads (叫号器) and evaluator keypads (评价器) on a serial RS-485 bus."""

from devices.keypad.device import FakeKeypad, KeyEvent, Keypad, SerialKeypad, build_keypad
from devices.keypad.keys import DEFAULT_KEYMAP, Intent, KeyBuffer, build_keymap, score_of

__all__ = [
    "DEFAULT_KEYMAP",
    "FakeKeypad",
    "Intent",
    "KeyBuffer",
    "KeyEvent",
    "Keypad",
    "SerialKeypad",
    "build_keymap",
    "build_keypad",
    "score_of",
]
