"""Socket.IO namespace /hall: token auth on connect, rooms per audience, resync by seq.

A client connects with ``auth={"token": …, "last_seq": N}`` (a visitor's phone uses
``{"ticket": <ticket token>}``). It gets the events after N, or a ``snapshot`` when it is
too far behind or gives no seq, then every ``event`` as it commits. Events carry ``seq``;
a client ignores a seq it has seen and asks ``resync`` when it sees a gap.

A connection opened with a staff or device token lasts only as long as the token: every
TOKEN_RECHECK_S the namespace asks again, and a connection whose token was logged out,
revoked or has expired gets an ``error`` event and is closed (a stolen token kept open in a
socket would otherwise go on hearing the staff stream after the logout).
"""

from __future__ import annotations

import logging
import weakref
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

log = logging.getLogger(__name__)


# How often open connections' tokens are asked again (a logout elsewhere reaches this
# process's token cache within auth.TOKEN_CACHE_S on top of this).
TOKEN_RECHECK_S = 5.0


class HallNamespace(CheckedNamespace):
    """The one namespace of the hall."""

    def __init__(self, ctx: HallContext) -> None:
        super().__init__(NAMESPACE)
        self.ctx = ctx
        self.audience: dict[str, str] = {}
        self.tokens: dict[str, str] = {}  # sid -> the staff or device token it connected with
        self._watching = False

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
            self.tokens[sid] = token
            self._watch_tokens()
        join_room(room(self.ctx.hall_id, audience))
        self._catch_up(sid, self._last_seq(sid, "connect", auth))

    def on_disconnect(self, *_: Any) -> None:
        self.audience.pop(request.sid, None)  # type: ignore[attr-defined]
        self.tokens.pop(request.sid, None)  # type: ignore[attr-defined]

    def _watch_tokens(self) -> None:
        """Start the round that closes connections whose token ended, if it is not running.

        It runs while token connections are open (the next one starts it again), holds the
        namespace only weakly (an app that is gone ends it), and stops when a round cannot
        reach the database (the hall is down; a client that reconnects starts it again).
        """
        if self._watching:
            return
        self._watching = True
        ref = weakref.ref(self)

        def loop() -> None:
            while True:
                socketio.sleep(TOKEN_RECHECK_S)
                namespace = ref()
                if namespace is None:
                    return
                if not namespace.tokens or namespace.close_ended_tokens() is None:
                    namespace._watching = False
                    if namespace.tokens and namespace.close_ended_tokens() is not None:
                        namespace._watch_tokens()  # a connection came in as it stopped
                    return
                del namespace

        socketio.start_background_task(loop)

    def close_ended_tokens(self) -> int | None:
        """Close every connection whose token no longer authenticates; return how many
        (None: the tokens could not be checked)."""
        closed = 0
        for sid, token in list(self.tokens.items()):
            try:
                authenticate(self.ctx, token)
            except DomainError as error:  # logged out, revoked, expired, deactivated
                self.tokens.pop(sid, None)
                self.emit("error", {"code": error.code, "message": error.message}, room=sid)
                socketio.server.disconnect(sid, namespace=NAMESPACE)
                closed += 1
            except Exception as error:  # the database is away
                log.warning("could not check the tokens of open connections: %s", error)
                return None
        return closed

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
