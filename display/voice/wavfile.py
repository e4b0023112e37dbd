"""PCM WAV files with the stdlib ``wave`` module: read, write, silence."""

from __future__ import annotations

import io
import os
import wave
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PcmFormat:
    """Sample rate, sample width in bytes and channel count."""

    rate: int
    width: int
    channels: int

    def frames_for_ms(self, ms: int) -> int:
        """Return the number of frames in ``ms`` milliseconds."""
        return round(self.rate * ms / 1000)

    def silence(self, frames: int) -> bytes:
        """Return ``frames`` frames of silence (16-bit PCM is signed: zero bytes)."""
        return bytes(frames * self.width * self.channels)


@dataclass(frozen=True, slots=True)
class Pcm:
    """Audio frames and their format."""

    format: PcmFormat
    frames: bytes

    @property
    def frame_count(self) -> int:
        """Number of frames."""
        return len(self.frames) // (self.format.width * self.format.channels)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.frame_count / self.format.rate


def read_wav(source: Path | bytes) -> Pcm:
    """Read a PCM WAV file or bytes."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
    with stream, wave.open(stream, "rb") as wav:
        fmt = PcmFormat(wav.getframerate(), wav.getsampwidth(), wav.getnchannels())
        return Pcm(fmt, wav.readframes(wav.getnframes()))


def wav_bytes(pcm: Pcm) -> bytes:
    """Return ``pcm`` as a complete WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(pcm.format.channels)
        wav.setsampwidth(pcm.format.width)
        wav.setframerate(pcm.format.rate)
        wav.writeframes(pcm.frames)
    return buffer.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader never sees a half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
