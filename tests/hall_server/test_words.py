"""English texts speak plain English: no internal state names ("is checked_in", "a no_show
ticket"), no role codes doubled ("staff staff may not do this")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hall_server.domain import tickets as rules
from hall_server.domain import windows
from hall_server.domain.errors import DomainError
from hall_server.services.actors import Actor
from hall_server.services.auth import require

ROOT = Path(__file__).resolve().parents[2]
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
DOUBLED = re.compile(r"\b(\w+) \1\b", re.IGNORECASE)
MANGLED = re.compile(r"\b(no-show|no-showed|holded|requeued?|expireed)\b")  # raw action names


def english(message: str) -> str:
    """The English part of a "中文 (English)." message."""
    assert "(" in message and message.index("(") > 0, message  # Chinese first
    return message[message.index("(") :]


def plain(message: str) -> None:
    text = english(message)
    assert not SNAKE.search(text), message
    assert not DOUBLED.search(text), message
    assert not MANGLED.search(text), message


def refusals_of_tickets() -> list[str]:
    found = []
    for state in rules.TicketState:
        for action in rules.TicketAction:
            if (state, action) not in rules.TRANSITIONS:
                with pytest.raises(DomainError) as refused:
                    rules.next_state(state, action)
                found.append(str(refused.value))
    return found


def test_every_refused_ticket_action_is_said_in_plain_english() -> None:
    messages = refusals_of_tickets()
    assert len(messages) > 40
    for message in messages:
        plain(message)
    assert any("marked absent cannot be called" in m for m in messages)


def test_every_refused_window_action_is_said_in_plain_english() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    for state in windows.WindowState:
        window = windows.Window(number=3, state=state)
        for action in windows.WindowAction:
            try:
                windows.act(window, action, now, reason="午休")
            except DomainError as refused:
                plain(str(refused))
        if state is not windows.WindowState.OPEN:
            with pytest.raises(DomainError) as refused:
                windows.require_open(window)
            plain(str(refused.value))


@pytest.mark.parametrize(
    ("kind", "role", "allowed"),
    [
        ("staff", "staff", ("supervisor",)),
        ("staff", "supervisor", ("admin",)),
        ("device", "kiosk", ("device:display",)),
        ("device", "display", ("staff",)),
        ("device", "evaluator", ("device:kiosk",)),
    ],
)
def test_a_refused_role_is_named_once_in_words(kind: str, role: str, allowed: tuple[str]) -> None:
    with pytest.raises(DomainError) as refused:
        require(Actor(kind=kind, id="x", role=role), *allowed)
    plain(str(refused.value))
    assert "staff staff" not in str(refused.value) and "device kiosk" not in str(refused.value)


def test_no_error_message_interpolates_an_internal_name() -> None:
    """Source scan: the English part "(…)" of a message must not print a state, role or enum
    value raw."""
    raw = re.compile(r"\([^()]*\{[\w.]*(?:\.state|\.role|\.value|\.status)\}")
    offenders = []
    for folder in ("domain", "services", "api", "realtime"):
        for path in sorted((ROOT / "hall_server" / folder).glob("**/*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if raw.search(line) and "literal_column" not in line and '"' in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
