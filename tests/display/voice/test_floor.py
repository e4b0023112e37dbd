"""A window on another floor: the voice says the floor ("请D001号到二楼十六号窗口办理")."""

from __future__ import annotations

from pathlib import Path

import pytest

from display.voice import Announcer, clip_sequence
from display.voice.bank import clip_file, generate_clip_bank
from display.voice.clips import FLOOR, floor_words
from display.voice.wavfile import read_wav
from tests.needs import need_program


def test_the_floor_is_read_before_the_window_only_when_given() -> None:
    assert clip_sequence("D001", 16, chime=False, floor=2) == [
        "请", "D", "零", "零", "一", "号", "到", "二", "楼", "十", "六", "号", "窗口", "办理",
    ]  # fmt: skip
    assert FLOOR not in clip_sequence("D001", 16, chime=False)
    assert floor_words(0) == [] and floor_words(None) == []  # a basement is not read
    assert floor_words(12) == ["十", "二", "楼"]


@pytest.mark.espeak
def test_the_bank_has_lou_and_a_call_upstairs_says_it(tmp_path: Path) -> None:
    need_program("espeak-ng")
    bank = generate_clip_bank(tmp_path / "bank")
    lou = read_wav(bank / clip_file(FLOOR))
    assert 0.12 < lou.duration_s < 1.5

    announcer = Announcer(bank, disk_cache=False)
    here = read_wav(announcer.wav_for("D001", 16, chime=False, repeat=1))
    upstairs = read_wav(announcer.wav_for("D001", 16, chime=False, repeat=1, floor=2))
    er = read_wav(bank / clip_file("二"))
    gap = upstairs.format.frames_for_ms(announcer.word_gap_ms) * 2
    assert len(upstairs.frames) == len(here.frames) + len(er.frames) + len(lou.frames) + 2 * gap
    assert lou.frames in upstairs.frames and lou.frames not in here.frames
