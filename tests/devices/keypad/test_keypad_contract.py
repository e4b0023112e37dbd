"""The keypad names its action keys after the contract's window actions.

Devices import no app, so ``devices/keypad/keys.py`` keeps its own names; this test holds
them to ``hall_server/contract.py``.
"""

from __future__ import annotations

from devices.keypad.keys import WINDOW_ACTIONS as KEYPAD_ACTIONS
from hall_server.contract import WINDOW_ACTIONS

# Not keys of their own: staff open and close their window on the window page, and 特呼
# (call a number) is typed on the keypad: prefix, digits, enter.
NOT_ON_THE_KEYPAD = {"open", "close", "call"}


def test_every_keypad_action_is_a_window_action_of_the_contract() -> None:
    assert set(KEYPAD_ACTIONS) <= set(WINDOW_ACTIONS)


def test_the_keypad_covers_every_other_window_action() -> None:
    assert set(KEYPAD_ACTIONS) == set(WINDOW_ACTIONS) - NOT_ON_THE_KEYPAD
