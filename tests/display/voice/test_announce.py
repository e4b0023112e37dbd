"""Joining a bank of synthetic clips into one WAV per call (no espeak-ng needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from display.voice import Announcer, VoiceError, clip_sequence
from display.voice.announce import pauses_ms
from display.voice.bank import clip_file
from display.voice.clips import ALL_CLIPS
from display.voice.wavfile import Pcm, PcmFormat, read_wav, wav_bytes

FMT = PcmFormat(rate=16000, width=2, channels=1)


def make_bank(directory: Path, fmt: PcmFormat = FMT) -> dict[str, int]:
    """Write one clip per name, each of a different length; return the frame counts."""
    frames = {}
    for index, name in enumerate(ALL_CLIPS):
        count = 800 + 37 * index
        sample = (index + 1).to_bytes(2, "little", signed=True)
        (directory / clip_file(name)).write_bytes(wav_bytes(Pcm(fmt, sample * count)))
        frames[name] = count
    return frames


def test_call_wav_has_the_clip_format_and_exact_length(tmp_path: Path) -> None:
    frames = make_bank(tmp_path)
    announcer = Announcer(tmp_path, word_gap_ms=50, chime_gap_ms=300, repeat_gap_ms=700)
    data = announcer.wav_for("A012", 3, chime=True, repeat=2)

    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    pcm = read_wav(data)
    assert pcm.format == FMT
    sequence = clip_sequence("A012", 3, chime=True, repeat=2)
    pauses = pauses_ms(sequence, word_ms=50, chime_ms=300, repeat_ms=700)
    assert pauses.count(700) == 1 and pauses[0] == 300
    expected = sum(frames[name] for name in sequence) + sum(16 * ms for ms in pauses)
    assert pcm.frame_count == expected


def test_clips_appear_in_order_with_silence_between(tmp_path: Path) -> None:
    frames = make_bank(tmp_path)
    pcm = read_wav(Announcer(tmp_path, word_gap_ms=10).wav_for("A1", 1, chime=False))
    first = frames["请"] * 2
    assert pcm.frames[:first] == read_wav(tmp_path / clip_file("请")).frames
    assert pcm.frames[first : first + 320] == bytes(320)  # 10 ms at 16 kHz, 16-bit


def test_calls_are_cached_in_memory_and_on_disk(tmp_path: Path) -> None:
    make_bank(tmp_path)
    announcer = Announcer(tmp_path)
    first = announcer.wav_for("B105", 12)
    assert announcer.wav_for("B105", 12) is first  # memory
    (cached,) = (tmp_path / "calls").glob("*.wav")
    assert cached.read_bytes() == first

    cached.write_bytes(b"RIFF-from-disk")  # a new announcer reads the disk cache
    assert Announcer(tmp_path).wav_for("B105", 12) == b"RIFF-from-disk"


def test_a_missing_clip_is_named_when_generation_is_off(tmp_path: Path) -> None:
    make_bank(tmp_path)
    (tmp_path / clip_file("办理")).unlink()
    with pytest.raises(VoiceError, match="办理"):
        Announcer(tmp_path, generate_missing=False).wav_for("A012", 3)


def test_memory_and_disk_caches_are_bounded(tmp_path: Path) -> None:
    make_bank(tmp_path)
    announcer = Announcer(tmp_path, cache_size=2, disk_cache_files=3)
    for window in (1, 2, 3, 4, 5):
        announcer.wav_for("A001", window)
    assert len(announcer._cache) == 2
    assert len(list((tmp_path / "calls").glob("*.wav"))) == 3


def test_a_clip_in_another_format_is_named(tmp_path: Path) -> None:
    make_bank(tmp_path)
    odd = PcmFormat(rate=22050, width=2, channels=1)
    (tmp_path / clip_file("到")).write_bytes(wav_bytes(Pcm(odd, bytes(2000))))
    with pytest.raises(VoiceError, match=r"dao4\.wav"):
        Announcer(tmp_path, disk_cache=False).wav_for("A012", 3)


def test_missing_clips_without_espeak_name_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(VoiceError, match="espeak-ng"):
        Announcer(tmp_path / "bank").wav_for("A012", 3)
