"""Socket.IO namespace /hall: token auth on connect, rooms per audience, resync by seq.

A client connects with ``auth={"token": …, "last_seq": N}`` (a visitor's phone uses
``{"ticket": <ticket token>}``). It gets the events after N, or a ``snapshot`` when it is
too far behind or gives no seq, then every ``event`` as it commits. Events carry ``seq``;
a client ignores a seq it has seen and asks ``resync`` when it sees a gap.

A connection opened with a staff or device token lasts only as long as the token
(tokens.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask_socketio import join_room

from ..contract import NAMESPACE, PUBLIC, STAFF, audience_of, room
from ..domain.errors import DomainError, InvalidInput
from ..extensions import socketio
from ..services.auth import authenticate
from ..services.context import HallContext
from ..services.snapshot import events_after, snapshot
from ..services.tickets import public_ticket
from .inbound import CheckedNamespace, number_of, object_of, refusal, text_of
from .public import HallRooms
from .tokens import TOKEN_RECHECK_S, TokenWatch

__all__ = ["TOKEN_RECHECK_S", "HallNamespace", "init_realtime"]

log = logging.getLogger(__name__)


class HallNamespace(CheckedNamespace):
    """The one namespace of the hall."""

    def __init__(self, ctx: HallContext) -> None:
        super().__init__(NAMESPACE)
        self.ctx = ctx
        self.token_watch = TokenWatch(ctx, NAMESPACE)
        self.audience: dict[str, str] = {}

    def on_connect(self, auth: Any = None) -> None:
        try:  # malformed auth is refused in words, like a wrong token (inbound.py)
            auth = object_of(auth, "auth")
            ticket = text_of(auth, "ticket")
            if ticket:
                public_ticket(self.ctx, ticket)  # NotFound for a bad token
                audience = PUBLIC
            else:
                token = text_of(auth, "token")
                who = authenticate(self.ctx, token)
                audience = audience_of(who.kind, who.role)
        except DomainError as error:
            raise refusal(error) from None
        sid = request.sid  # type: ignore[attr-defined]
        self.audience[sid] = audience
        if not ticket and token:
            self.token_watch.watch(sid, token)
        join_room(room(self.ctx.hall_id, audience))
        self._catch_up(sid, self._last_seq(sid, "connect", auth))

    def on_disconnect(self, *_: Any) -> None:
        self.audience.pop(request.sid, None)  # type: ignore[attr-defined]
        self.token_watch.forget(request.sid)  # type: ignore[attr-defined]

    def on_resync(self, data: Any = None, *_: Any) -> None:
        sid = request.sid  # type: ignore[attr-defined]
        self._catch_up(sid, self._last_seq(sid, "resync", data))

    def _last_seq(self, sid: str, event: str, data: Any) -> int | None:
        """The client's last_seq; one it cannot have is answered with an ``error`` event and
        then a snapshot, as if it had sent none (a confused screen still gets the hall)."""
        try:
            return number_of(object_of(data, event))
        except InvalidInput as error:
            self.refuse_event(sid, event, error)
            return None

    def _catch_up(self, sid: str, last_seq: int | None) -> None:
        staff = self.audience.get(sid) == STAFF
        if last_seq is not None:
            missed = events_after(self.ctx, last_seq, staff=staff)
            if not missed["snapshot_required"]:
                for event in missed["events"]:
                    self.emit("event", event, room=sid)
                if missed.get("counts"):  # the public stream: counts instead of every issue
                    self.emit("event", missed["counts"], room=sid)
                return
        self.emit("snapshot", snapshot(self.ctx, staff=staff), room=sid)


def init_realtime(app: Flask, ctx: HallContext) -> Callable[[list[dict[str, Any]]], None]:
    """Register the namespace; return the subscriber that emits every committed event to the
    rooms that may see it (wired in hall_server/bootstrap.py)."""
    socketio.on_namespace(HallNamespace(ctx))
    staff_room, public_room = room(ctx.hall_id, STAFF), room(ctx.hall_id, PUBLIC)

    # Staff get every event; the public calls at once and queue counts coalesced (public.py).
    return HallRooms(ctx, staff_room, public_room)
