"""The clip bank: one short WAV per word, letter and digit, made offline with espeak-ng.

Voice choice (measured with ``espeak-ng -x``, which prints the phonemes with tone contours;
55 = tone 1, 35 = tone 2, 214 = tone 3, 51 = tone 4):

- Words and digits use the voice ``cmn-latn-pinyin`` fed tone-numbered pinyin ("qing3").
  The plain ``cmn`` voice of espeak-ng 1.51 reads many characters as English spellings
  of their pinyin (请 -> "(en)kI55NTr'i:55", 号 -> "h-a-o four"); the pinyin voice gives the
  right syllable and tone for every clip, and pinyin input does not depend on the
  character dictionary. The espeak test checks every clip's tone contour.
- Letters use the voice ``cmn``, whose letter names are the ones Chinese speakers use
  (A -> 'ei51, Q -> kh'iou55); the pinyin voice would spell them as pinyin.
- Speed 150 words/min (default 175 is hurried for a hall), pitch 50, amplitude 100.

Format: espeak-ng's own output, 22050 Hz mono 16-bit PCM; the chime is made at the same
rate, so no resampling (stdlib has none since audioop is deprecated). Leading and trailing
silence is trimmed so the announcer controls the pauses between words.

The bank caches on disk: ``manifest.json`` holds a hash of the voice options and clip
texts; clips are regenerated when missing or when the hash changed.
"""

from __future__ import annotations

import array
import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from display.voice import clips
from display.voice.errors import VoiceError
from display.voice.wavfile import Pcm, PcmFormat, read_wav, wav_bytes, write_atomically

GENERATOR_VERSION = 1  # bump when the way clips are made changes
MANIFEST = "manifest.json"
ESPEAK = "espeak-ng"
PINYIN_VOICE = "cmn-latn-pinyin"
LETTER_VOICE = "cmn"

PINYIN = {
    clips.PLEASE: "qing3",
    clips.NUMBER_SIGN: "hao4",
    clips.GO_TO: "dao4",
    clips.WINDOW: "chuang1 kou3",
    clips.HANDLE: "ban4 li3",
    clips.TEN: "shi2",
    clips.HUNDRED: "bai3",
    clips.FLOOR: "lou2",
    "零": "ling2",
    "一": "yi1",
    "二": "er4",
    "三": "san1",
    "四": "si4",
    "五": "wu3",
    "六": "liu4",
    "七": "qi1",
    "八": "ba1",
    "九": "jiu3",
}

TRIM_THRESHOLD = 400  # |sample| below this (about -38 dBFS) counts as silence
TRIM_MARGIN_MS = 15


@dataclass(frozen=True, slots=True)
class VoiceOptions:
    """espeak-ng settings; changing any of them regenerates the bank."""

    speed_wpm: int = 150
    pitch: int = 50
    amplitude: int = 100


@dataclass(frozen=True, slots=True)
class ClipSpec:
    """How one clip is spoken."""

    name: str
    voice: str
    text: str


def clip_spec(name: str) -> ClipSpec:
    """Return the voice and input text of a spoken clip."""
    if name in PINYIN:
        return ClipSpec(name, PINYIN_VOICE, PINYIN[name])
    if name in clips.LETTERS:
        return ClipSpec(name, LETTER_VOICE, name)
    raise VoiceError(f"没有这个语音片段：{name!r} / no such clip: {name!r}")


def clip_file(name: str) -> str:
    """Return the file name of a clip in the bank."""
    if name == clips.CHIME:
        return "chime.wav"
    if name in clips.LETTERS:
        return f"letter_{name}.wav"
    return PINYIN[name].replace(" ", "") + ".wav"


def options_hash(options: VoiceOptions) -> str:
    """Return the hash that decides whether the bank on disk is current."""
    specs = [asdict(clip_spec(name)) for name in clips.ALL_CLIPS if name != clips.CHIME]
    blob = json.dumps(
        {"generator": GENERATOR_VERSION, "options": asdict(options), "specs": specs},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def find_espeak() -> str:
    """Return the espeak-ng program, or raise VoiceError saying how to install it."""
    program = shutil.which(ESPEAK)
    if program is None:
        raise VoiceError(
            "未找到 espeak-ng，无法生成叫号语音；请安装软件包 espeak-ng"
            "（apt-get install espeak-ng） / espeak-ng is not installed: "
            "install the package espeak-ng to generate the voice clips"
        )
    return program


def generate_clip_bank(out_dir: Path, *, options: VoiceOptions | None = None) -> Path:
    """Make (or bring up to date) the clip bank in ``out_dir`` and return ``out_dir``."""
    options = options or VoiceOptions()
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = options_hash(options)
    manifest = _read_manifest(out_dir)
    current = manifest.get("hash") == digest
    todo = [
        name for name in clips.ALL_CLIPS if not current or not (out_dir / clip_file(name)).is_file()
    ]
    if not todo:
        return out_dir
    spoken = [name for name in todo if name != clips.CHIME]
    program = find_espeak() if spoken else ""
    fmt: PcmFormat | None = None
    for name in spoken:
        pcm = trim_silence(speak(program, clip_spec(name), options))
        if fmt is not None and pcm.format != fmt:
            raise VoiceError(f"语音片段格式不一致：{name} / clip {name} has format {pcm.format}")
        fmt = pcm.format
        write_atomically(out_dir / clip_file(name), wav_bytes(pcm))
    if fmt is None:  # only the chime was missing: match the clips already there
        fmt = read_wav(out_dir / clip_file(clips.PLEASE)).format
    if clips.CHIME in todo:
        write_atomically(out_dir / clip_file(clips.CHIME), wav_bytes(make_chime(fmt)))
    entries = {
        name: {"file": clip_file(name), "frames": read_wav(out_dir / clip_file(name)).frame_count}
        for name in clips.ALL_CLIPS
    }
    record = {
        "hash": digest,
        "generator": GENERATOR_VERSION,
        "options": asdict(options),
        "format": asdict(fmt),
        "clips": entries,
    }
    text = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True)
    write_atomically(out_dir / MANIFEST, text.encode())
    return out_dir


def speak(program: str, spec: ClipSpec, options: VoiceOptions) -> Pcm:
    """Run espeak-ng for one clip and return its audio."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "clip.wav"
        command = [
            program,
            "-v",
            spec.voice,
            "-s",
            str(options.speed_wpm),
            "-p",
            str(options.pitch),
            "-a",
            str(options.amplitude),
            "-w",
            str(target),
            spec.text,
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=30)
        except (subprocess.SubprocessError, OSError) as exc:
            raise VoiceError(
                f"espeak-ng 生成语音片段“{spec.name}”失败：{exc} / "
                f"espeak-ng failed on clip {spec.name!r}"
            ) from exc
        pcm = read_wav(target)
    if pcm.format.width != 2 or pcm.format.channels != 1 or pcm.frame_count == 0:
        raise VoiceError(f"espeak-ng 输出异常：{spec.name} / unexpected espeak-ng output {pcm}")
    return pcm


def phonemes(spec: ClipSpec) -> str:
    """Return espeak-ng's phoneme transcription of a clip (tones as contour numbers)."""
    result = subprocess.run(
        [find_espeak(), "-q", "-x", "-v", spec.voice, spec.text],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.stdout.strip()


def trim_silence(pcm: Pcm) -> Pcm:
    """Cut leading and trailing silence, keeping a short margin (16-bit mono)."""
    samples = _samples(pcm.frames)
    loud = [index for index, value in enumerate(samples) if abs(value) >= TRIM_THRESHOLD]
    if not loud:
        return pcm
    margin = pcm.format.frames_for_ms(TRIM_MARGIN_MS)
    start = max(0, loud[0] - margin)
    stop = min(len(samples), loud[-1] + 1 + margin)
    return Pcm(pcm.format, _little_endian(samples[start:stop]))


def make_chime(fmt: PcmFormat) -> Pcm:
    """Return a two-tone "ding-dong" (E5 then C5), each a decaying sine, at ``fmt``."""
    if fmt.width != 2 or fmt.channels != 1:
        raise VoiceError(f"提示音只支持 16 位单声道 / chime needs 16-bit mono, got {fmt}")
    samples = array.array("h")
    for frequency, seconds in ((659.25, 0.35), (523.25, 0.6)):
        count = round(fmt.rate * seconds)
        attack = fmt.frames_for_ms(5)  # a few ms of fade-in so the tone does not click
        for index in range(count):
            envelope = min(1.0, index / attack) * math.exp(-3.0 * index / count)
            value = 0.45 * envelope * math.sin(2 * math.pi * frequency * index / fmt.rate)
            samples.append(round(value * 32767))
    return Pcm(fmt, _little_endian(samples))


def _samples(frames: bytes) -> array.array[int]:
    samples = array.array("h")
    samples.frombytes(frames)
    if sys.byteorder == "big":  # WAV is little-endian
        samples.byteswap()
    return samples


def _little_endian(samples: array.array[int]) -> bytes:
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def _read_manifest(out_dir: Path) -> dict[str, object]:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
