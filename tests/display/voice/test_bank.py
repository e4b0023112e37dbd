"""The clip bank: cached on disk, regenerated only when needed; real espeak-ng in CI."""

from __future__ import annotations

import array
import math
import re
import sys
from pathlib import Path

import pytest

from display.voice import VoiceOptions, generate_clip_bank
from display.voice.bank import (
    MANIFEST,
    PINYIN,
    clip_file,
    clip_spec,
    make_chime,
    phonemes,
)
from display.voice.clips import ALL_CLIPS, CHIME, LETTERS
from display.voice.wavfile import Pcm, PcmFormat, read_wav
from tests.needs import need_program

SPOKEN = [name for name in ALL_CLIPS if name != CHIME]

# Writes a short 22050 Hz tone to the file after -w and logs each call: stands in for
# espeak-ng so caching can be tested without it.
FAKE_ESPEAK = """#!{python}
import math, struct, sys, wave
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(" ".join(args) + "\\n")
with wave.open(args[args.index("-w") + 1], "wb") as wav:
    wav.setnchannels(1); wav.setsampwidth(2); wav.setframerate(22050)
    wav.writeframes(b"\\0\\0" * 2000)
    wav.writeframes(b"".join(
        struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(4000)))
    wav.writeframes(b"\\0\\0" * 2000)
"""


@pytest.fixture
def fake_espeak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "espeak.log"
    program = bin_dir / "espeak-ng"
    program.write_text(FAKE_ESPEAK.format(python=sys.executable, log=str(log)))
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return log


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def rms(pcm: Pcm) -> float:
    samples = array.array("h", pcm.frames)
    return math.sqrt(sum(value * value for value in samples) / max(1, len(samples)))


def test_bank_is_made_once_then_only_missing_or_changed_clips(
    tmp_path: Path, fake_espeak: Path
) -> None:
    bank = generate_clip_bank(tmp_path / "bank")
    assert len(calls(fake_espeak)) == len(SPOKEN)
    assert (bank / MANIFEST).is_file()
    assert read_wav(bank / clip_file("请")).frame_count < 8000  # silence trimmed

    generate_clip_bank(bank)
    assert len(calls(fake_espeak)) == len(SPOKEN)  # nothing changed: nothing spoken

    (bank / clip_file("窗口")).unlink()
    generate_clip_bank(bank)
    assert calls(fake_espeak)[-1].endswith("chuang1 kou3")
    assert len(calls(fake_espeak)) == len(SPOKEN) + 1

    generate_clip_bank(bank, options=VoiceOptions(speed_wpm=130))
    assert len(calls(fake_espeak)) == 2 * len(SPOKEN) + 1
    assert "-s 130" in calls(fake_espeak)[-1]


def test_all_clips_share_one_format(tmp_path: Path, fake_espeak: Path) -> None:
    bank = generate_clip_bank(tmp_path / "bank")
    formats = {read_wav(bank / clip_file(name)).format for name in ALL_CLIPS}
    assert formats == {PcmFormat(rate=22050, width=2, channels=1)}


def test_chime_is_two_audible_tones() -> None:
    chime = make_chime(PcmFormat(rate=16000, width=2, channels=1))
    assert 0.9 < chime.duration_s < 1.0
    half = len(chime.frames) // 2
    assert rms(Pcm(chime.format, chime.frames[:half])) > 1000


TONE_CONTOURS = {"1": "55", "2": "35", "3": "214", "4": "51"}


@pytest.mark.espeak
def test_real_bank_with_espeak_ng(tmp_path: Path) -> None:
    need_program("espeak-ng")
    bank = generate_clip_bank(tmp_path / "bank")
    for name in ALL_CLIPS:
        pcm = read_wav(bank / clip_file(name))
        assert pcm.format == PcmFormat(rate=22050, width=2, channels=1), name
        assert 0.12 < pcm.duration_s < 1.5, (name, pcm.duration_s)
        assert rms(pcm) > 500, name  # not silent


@pytest.mark.espeak
def test_espeak_reads_every_word_with_its_tone() -> None:
    need_program("espeak-ng")
    for name, pinyin in PINYIN.items():
        spoken = phonemes(clip_spec(name))
        tones = [TONE_CONTOURS[digit] for digit in re.findall(r"[1-4]", pinyin)]
        assert re.findall(r"214|55|35|51", spoken) == tones, (name, pinyin, spoken)
        assert "(en)" not in spoken, (name, spoken)
    for letter in LETTERS:
        spoken = phonemes(clip_spec(letter))
        assert spoken and "(en)" not in spoken, (letter, spoken)
