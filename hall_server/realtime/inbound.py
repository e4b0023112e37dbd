"""What a Socket.IO client may send, checked before the hall reads it.

Malformed input gets a clear answer and one line in the server log, never a traceback:

- at connect, a refusal (``connect_error``) whose data is ``{"code", "message"}``;
- after it, an ``error`` event ``{"code", "message", "event"}`` (and the same as the ack, for
  a client that asked for one) — for an event the namespace does not know, too.

Messages are bounded in size before they get here (``server.MAX_MESSAGE_BYTES``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError, Namespace

from ..domain.errors import DomainError, InvalidInput

log = logging.getLogger("hall_server.realtime")

MAX_NUMBER = 2**63 - 1
MAX_TEXT = 200  # a token, a ticket token, a role: far shorter


def refusal(error: DomainError) -> ConnectionRefusedError:
    """Refuse a connection: the client's ``connect_error`` carries ``{code, message}``."""
    log.warning(
        "refused a %s connection from %s: %s",
        getattr(request, "namespace", "?"), request.remote_addr, error.message,
    )  # fmt: skip
    return ConnectionRefusedError(error.message, {"code": error.code, "message": error.message})


def object_of(data: Any, what: str) -> dict[str, Any]:
    """``data`` as an object; nothing counts as an empty one."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{what} 须为对象 ({what} must be an object {{…}}, got {_kind(data)}).")
    return data


def text_of(data: dict[str, Any], key: str) -> str | None:
    """The string ``data[key]`` (absent or empty: None)."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise InvalidInput(
            f"{key} 须为不超过 {MAX_TEXT} 字的文字 "
            f"({key} must be a string of at most {MAX_TEXT} characters, got {_kind(value)})."
        )
    return value


def number_of(data: dict[str, Any], key: str = "last_seq") -> int | None:
    """``data[key]`` as a hall-log position or an id: a whole number 0 … 2^63-1 (absent: None)."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NUMBER:
        raise InvalidInput(
            f"{key} 须为 0 到 2^63-1 的整数 "
            f"({key} must be a whole number from 0 to 2^63-1, got {_kind(value)})."
        )
    return value


def _kind(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{type(value).__name__} {text[:30]}…"


class CheckedNamespace(Namespace):  # type: ignore[misc]
    """A namespace that answers malformed or unknown events with an ``error`` event."""

    def trigger_event(self, event: Any, *args: Any) -> Any:
        sid = args[0] if args else None
        if event in ("connect", "disconnect") and not self._sent_by_client(sid):
            return super().trigger_event(event, *args)  # the server's own connect/disconnect
        if (
            not isinstance(event, str)
            or event in ("connect", "disconnect")
            or not hasattr(self, f"on_{event}")
        ):
            unknown = InvalidInput(f"未知的消息 {_kind(event)} (unknown event {_kind(event)}).")
            return self.refuse_event(sid, str(event)[:40], unknown)
        try:
            return super().trigger_event(event, *args)
        except DomainError as error:
            return self.refuse_event(sid, event, error)

    def _sent_by_client(self, sid: Any) -> bool:
        # python-socketio runs the real connect and disconnect while the client is pending
        # (not connected); an event named "connect" arrives only from a connected client.
        return bool(sid) and bool(self.server.manager.is_connected(sid, self.namespace))

    def refuse_event(self, sid: Any, event: str, error: DomainError) -> dict[str, Any]:
        """Tell the client why its event was refused; one line in the log."""
        log.warning("refused %s %r from %s: %s", self.namespace, event, sid, error.message)
        answer = {"code": error.code, "message": error.message, "event": event}
        self.emit("error", answer, room=sid)
        return {"ok": False, **answer}
