"""The clips of a call announcement, in order."""

from __future__ import annotations

import pytest

from display.voice.clips import ALL_CLIPS, clip_sequence, window_words

TAIL = ["号", "窗口", "办理"]


def test_a012_to_window_3() -> None:
    assert clip_sequence("A012", 3, chime=True, repeat=1) == [
        "chime", "请", "A", "零", "一", "二", "号", "到", "三", *TAIL,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("window", "words"),
    [
        (10, ["十"]),
        (11, ["十", "一"]),
        (23, ["二", "十", "三"]),
        (105, ["一", "百", "零", "五"]),
        (110, ["一", "百", "一", "十"]),
        (200, ["二", "百"]),
        (999, ["九", "百", "九", "十", "九"]),
    ],
)
def test_window_numbers_are_read_as_chinese_numbers(window: int, words: list[str]) -> None:
    assert window_words(window) == words
    assert clip_sequence("B7", window, chime=False)[5:-3] == words


def test_repeat_reads_the_phrase_again_with_one_chime() -> None:
    sequence = clip_sequence("a1", 2, chime=True, repeat=2)
    phrase = ["请", "A", "一", "号", "到", "二", *TAIL]
    assert sequence == ["chime", *phrase, *phrase]


def test_without_chime_the_call_starts_with_please() -> None:
    assert clip_sequence("C001", 1, chime=False)[0] == "请"


def test_every_clip_used_is_in_the_bank() -> None:
    for window in range(1, 1000):
        assert set(clip_sequence("AZ09", window)) <= set(ALL_CLIPS)


@pytest.mark.parametrize(
    ("number", "window", "repeat"),
    [("A-12", 1, 1), ("", 1, 1), ("A012", 0, 1), ("A012", 1000, 1), ("A012", 3, 0)],
)
def test_impossible_calls_are_refused(number: str, window: int, repeat: int) -> None:
    with pytest.raises(ValueError):
        clip_sequence(number, window, repeat=repeat)
