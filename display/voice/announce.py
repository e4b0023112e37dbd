"""Join clips into one WAV per call ("请 A零一二 号到 [二 楼] 三 号窗口办理"), cached.

Forms (``FORMS``), so that a TV can plan a rush (display/static/announce.js):

- ``full`` — the chime, then the phrase ``repeat`` times: a call in a quiet hall;
- ``once`` — the phrase once, no chime: a call while others wait (one chime per batch);
- ``brief`` — "A零一二 到 三 号窗口", no chime: when the backlog would run late otherwise;
- the chime alone (``chime_wav``): the start of a batch.

Pauses: ``word_gap_ms`` between words, ``chime_gap_ms`` after the chime and
``repeat_gap_ms`` before each repetition of the phrase. The WAV has the clips' format and
exactly sum(clip frames) + sum(pause frames) frames.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import threading
import wave
from collections import OrderedDict
from pathlib import Path

from display.voice import clips
from display.voice.bank import MANIFEST, clip_file, generate_clip_bank
from display.voice.errors import VoiceError
from display.voice.wavfile import Pcm, PcmFormat, read_wav, wav_bytes, write_atomically

CALLS_DIR = "calls"
FORMS = ("full", "once", "brief")


def pauses_ms(sequence: list[str], *, word_ms: int, chime_ms: int, repeat_ms: int) -> list[int]:
    """Return the pause after each clip but the last."""
    pauses = []
    for current, following in itertools.pairwise(sequence):
        if current == clips.CHIME:
            pauses.append(chime_ms)
        elif following == clips.PLEASE:  # 请 only starts a phrase: a repetition begins
            pauses.append(repeat_ms)
        else:
            pauses.append(word_ms)
    return pauses


class Announcer:
    """Make call announcements from a clip bank directory."""

    def __init__(
        self,
        bank_dir: Path,
        *,
        cache_size: int = 64,
        disk_cache: bool = True,
        disk_cache_files: int = 500,
        generate_missing: bool = True,
        word_gap_ms: int = 60,
        chime_gap_ms: int = 250,
        repeat_gap_ms: int = 700,
    ) -> None:
        self.bank_dir = bank_dir
        self.cache_size = cache_size
        self.disk_cache = disk_cache
        self.disk_cache_files = disk_cache_files
        self.generate_missing = generate_missing
        self.word_gap_ms = word_gap_ms
        self.chime_gap_ms = chime_gap_ms
        self.repeat_gap_ms = repeat_gap_ms
        self._clips: dict[str, Pcm] = {}
        self._format: PcmFormat | None = None
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def wav_for(
        self,
        number: str,
        window: int,
        *,
        chime: bool = True,
        repeat: int = 1,
        floor: int | None = None,
    ) -> bytes:
        """Return the WAV announcing ``number`` to ``window`` (on ``floor`` when it is said)."""
        sequence = clips.clip_sequence(number, window, chime=chime, repeat=repeat, floor=floor)
        return self._wav_of(sequence)

    def form_wav(
        self,
        form: str,
        number: str,
        window: int,
        *,
        chime: bool = True,
        repeat: int = 1,
        floor: int | None = None,
    ) -> bytes:
        """Return one call in ``form`` (``FORMS``); ``chime`` and ``repeat`` shape ``full`` only."""
        if form == "full":
            return self.wav_for(number, window, chime=chime, repeat=repeat, floor=floor)
        if form == "once":
            return self._wav_of(clips.phrase(number, window, floor))
        if form == "brief":
            return self._wav_of(clips.brief_phrase(number, window, floor))
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")

    def chime_wav(self) -> bytes:
        """Return the chime alone, followed by the pause that comes after it in a call."""
        return self._wav_of([clips.CHIME], trailing_ms=self.chime_gap_ms)

    def _wav_of(self, sequence: list[str], *, trailing_ms: int = 0) -> bytes:
        pauses = pauses_ms(
            sequence,
            word_ms=self.word_gap_ms,
            chime_ms=self.chime_gap_ms,
            repeat_ms=self.repeat_gap_ms,
        )
        if trailing_ms:
            pauses.append(trailing_ms)
        with self._lock:
            key = self._key(sequence, pauses)
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            data = self._from_disk(key) or self._join(sequence, pauses)
            if self.disk_cache:
                self._to_disk(key, data)
            self._cache[key] = data
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            return data

    def _join(self, sequence: list[str], pauses: list[int]) -> bytes:
        self._ensure_bank(sequence)
        parts = [self._clip(name) for name in sequence]
        fmt = parts[0].format
        chunks: list[bytes] = []
        for index, part in enumerate(parts):
            chunks.append(part.frames)
            if index < len(pauses):
                chunks.append(fmt.silence(fmt.frames_for_ms(pauses[index])))
        return wav_bytes(Pcm(fmt, b"".join(chunks)))

    def _ensure_bank(self, sequence: list[str]) -> None:
        missing = [name for name in sequence if not (self.bank_dir / clip_file(name)).is_file()]
        if not missing:
            return
        if not self.generate_missing:
            raise VoiceError(
                f"语音片段缺失：{'、'.join(missing)}（{self.bank_dir}） / "
                f"voice clips missing in {self.bank_dir}: {', '.join(missing)}"
            )
        generate_clip_bank(self.bank_dir)
        self._clips.clear()
        self._format = None

    def _clip(self, name: str) -> Pcm:
        pcm = self._clips.get(name)
        if pcm is None:
            path = self.bank_dir / clip_file(name)
            try:
                pcm = read_wav(path)
            except (OSError, EOFError, wave.Error) as exc:
                raise VoiceError(f"语音片段无法读取：{path} / cannot read clip {path}") from exc
            if self._format is None:
                self._format = pcm.format
            elif pcm.format != self._format:
                raise VoiceError(
                    f"语音片段格式不一致：{path.name} / clip {path.name} is {pcm.format}, "
                    f"the bank is {self._format}"
                )
            self._clips[name] = pcm
        return pcm

    def _key(self, sequence: list[str], pauses: list[int]) -> str:
        manifest = self.bank_dir / MANIFEST
        if manifest.is_file():
            bank = manifest.read_bytes()
        else:  # a recorded bank without manifest: its files identify it
            stats = []
            for name in sorted(set(sequence)):
                path = self.bank_dir / clip_file(name)
                if path.is_file():
                    stat = path.stat()
                    stats.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
            bank = "|".join(stats).encode()
        blob = bank + "|".join(sequence).encode() + repr(pauses).encode()
        return hashlib.sha256(blob).hexdigest()[:32]

    def _from_disk(self, key: str) -> bytes | None:
        if not self.disk_cache:
            return None
        path = self.bank_dir / CALLS_DIR / f"{key}.wav"
        try:
            return path.read_bytes()
        except OSError:
            return None

    def _to_disk(self, key: str, data: bytes) -> None:
        directory = self.bank_dir / CALLS_DIR
        path = directory / f"{key}.wav"
        if path.is_file():
            return
        # The disk cache is an optimisation: a full or read-only disk still announces.
        with contextlib.suppress(OSError):
            directory.mkdir(parents=True, exist_ok=True)
            write_atomically(path, data)
            # A call WAV is a few hundred kB: keep the newest files, not every call ever made.
            files = sorted(directory.glob("*.wav"), key=lambda item: item.stat().st_mtime_ns)
            for old in files[: max(0, len(files) - self.disk_cache_files)]:
                old.unlink(missing_ok=True)
