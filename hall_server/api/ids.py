"""Whole numbers from a URL, bounded to what a database column holds (a signed 64-bit integer).

An id of 2^64 in a path reached the database driver and came back as a 500 (OverflowError).
``<int:…>`` in every route is ``BoundedInt`` (registered in the app factory), so such a path
matches no route: 404. A number in a query string goes through ``int_arg``: 422 when out of
range.
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.routing import IntegerConverter, Map, ValidationError

from ..domain.errors import InvalidInput
from .errors import BadRequest

MAX_ID = 2**63 - 1
_MAX_DIGITS = len(str(MAX_ID))


def _at_most(limit: str) -> str:
    """A regex for the digit strings as long as ``limit`` whose value is at most it."""
    if len(limit) == 1:
        return f"[0-{limit}]"
    first, rest = int(limit[0]), limit[1:]
    below = [f"[0-{first - 1}][0-9]{{{len(rest)}}}"] if first else []
    return "(?:" + "|".join([*below, f"{first}{_at_most(rest)}"]) + ")"


class BoundedInt(IntegerConverter):
    """``<int:…>``: 0 … 2^63-1, ASCII digits only; anything else matches no route (404).

    The bound is in the regex itself: a rule refused only by ``to_python`` still counts as
    matching the path for werkzeug, which then answers 405 when another method's rule shares
    it (DELETE /admin/windows/<2^64> said "use PUT").
    """

    regex = rf"(?:[0-9]{{1,{_MAX_DIGITS - 1}}}|{_at_most(str(MAX_ID))})"

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        if len(value) > _MAX_DIGITS:  # before int(): thousands of digits cost time, then fail
            raise ValidationError()
        number: int = super().to_python(value)
        return number


def int_arg(name: str, default: int | None = None, *, low: int = 0, high: int = MAX_ID) -> Any:
    """The query argument ``name`` as a whole number in low..high (``default`` when absent).

    Present but not a whole number (empty, signed, "1.5", "²"): 400, the request is
    malformed; a whole number out of range: 422.
    """
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest(
            f"{name} 必须是非负整数 ({name} must be a whole number, got {raw[:40]!r})."
        )
    if len(raw) > _MAX_DIGITS or not low <= int(raw) <= high:
        raise InvalidInput(
            f"{name} 超出范围 {low}…{high} ({name} must be between {low} and {high})."
        )
    return int(raw)
