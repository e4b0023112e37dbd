"""The kiosk's spoken guidance in the hall's own voice: "您选择的是社会保障", "您的号码是B001".

A sentence is a list of pieces, each either words to say (Chinese text, spoken by espeak-ng's
``cmn-latn-pinyin`` voice from pypinyin's tone-numbered pinyin, the way the clip bank's words
are made, display/voice/bank.py) or clips of the hall's clip bank (letters and digits of a
ticket number, counts, floors: the same clips the TV's announcements use). The pieces are
joined into one WAV with short pauses.

Costs stay bounded whoever asks: espeak-ng runs once per distinct piece of words (a service
name, a zone, a fixed phrase — a few dozen in a hall) and keeps its WAV under
``var/voice/kiosk/``; a sentence is then only a join of cached audio (kept in memory, LRU).
Without espeak-ng nothing is spoken: ``VoiceError`` says why, the kiosk page shows no voice
switch, and the visitor meets no error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import threading
import wave
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

from pypinyin import Style, lazy_pinyin

from display.voice import clips
from display.voice.bank import (
    ESPEAK,
    MANIFEST,
    PINYIN_VOICE,
    ClipSpec,
    VoiceOptions,
    clip_file,
    find_espeak,
    generate_clip_bank,
    speak,
    trim_silence,
)
from display.voice.errors import VoiceError
from display.voice.wavfile import Pcm, read_wav, wav_bytes, write_atomically

GENERATOR_VERSION = 1  # bump when the way words are made changes
PHRASE_DIR = "kiosk"  # under the clip bank's folder
LEAD_MS = 120  # silence first, so a speaker waking up does not swallow the first syllable
WORD_GAP_MS = 60
SENTENCE_GAP_MS = 350
MAX_NUMBER = 999  # counts and floors read as numbers up to here, digit by digit above

# Fixed sentences the page may ask for by name.
PHRASES = {
    "elderly": "已为您开启长辈模式，请点击要办理的事项",
    "voice": "语音引导已开启",
    "idle": "您还在办理吗？需要更多时间，请点击继续",
}


@dataclass(frozen=True, slots=True)
class Words:
    """Chinese words to say (espeak-ng, cached per text)."""

    text: str


@dataclass(frozen=True, slots=True)
class Clips:
    """Clips of the hall's clip bank (letters, digits, 号, 楼, 十, 百)."""

    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pause:
    """A pause between two parts of a sentence."""

    ms: int = SENTENCE_GAP_MS


Piece = Words | Clips | Pause


def number_clips(value: int) -> Clips:
    """Read a count or a floor the way staff say it ("十二"); 0 is 零, big ones digit by digit."""
    if value == 0:
        return Clips((clips.DIGITS[0],))
    if 0 < value <= MAX_NUMBER:
        return Clips(tuple(clips.window_words(value)))
    return Clips(tuple(clips.DIGITS[int(d)] for d in str(abs(value))))


def pieces_of(text: str) -> list[Piece]:
    """Split free text (a service name, a zone) into words, letters, numbers and pauses.

    Chinese runs are words; Latin letters are read by their letter names from the bank;
    a run of digits is a number; anything else (spaces, brackets, punctuation) is a pause.
    """
    found: list[Piece] = []
    run = ""
    index = 0
    while index < len(text):
        char = text[index]
        if _is_han(char):
            run += char
            index += 1
            continue
        if run:
            found.append(Words(run))
            run = ""
        if char.isascii() and char.isdigit():
            end = index
            while end < len(text) and text[end].isascii() and text[end].isdigit():
                end += 1
            found.append(number_clips(int(text[index:end])))
            index = end
            continue
        if char.isascii() and char.isalpha():
            found.append(Clips((char.upper(),)))
        elif found and not isinstance(found[-1], Pause):
            found.append(Pause(WORD_GAP_MS * 3))
        index += 1
    if run:
        found.append(Words(run))
    while found and isinstance(found[-1], Pause):
        found.pop()
    return found


def service_sentence(name: str) -> list[Piece]:
    """ "您选择的是 社会保障，请点击取号"."""
    return [Words("您选择的是"), *pieces_of(name), Pause(), Words("请点击取号")]


def ticket_sentence(number: str, *, ahead: int | None, floor: int | None, zone: str) -> list[Piece]:
    """ "您的号码是 B001 号，前面还有 3 人，请到 2 楼 B区 等候叫号"."""
    said: list[Piece] = [
        Words("您的号码是"),
        Clips((*clips.ticket_words(number), clips.NUMBER_SIGN)),
        Pause(),
    ]
    if ahead is not None:
        said += [Words("前面还有"), number_clips(ahead), Words("人"), Pause()]
    said.append(Words("请到"))
    if floor is not None and floor >= 1:
        said.append(Clips(tuple(clips.floor_words(floor))))
    said += [*pieces_of(zone), Words("等候叫号")]
    return said


def guidance_available() -> tuple[bool, str]:
    """Say whether the kiosk can speak: espeak-ng must be installed."""
    if shutil.which(ESPEAK):
        return True, "语音引导可用 / voice guidance on"
    return False, (
        "未安装 espeak-ng，取号机语音引导已关闭 / espeak-ng is not installed: "
        "the kiosk's voice guidance is off"
    )


class Guide:
    """Make the kiosk's guidance WAVs from the clip bank in ``bank_dir`` and espeak-ng."""

    def __init__(
        self, bank_dir: Path, *, options: VoiceOptions | None = None, cache_size: int = 128
    ) -> None:
        self.bank_dir = bank_dir
        self.options = options or VoiceOptions()
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Piece, ...], bytes] = OrderedDict()
        self._clip_audio: dict[str, Pcm] = {}  # per clip of the bank (a few dozen)
        self._words_audio: dict[str, Pcm] = {}  # per text said (service names, zones, phrases)
        self._lock = threading.Lock()

    def wav(self, pieces: list[Piece]) -> bytes:
        """Return the WAV saying ``pieces`` (VoiceError when it cannot be made)."""
        key = tuple(pieces)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
            data = self._join(pieces)
            self._cache[key] = data
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            return data

    def _join(self, pieces: list[Piece]) -> bytes:
        audio: list[Pcm | int] = []  # the audio of each piece, or a pause in ms
        for piece in pieces:
            audio.append(piece.ms if isinstance(piece, Pause) else self._pcm(piece))
        said = [part for part in audio if isinstance(part, Pcm)]
        if not said:
            raise VoiceError("没有要说的话 / nothing to say")
        fmt = said[0].format
        if any(part.format != fmt for part in said):
            raise VoiceError(
                "语音格式不一致：录制的语音片段须与 espeak-ng 同格式 / the clip bank and the "
                "espeak-ng words differ in format: record the bank at espeak-ng's format"
            )
        chunks = [fmt.silence(fmt.frames_for_ms(LEAD_MS))]
        after_words = False
        for part in audio:
            if isinstance(part, int):
                chunks.append(fmt.silence(fmt.frames_for_ms(part)))
                after_words = False
                continue
            if after_words:
                chunks.append(fmt.silence(fmt.frames_for_ms(WORD_GAP_MS)))
            chunks.append(part.frames)
            after_words = True
        return wav_bytes(Pcm(fmt, b"".join(chunks)))

    def _pcm(self, piece: Words | Clips) -> Pcm:
        if isinstance(piece, Clips):
            return self._clips(piece)
        found = self._words_audio.get(piece.text)
        if found is None:
            found = self._words_audio[piece.text] = self._words(piece)
        return found

    def _clips(self, piece: Clips) -> Pcm:
        parts = [self._clip(name) for name in piece.names]
        fmt = parts[0].format
        gap = fmt.silence(fmt.frames_for_ms(WORD_GAP_MS))
        return Pcm(fmt, gap.join(part.frames for part in parts))

    def _clip(self, name: str) -> Pcm:
        found = self._clip_audio.get(name)
        if found is None:
            path = self.bank_dir / clip_file(name)
            if not path.is_file() or not (self.bank_dir / MANIFEST).is_file():
                generate_clip_bank(self.bank_dir, options=self.options)
            found = self._clip_audio[name] = _read(path)
        return found

    def _words(self, piece: Words) -> Pcm:
        pinyin = to_pinyin(piece.text)
        blob = json.dumps(
            {"generator": GENERATOR_VERSION, "options": asdict(self.options), "pinyin": pinyin},
            sort_keys=True,
        )
        path = self.bank_dir / PHRASE_DIR / f"{hashlib.sha256(blob.encode()).hexdigest()[:32]}.wav"
        if path.is_file():
            with contextlib.suppress(VoiceError):
                return _read(path)
        pcm = trim_silence(speak(find_espeak(), ClipSpec(piece.text, PINYIN_VOICE, pinyin),
                                 self.options))  # fmt: skip
        # The disk cache is an optimisation: a read-only disk still speaks.
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, wav_bytes(pcm))
        return pcm


def to_pinyin(text: str) -> str:
    """Return ``text`` as tone-numbered pinyin for espeak-ng ("qing3 dao4"), tone sandhi applied."""
    syllables = lazy_pinyin(
        text, style=Style.TONE3, neutral_tone_with_five=True, tone_sandhi=True, errors="ignore"
    )
    return " ".join(s for s in syllables if s.isascii() and s.strip())


def _is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def _read(path: Path) -> Pcm:
    try:
        return read_wav(path)
    except (OSError, EOFError, wave.Error) as exc:
        raise VoiceError(f"语音文件无法读取：{path} / cannot read {path}") from exc
