"""What a GB2312 sign cannot draw is replaced or dropped, never a crash."""

from __future__ import annotations

from devices.led import generic
from devices.led.charset import to_gb2312


def test_simplified_text_encodes_as_is() -> None:
    assert to_gb2312("暂停服务") == "暂停服务".encode("gb2312")


def test_traditional_and_rare_characters_become_the_substitute() -> None:
    assert to_gb2312("請到3號窗口").decode("gb2312") == "?到3?窗口"
    assert to_gb2312("𠮷祥", substitute="□").decode("gb2312") == "□祥"


def test_emoji_and_invisible_marks_are_dropped() -> None:
    assert to_gb2312("办理👍🏽完毕❤️\u200d").decode("gb2312") == "办理完毕"


def test_control_characters_are_dropped_but_newlines_kept() -> None:
    assert to_gb2312("A\x07B\nC\t") == b"AB\nC"


def test_a_frame_with_unsupported_text_still_encodes() -> None:
    frame = generic.encode_text(1, "請 A012 😀")
    assert generic.decode_frame(frame).text == "? A012 "
