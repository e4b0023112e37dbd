"""The emit side of the hall's rooms: staff get every event, the public its own stream.

The public stream (services/public_stream.py has the rule and its reads): calls, window
changes and notices go out at once, each with ``prev``; issues do not. Any committed batch
arms one timer per process (not one per event); when it fires, ``COUNTS_PERIOD_S`` later,
it reads the hall's last seq and the day counters in one read and, if the seq moved since the
counts it last sent, emits one ``queue.counts`` to the public room.

Why the counts converge to the truth, also with several processes: each process arms its
timer on the events it commits, and a timer always reads the database (every process's
commits), never a sum kept in memory. A client drops a counts message only when it already
applied a later event; that event armed its own process's timer, whose read comes after it,
so a later counts message follows. The hall going quiet leaves the last counts message sent
after the last event: current up to it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..contract import NAMESPACE, public_view
from ..extensions import socketio
from ..services.context import HallContext
from ..services.public_stream import is_public, last_public_seq, queue_counts

log = logging.getLogger(__name__)

COUNTS_PERIOD_S = 0.4  # at most 2-3 counts messages a second per hall and process
COUNTS_RETRIES = 3  # a failed read of the counts is tried again this many periods


class HallRooms:
    """Emit each committed batch to the staff room as is and to the public room as its stream."""

    def __init__(self, ctx: HallContext, staff_room: str, public_room: str) -> None:
        self.ctx = ctx
        # This app's Socket.IO server, kept: a timer of an app that was replaced (tests build
        # one app after another) must not reach the next app's clients.
        self.server = socketio.server
        self.period_s = COUNTS_PERIOD_S
        self.staff_room, self.public_room = staff_room, public_room
        self._lock = threading.Lock()
        # What this process knows of the log: every event up to ``_seen`` passed through it
        # (None: not known, another process wrote since), and the last public one among them.
        self._seen: int | None = None
        self._last_public = 0
        self._armed = False
        self._sent_counts: int | None = None  # seq of the last counts message sent

    def __call__(self, events: list[dict[str, Any]]) -> None:
        """The subscriber: called after each commit, in seq order."""
        for event in events:
            self.server.emit("event", event, to=self.staff_room, namespace=NAMESPACE)
            seq = int(event["seq"])
            if is_public(event["type"]):
                message = {**public_view(event), "prev": self._prev_before(seq)}
                self.server.emit("event", message, to=self.public_room, namespace=NAMESPACE)
                self._saw(seq, public=True)
            else:
                self._saw(seq, public=False)
        if events:
            self.arm()

    # What came before --------------------------------------------------------------------

    def _prev_before(self, seq: int) -> int:
        with self._lock:
            if self._seen == seq - 1:
                return self._last_public
        # Another process wrote in between, or this is the first event here: ask the log
        # (commits happen in seq order, so everything before ``seq`` is there).
        with self.ctx.db.read() as session:
            prev = last_public_seq(session, self.ctx.hall_id, seq - 1)
        with self._lock:
            self._seen, self._last_public = seq - 1, prev
        return prev

    def _saw(self, seq: int, *, public: bool) -> None:
        with self._lock:
            if self._seen is not None and seq == self._seen + 1:
                self._seen = seq
                if public:
                    self._last_public = seq
            else:  # another process wrote in between: ask the log next time
                self._seen = None

    # Coalesced counts --------------------------------------------------------------------

    def arm(self) -> None:
        """Make sure a counts check runs within ``COUNTS_PERIOD_S`` (one pending at a time)."""
        with self._lock:
            if self._armed:
                return
            self._armed = True
        self.server.start_background_task(self._later)

    def _later(self) -> None:
        for _ in range(COUNTS_RETRIES):
            self.server.sleep(self.period_s)
            with self._lock:
                self._armed = False  # an event committed from now on arms the next check
            if self.ctx.db.disposed:  # the app has shut down meanwhile: nobody to tell
                return
            try:
                self.send_counts()
                return
            except Exception:  # the database is away: try again, the counts must converge
                log.warning("queue counts for the screens could not be read", exc_info=True)
                with self._lock:
                    if self._armed:
                        return
                    self._armed = True
        with self._lock:
            self._armed = False

    def send_counts(self) -> dict[str, Any] | None:
        """Emit the true counts to the public room if the hall moved since the last ones."""
        # Under the hall's write lock: every commit of this process is then published too, so
        # the counts never name a public event (``prev``) that the screens have yet to get.
        with self.ctx.write_lock:
            with self._lock:
                known = {self._seen: self._last_public} if self._seen is not None else None
                sent = self._sent_counts
            counts = queue_counts(self.ctx, known_prev=known)
        if counts["seq"] == sent:
            return None
        self.server.emit("event", counts, to=self.public_room, namespace=NAMESPACE)
        with self._lock:
            self._sent_counts = counts["seq"]
        return counts
