"""Mandarin call announcements: a clip bank joined into one WAV per call."""

from display.voice.announce import Announcer
from display.voice.bank import VoiceOptions, generate_clip_bank
from display.voice.clips import clip_sequence
from display.voice.errors import VoiceError

__all__ = ["Announcer", "VoiceError", "VoiceOptions", "clip_sequence", "generate_clip_bank"]
