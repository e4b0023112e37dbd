"""The error of the voice clip bank and announcer."""

from __future__ import annotations


class VoiceError(Exception):
    """Announcements cannot be made; ``str()`` is a sentence for a person, Chinese first."""
