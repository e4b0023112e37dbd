"""Visitors' phone and ID numbers: a keyed hash to compare them, a mask to show them.

The full number is never stored, printed or shown: per-person limits compare the hash,
staff and tickets see the mask (``138****5678``).
"""

from __future__ import annotations

import hashlib
import hmac
import re

PHONE = re.compile(r"^1[3-9]\d{9}$")


def keyed_hash(secret: str, value: str) -> str:
    """Hash a phone or ID number with the hall's secret: comparable, not reversible."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """Show a mobile number as ``138****5678``."""
    return f"{phone[:3]}****{phone[-4:]}"


def mask_id(id_number: str) -> str:
    """Show an ID number with all but its first 6 and last 4 characters hidden."""
    return f"{id_number[:6]}********{id_number[-4:]}"
