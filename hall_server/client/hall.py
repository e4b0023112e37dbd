"""A Python client of the hall's Socket.IO namespace that keeps the hall's state.

Display, kiosk and keypad agents use it::

    client = HallClient("http://127.0.0.1:5000", token=device_token)
    client.on("ticket.called", announce)
    client.start()
    client.wait_for(lambda hall: hall.ready, timeout_s=10)

It connects in a background thread, applies the ``snapshot`` and every ``event`` in seq
order (a seen seq is ignored, a gap is buffered and filled by asking ``resync``), and
reconnects by itself with its last seq, so the server sends only what it missed.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..contract import NAMESPACE
from .connection import Connection
from .state import Event, HallState, apply_event, is_behind, order_key, prev_of

log = logging.getLogger(__name__)

Callback = Callable[[Event], None]
# A gap still open this long after asking resync is asked about again (the answer was lost).
RESYNC_RETRY_S = 2.0


@dataclass
class ClientStats:
    """Counters for an agent's health page and for tests."""

    connects: int = 0
    snapshots: int = 0
    events: int = 0  # applied
    duplicates: int = 0  # ignored: seq already applied
    resyncs: int = 0  # asked


class HallClient:
    """Keep a hall's state from its Socket.IO namespace, in a background thread."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        ticket: str | None = None,
        retry_delay_s: float = 0.5,
        retry_delay_max_s: float = 5.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        if (token is None) == (ticket is None):
            raise ValueError("give exactly one of token (staff or device) or ticket (phone)")
        self.url = url.rstrip("/")
        self._credentials = {"token": token} if token is not None else {"ticket": ticket}
        self._cond = threading.Condition()
        self._state = HallState()
        # (seq, counts?) -> a message not yet applicable (docs/API.md, "Realtime")
        self._pending: dict[tuple[int, int], Event] = {}
        self._asked_at: float | None = None  # when resync was last asked, gap still open
        self._snapshot_asked = False
        # Socket.IO runs each message's handler in its own thread: this keeps the events'
        # callbacks in seq order.
        self._delivery = threading.Lock()
        self._callbacks: dict[str, list[Callback]] = {}
        self.stats = ClientStats()
        self._link = Connection(
            self.url,
            NAMESPACE,
            self._auth,
            retry_delay_s=retry_delay_s,
            retry_delay_max_s=retry_delay_max_s,
            connect_timeout_s=connect_timeout_s,
            name="hall-client",
        )
        self._link.on("snapshot", self._on_snapshot)
        self._link.on("event", self._on_event)
        self._link.watch(self._on_link)

    @property
    def last_error(self) -> str:
        """Why the last connection attempt failed ("" once connected)."""
        with self._cond:
            return self._state.error

    @property
    def state(self) -> HallState:
        """A copy of the current state, safe to keep and read."""
        with self._cond:
            return copy.deepcopy(self._state)

    def on(self, event_type: str, callback: Callback) -> None:
        """Call ``callback(event)`` after each applied event of this type.

        ``"*"`` matches every event; ``"snapshot"`` gets each applied snapshot. Callbacks
        run in the client's thread and should return quickly.
        """
        self._callbacks.setdefault(event_type, []).append(callback)

    def wait_for(self, predicate: Callable[[HallState], bool], timeout_s: float) -> bool:
        """Wait until ``predicate(state)`` is true; return False at the deadline.

        The predicate sees the live state under the client's lock: read it, keep nothing.
        """
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not predicate(self._state):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def start(self) -> None:
        """Connect in the background and keep reconnecting until ``stop``."""
        self._link.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Disconnect and stop reconnecting; the state is kept for a later ``start``."""
        self._link.stop(timeout_s)

    def resync(self) -> None:
        """Ask the server for every event after the last applied seq (or a snapshot)."""
        with self._cond:
            data = {"last_seq": self._state.seq} if self._resumable() else {}
            self._asked_at = time.monotonic()
            self._snapshot_asked = not data
            self.stats.resyncs += 1
        self._link.emit("resync", data)

    # The connection -----------------------------------------------------------------

    def _resumable(self) -> bool:
        return self._state.ready and not self._state.stale

    def _auth(self) -> dict[str, Any]:
        with self._cond:
            if self._resumable():
                return {**self._credentials, "last_seq": self._state.seq}
            return dict(self._credentials)

    def _on_link(self, change: str) -> None:
        """Mirror the connection in the state (under the connection's lock: be quick)."""
        with self._cond:
            if change == "connected":
                self.stats.connects += 1
            self._state.connected, self._state.error = self._link.connected, self._link.error
            self._cond.notify_all()

    # Applying what the server sends ---------------------------------------------------

    def _on_snapshot(self, snap: dict[str, Any]) -> None:
        with self._delivery:
            with self._cond:
                connected = self._state.connected
                self._state = HallState.from_snapshot(snap, connected=connected)
                self._snapshot_asked = False
                self.stats.snapshots += 1
                applied = self._drain()
                self._cond.notify_all()
            self._notify("snapshot", snap)
            for event in applied:
                self._notify(event["type"], event)

    def _on_event(self, event: Event) -> None:
        with self._delivery:
            with self._cond:
                if self._state.ready and is_behind(self._state, event):
                    self.stats.duplicates += 1
                    return
                self._pending[order_key(event)] = event
                applied = self._drain() if self._state.ready else []
                ask = self._gap_needs_resync() or (self._state.stale and not self._snapshot_asked)
                self._cond.notify_all()
            if ask:
                self.resync()
            for applied_event in applied:
                self._notify(applied_event["type"], applied_event)

    def _drain(self) -> list[Event]:
        """Apply the pending messages that follow the state; drop those it already has.

        The next one (lowest seq) follows when the state has its ``prev``: nothing the
        client should see lies between. Staff events follow ``seq - 1``; public messages
        say what they follow, so withheld issues leave no gap.
        """
        state = self._state
        for key in [k for k, e in self._pending.items() if is_behind(state, e)]:
            del self._pending[key]
        applied = []
        while self._pending:
            key = min(self._pending)
            event = self._pending[key]
            if prev_of(event) > state.seq:
                break  # one is missing: resync
            del self._pending[key]
            apply_event(state, event)
            applied.append(event)
        self.stats.events += len(applied)
        if not self._pending:
            self._asked_at = None
        return applied

    def _gap_needs_resync(self) -> bool:
        if not self._state.ready or not self._pending:
            return False
        return self._asked_at is None or time.monotonic() - self._asked_at > RESYNC_RETRY_S

    def _notify(self, event_type: str, data: Event) -> None:
        callbacks = list(self._callbacks.get(event_type, []))
        if event_type != "snapshot":
            callbacks += self._callbacks.get("*", [])
        for callback in callbacks:
            try:
                callback(data)
            except Exception:  # one broken callback must not stop the hall's screen
                log.exception("hall client callback for %s failed", event_type)
