"""The WAV forms a TV plans a rush with: once, brief, full and the chime alone (synthetic bank)."""

from __future__ import annotations

from pathlib import Path

import pytest

from display.voice import Announcer
from display.voice.clips import CHIME, brief_phrase, clip_sequence, phrase
from display.voice.wavfile import read_wav
from tests.display.voice.test_announce import FMT, make_bank

GAPS = {"word_gap_ms": 50, "chime_gap_ms": 300, "repeat_gap_ms": 700}


def frames_of(data: bytes) -> int:
    return read_wav(data).frame_count


def spoken(frames: dict[str, int], sequence: list[str], gaps_ms: int) -> int:
    """Frames of the clips of ``sequence`` plus ``gaps_ms`` of silence (16 frames a ms)."""
    return sum(frames[name] for name in sequence) + FMT.frames_for_ms(gaps_ms)


def test_once_is_the_sentence_without_the_chime(tmp_path: Path) -> None:
    frames = make_bank(tmp_path)
    announcer = Announcer(tmp_path, disk_cache=False, **GAPS)
    once = announcer.form_wav("once", "A012", 3)
    sequence = phrase("A012", 3)
    assert CHIME not in sequence and sequence[0] == "请"
    assert frames_of(once) == spoken(frames, sequence, 50 * (len(sequence) - 1))


def test_full_is_chime_and_the_sentence_repeated_as_before(tmp_path: Path) -> None:
    make_bank(tmp_path)
    announcer = Announcer(tmp_path, disk_cache=False, **GAPS)
    full = announcer.form_wav("full", "A012", 3, chime=True, repeat=2)
    assert full == announcer.wav_for("A012", 3, chime=True, repeat=2)
    # chime + gap + once + repeat gap + once: the same audio as the parts a quiet TV plays
    chime, once = announcer.chime_wav(), announcer.form_wav("once", "A012", 3)
    assert frames_of(full) == frames_of(chime) + 2 * frames_of(once) + FMT.frames_for_ms(700)


def test_the_chime_alone_ends_with_the_pause_after_it(tmp_path: Path) -> None:
    frames = make_bank(tmp_path)
    pcm = read_wav(Announcer(tmp_path, disk_cache=False, **GAPS).chime_wav())
    assert pcm.frame_count == frames[CHIME] + FMT.frames_for_ms(300)
    assert pcm.frames[-2 * FMT.frames_for_ms(300) :] == bytes(2 * FMT.frames_for_ms(300))


def test_brief_reads_number_floor_and_window_only(tmp_path: Path) -> None:
    frames = make_bank(tmp_path)
    sequence = brief_phrase("D001", 16, floor=2)
    assert sequence == ["D", "零", "零", "一", "到", "二", "楼", "十", "六", "号", "窗口"]
    announcer = Announcer(tmp_path, disk_cache=False, **GAPS)
    brief = announcer.form_wav("brief", "D001", 16, floor=2)
    assert frames_of(brief) == spoken(frames, sequence, 50 * (len(sequence) - 1))
    assert frames_of(brief) < frames_of(announcer.form_wav("once", "D001", 16, floor=2))


def test_forms_are_cached_apart(tmp_path: Path) -> None:
    make_bank(tmp_path)
    announcer = Announcer(tmp_path, **GAPS)
    wavs = {form: announcer.form_wav(form, "B105", 12) for form in ("full", "once", "brief")}
    chime = announcer.chime_wav()
    assert len({*wavs.values(), chime}) == 4
    assert announcer.form_wav("once", "B105", 12) is wavs["once"]  # memory
    assert len(list((tmp_path / "calls").glob("*.wav"))) == 4  # disk
    assert len(clip_sequence("B105", 12, chime=True, repeat=2)) > len(phrase("B105", 12))


def test_an_unknown_form_is_refused(tmp_path: Path) -> None:
    make_bank(tmp_path)
    with pytest.raises(ValueError, match="form must be one of"):
        Announcer(tmp_path, disk_cache=False).form_wav("twice", "A012", 3)
