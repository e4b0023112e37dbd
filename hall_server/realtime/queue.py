"""The Socket.IO message queue between server processes (Redis), publishing in batches.

Flask-SocketIO's Redis manager publishes each emit with a round trip to Redis inside the
request that emits it: two per hall event (staff and public rooms), a sixth of a worker's
CPU at hundreds of tickets a second, and the writer waited for them. Here an emit is
delivered to this process's sockets at once, as before, and queued for the other processes;
one background task publishes the queue in order, many messages per Redis PUBLISH.
Receivers unpack a batch into the messages Flask-SocketIO already knows how to handle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import socketio

MAX_BATCH = 200  # messages per PUBLISH: bounds one message's size (a few hundred KB)


class BatchingRedisManager(socketio.RedisManager):  # type: ignore[misc]
    """``socketio.RedisManager`` whose publishes leave in order from one background task."""

    def __init__(self, url: str, channel: str = "flask-socketio") -> None:
        super().__init__(url, channel=channel)
        self._outbox: deque[dict[str, Any]] = deque()
        self._wake: Any = None

    def _publish(self, data: dict[str, Any]) -> None:
        self._outbox.append(data)
        if self._wake is None:  # the first emit (the manager itself starts on a first connect)
            self._wake = self.server.eio.create_event()
            self.server.start_background_task(self._publisher)
        self._wake.set()

    def _publisher(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._outbox:
                batch = [self._outbox.popleft() for _ in range(min(MAX_BATCH, len(self._outbox)))]
                # RedisManager._publish retries once, then logs and drops: screens that miss
                # events see a gap in seq and resync (see hall_server/client/hall.py).
                super()._publish({"method": "batch", "messages": batch})

    def _listen(self) -> Iterator[Any]:
        for raw in super()._listen():
            try:
                data = self.json.loads(raw)
            except ValueError:
                continue  # not ours: the base class would ignore it too
            if isinstance(data, dict) and data.get("method") == "batch":
                yield from data["messages"]
            else:
                yield data
