"""The Socket.IO message queue between server processes (Redis), publishing in batches.

Flask-SocketIO's Redis manager publishes each emit with a round trip to Redis inside the
request that emits it: two per hall event (staff and public rooms), a sixth of a worker's
CPU at hundreds of tickets a second, and the writer waited for them. Here an emit is
delivered to this process's sockets at once, as before, and queued for the other processes;
one background task publishes the queue in order, many messages per Redis PUBLISH.
Receivers unpack a batch into the messages Flask-SocketIO already knows how to handle.

Redis going away (a restart, a crash) loses nothing a screen cannot get back, and delivery
resumes within about RETRY_S of Redis answering again. python-socketio's manager dropped a
batch after two tries (each with redis-py's own retries and backoff) and waited 1, 2, 4 …
up to 60 s between attempts to listen again, so screens on the other processes could stay
behind for a minute after Redis was back. Here:

- a process keeps what it could not publish (up to HOLD_MAX messages, oldest dropped past
  that) and tries again every RETRY_S; once Redis answers it waits SETTLE_S, so that the
  other processes have subscribed again, then publishes the held messages in order;
- the listener tries to subscribe again every RETRY_S, without backoff (one connection
  attempt per process: nothing to back off from on a hall's LAN);
- a screen that missed messages anyway (held ones dropped, or published before its process
  was listening again) sees a gap in seq at the next event and resyncs
  (hall_server/client/hall.py; the pages do the same).
"""

from __future__ import annotations

import logging
import socket
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import socketio

log = logging.getLogger(__name__)

MAX_BATCH = 200  # messages per PUBLISH: bounds one message's size (a few hundred KB)
RETRY_S = 0.5  # how often a process tries Redis again while it is away
SETTLE_S = 1.5  # after Redis is back, before the held messages go: the others resubscribe
HOLD_MAX = 20_000  # messages held for the other processes while Redis is away


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

    def _client(self) -> Any:
        """A Redis client of its own that fails at once (we retry ourselves, every RETRY_S)."""
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # TCP keepalives: a Redis machine gone without a goodbye (power, cable) ends the
        # subscriber's wait within ~11 s, instead of the system's 2 h, and it subscribes again.
        keepalive = {socket.TCP_KEEPIDLE: 5, socket.TCP_KEEPINTVL: 2, socket.TCP_KEEPCNT: 3}
        return self._get_redis_module().Redis.from_url(
            self.redis_url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2,
            socket_keepalive=True, socket_keepalive_options=keepalive, **self.redis_options,
        )  # fmt: skip

    def _publisher(self) -> None:
        client, down_since = None, None
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._outbox:
                batch = [self._outbox[i] for i in range(min(MAX_BATCH, len(self._outbox)))]
                try:
                    if client is None:
                        client = self._client()
                        if down_since is not None:
                            client.ping()
                            self.server.sleep(SETTLE_S)  # the others subscribe again
                    client.publish(self.channel, self.json.dumps({"method": "batch",
                                                                  "messages": batch}))  # fmt: skip
                except Exception as error:  # Redis is away: hold the messages, try again
                    client = None
                    if down_since is None:
                        down_since = time.monotonic()
                        log.warning("cannot publish to the message queue (Redis): %s; holding "
                                    "messages, trying every %s s", error, RETRY_S)  # fmt: skip
                    while len(self._outbox) > HOLD_MAX:
                        self._outbox.popleft()  # the screens resync from the gap
                    self.server.sleep(RETRY_S)
                    continue
                for _ in batch:
                    self._outbox.popleft()
                if down_since is not None:
                    log.warning("publishing to the message queue (Redis) again after %.1f s",
                                time.monotonic() - down_since)  # fmt: skip
                    down_since = None

    def _redis_listen_with_retries(self) -> Iterator[Any]:
        """Subscribe, and subscribe again every RETRY_S while Redis is away."""
        if "sentinel" in self.redis_url.split("://", 1)[0]:  # python-socketio's own way
            yield from super()._redis_listen_with_retries()
            return
        down_since = None
        while True:
            try:
                self.redis = self._client()
                self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                self.pubsub.subscribe(self.channel)
                if down_since is not None:
                    log.warning("listening to the message queue (Redis) again after %.1f s",
                                time.monotonic() - down_since)  # fmt: skip
                    down_since = None
                yield from self.pubsub.listen()
            except Exception as error:
                if down_since is None:
                    down_since = time.monotonic()
                    log.warning("lost the message queue (Redis): %s; trying every %s s",
                                error, RETRY_S)  # fmt: skip
                self.server.sleep(RETRY_S)

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
