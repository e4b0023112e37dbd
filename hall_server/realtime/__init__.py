"""Socket.IO namespace /hall: token auth on connect, rooms per audience, resync by seq.

A client connects with ``auth={"token": …, "last_seq": N}`` (a visitor's phone uses
``{"ticket": <ticket token>}``). It gets the events after N, or a ``snapshot`` when it is
too far behind or gives no seq, then every ``event`` as it commits. Events carry ``seq``;
a client ignores a seq it has seen and asks ``resync`` when it sees a gap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask_socketio import ConnectionRefusedError, Namespace, join_room

from ..contract import NAMESPACE, PUBLIC, STAFF, audience_of, room
from ..domain.errors import DomainError
from ..extensions import socketio
from ..services.auth import authenticate
from ..services.context import HallContext
from ..services.snapshot import events_after, snapshot
from ..services.tickets import public_ticket
from .public import HallRooms


class HallNamespace(Namespace):  # type: ignore[misc]
    """The one namespace of the hall."""

    def __init__(self, ctx: HallContext) -> None:
        super().__init__(NAMESPACE)
        self.ctx = ctx
        self.audience: dict[str, str] = {}

    def on_connect(self, auth: dict[str, Any] | None = None) -> None:
        auth = auth if isinstance(auth, dict) else {}
        try:
            if auth.get("ticket"):
                public_ticket(self.ctx, str(auth["ticket"]))  # NotFound for a bad token
                audience = PUBLIC
            else:
                who = authenticate(self.ctx, auth.get("token"))
                audience = audience_of(who.kind, who.role)
        except DomainError as error:
            raise ConnectionRefusedError(error.message, {"code": error.code}) from None
        sid = request.sid  # type: ignore[attr-defined]
        self.audience[sid] = audience
        join_room(room(self.ctx.hall_id, audience))
        self._catch_up(sid, auth.get("last_seq"))

    def on_disconnect(self, *_: Any) -> None:
        self.audience.pop(request.sid, None)  # type: ignore[attr-defined]

    def on_resync(self, data: dict[str, Any] | None = None) -> None:
        sid = request.sid  # type: ignore[attr-defined]
        self._catch_up(sid, (data or {}).get("last_seq"))

    def _catch_up(self, sid: str, last_seq: Any) -> None:
        staff = self.audience.get(sid) == STAFF
        if isinstance(last_seq, int) and not isinstance(last_seq, bool) and last_seq >= 0:
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
