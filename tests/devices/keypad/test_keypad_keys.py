"""Key codes to window actions, and 特呼 typed on the keypad."""

from __future__ import annotations

import pytest

from devices.keypad.keys import (
    DEFAULT_KEYMAP,
    WINDOW_ACTIONS,
    Intent,
    KeyBuffer,
    build_keymap,
    key_code,
    key_name,
    score_of,
)


def press_all(buffer: KeyBuffer, keys: str) -> list[Intent]:
    intents = [buffer.press(key) for key in keys.split()]
    return [intent for intent in intents if intent is not None]


def test_every_window_action_has_a_default_key_named_as_in_the_api() -> None:
    assert WINDOW_ACTIONS == (
        "call-next", "recall", "start", "finish", "no-show", "pause", "resume", "hold", "transfer",
    )  # fmt: skip
    assert set(WINDOW_ACTIONS) <= set(DEFAULT_KEYMAP.values())
    assert key_name(0x41) == "call-next"
    assert key_name(0x35) == "5"
    assert key_name(0xEE) is None


def test_evaluator_keys_give_scores_one_to_five() -> None:
    assert [score_of(key_name(code)) for code in range(0x61, 0x66)] == [1, 2, 3, 4, 5]
    assert score_of("call-next") is None
    assert press_all(KeyBuffer(), "score-5") == [Intent("evaluation", "5")]


def test_site_keymap_overrides_by_decimal_or_hex_code() -> None:
    keymap = build_keymap({"0x4A": "call-next", "66": "finish", 0x0D: "recall"})
    assert keymap[0x4A] == "call-next"
    assert keymap[66] == "finish"
    assert keymap[0x0D] == "recall"
    assert keymap[0x41] == "call-next"  # defaults stay unless overridden
    assert key_code("recall", keymap) == 0x0D


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"0x41": "call-nxt"}, "call-nxt"), ({"key": "recall"}, "key"), ({300: "recall"}, "300")],
)
def test_a_wrong_keymap_is_refused_naming_the_culprit(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_keymap(overrides)


def test_digits_and_enter_call_a_specific_number_with_the_default_prefix() -> None:
    assert press_all(KeyBuffer(("A", "B")), "1 2 enter") == [Intent("call", "A012")]


def test_the_prefix_key_cycles_through_the_window_prefixes() -> None:
    buffer = KeyBuffer(("A", "B", "C"))
    assert press_all(buffer, "prefix prefix 7 enter") == [("call", "B007")]
    assert press_all(buffer, "prefix prefix prefix prefix 1 0 0 enter") == [("call", "A100")]


def test_typing_shows_on_the_display_and_clear_forgets_it() -> None:
    buffer = KeyBuffer(("A", "B"))
    assert buffer.display() == ""
    press_all(buffer, "prefix prefix 4")
    assert buffer.display() == "特呼 B4_"
    assert buffer.pending
    assert press_all(buffer, "clear enter") == []
    assert not buffer.pending


def test_digits_beyond_the_ticket_width_are_ignored() -> None:
    assert press_all(KeyBuffer(digits=3), "1 2 3 4 enter") == [("call", "A123")]


def test_enter_with_nothing_typed_does_nothing() -> None:
    assert press_all(KeyBuffer(), "enter prefix enter") == []


def test_an_action_key_drops_a_half_typed_number_and_acts() -> None:
    buffer = KeyBuffer()
    assert press_all(buffer, "1 2 call-next") == [Intent("call-next")]
    assert press_all(buffer, "enter") == []


def test_digits_then_transfer_name_the_target_window() -> None:
    assert press_all(KeyBuffer(), "0 5 transfer") == [Intent("transfer", "5")]
    assert press_all(KeyBuffer(), "transfer") == [Intent("transfer")]


def test_unknown_keys_are_ignored() -> None:
    buffer = KeyBuffer()
    assert buffer.press(None) is None
    assert buffer.press("volume") is None


def test_a_buffer_needs_a_prefix() -> None:
    with pytest.raises(ValueError, match="prefix"):
        KeyBuffer(())
