"""Sockets last only as long as their tokens.

A connection opened with a staff or device token is asked again every TOKEN_RECHECK_S: one
whose token was logged out, revoked or has expired gets an ``error`` event and is closed (a
stolen token kept open in a socket would otherwise go on hearing the hall after the logout,
or a revoked kiosk go on receiving print jobs).
"""

from __future__ import annotations

import logging
import weakref

from ..domain.errors import DomainError
from ..extensions import socketio
from ..services.auth import authenticate
from ..services.context import HallContext

log = logging.getLogger(__name__)

# How often open connections' tokens are asked again (a logout elsewhere reaches this
# process's token cache within auth.TOKEN_CACHE_S on top of this).
TOKEN_RECHECK_S = 5.0


class TokenWatch:
    """Remember each connection's token and close the connections whose token ended.

    A namespace owns one: ``watch(sid, token)`` on connect, ``forget(sid)`` on disconnect.
    """

    def __init__(self, ctx: HallContext, namespace: str) -> None:
        self.ctx = ctx
        self.namespace = namespace
        self.tokens: dict[str, str] = {}  # sid -> the staff or device token it connected with
        self._watching = False

    def watch(self, sid: str, token: str) -> None:
        self.tokens[sid] = token
        self._watch_tokens()

    def forget(self, sid: str) -> None:
        self.tokens.pop(sid, None)

    def _watch_tokens(self) -> None:
        """Start the round that closes connections whose token ended, if it is not running.

        It runs while token connections are open (the next one starts it again), holds itself
        only weakly (a namespace that is gone ends it), and stops when a round cannot
        reach the database (the hall is down; a client that reconnects starts it again).
        """
        if self._watching:
            return
        self._watching = True
        ref = weakref.ref(self)

        def loop() -> None:
            while True:
                socketio.sleep(TOKEN_RECHECK_S)
                watch = ref()
                if watch is None:
                    return
                if not watch.tokens or watch.close_ended_tokens() is None:
                    watch._watching = False
                    if watch.tokens and watch.close_ended_tokens() is not None:
                        watch._watch_tokens()  # a connection came in as it stopped
                    return
                del watch

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
                message = {"code": error.code, "message": error.message}
                socketio.emit("error", message, to=sid, namespace=self.namespace)
                socketio.server.disconnect(sid, namespace=self.namespace)
                closed += 1
            except Exception as error:  # the database is away
                log.warning("could not check the tokens of open connections: %s", error)
                return None
        return closed
