"""Wrong passwords counted per login and per client address, in the rate limiter's storage.

The counts live in the storage of ``limits`` (Flask-Limiter's engine; a moving window):
this process's memory, or a Redis that every server process of the hall shares, so
several processes allow one count between them, not one each. Only wrong passwords count;
a right one clears its login's count. Unknown logins are counted exactly like known ones,
so a refusal never tells which logins exist.

When the storage cannot be reached (Redis down), counting goes on in this process's memory
for RETRY_STORAGE_S, with one warning, rather than refusing every login of the hall.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import TypeVar

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_STORAGE_S = 30  # after the storage failed, count in memory this long before retrying


class LoginLimits:
    """The hall's counts of wrong passwords: per login and per client address."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        hall: str,
        per_login: int,
        per_address: int,
        window_min: int,
    ) -> None:
        self._limiter = limiter
        self._fallback = MovingWindowRateLimiter(MemoryStorage())
        self._down_until = 0.0  # monotonic time until which the storage is not tried
        self._hall = hall
        self.window_s = window_min * 60
        self.per_login = RateLimitItemPerMinute(per_login, window_min)
        self.per_address = RateLimitItemPerMinute(per_address, window_min)

    def _login_key(self, login: str) -> tuple[str, ...]:
        # Logins are hashed: the storage (a shared Redis) never holds a login in clear.
        return (self._hall, "login", hashlib.sha256(login.encode()).hexdigest()[:32])

    def _address_key(self, address: str) -> tuple[str, ...]:
        return (self._hall, "address", address or "unknown")

    def _run(self, use: Callable[[RateLimiter], T]) -> T:
        if time.monotonic() < self._down_until:
            return use(self._fallback)
        try:
            return use(self._limiter)
        except Exception as error:  # the storage (Redis) is unreachable: count in this process
            log.warning(
                "login limits: storage unreachable (%s); counting in this process for %d s",
                error, RETRY_STORAGE_S,
            )  # fmt: skip
            self._down_until = time.monotonic() + RETRY_STORAGE_S
            return use(self._fallback)

    def wait_s(self, login: str, address: str) -> int:
        """Seconds until ``login`` may be tried from ``address`` again; 0 = now."""

        def wait(limiter: RateLimiter) -> int:
            longest = 0.0
            for item, key in ((self.per_address, self._address_key(address)),
                              (self.per_login, self._login_key(login))):  # fmt: skip
                stats = limiter.get_window_stats(item, *key)
                if stats.remaining <= 0:
                    longest = max(longest, stats.reset_time - time.time())
            return max(1, math.ceil(longest)) if longest > 0 else 0

        return self._run(wait)

    def failed(self, login: str, address: str) -> int:
        """Count one wrong password; when it filled the login's count, return the seconds
        until the count has room again (how long to lock the login), else 0."""

        def hit(limiter: RateLimiter) -> int:
            limiter.hit(self.per_address, *self._address_key(address))
            limiter.hit(self.per_login, *self._login_key(login))
            stats = limiter.get_window_stats(self.per_login, *self._login_key(login))
            if stats.remaining > 0:
                return 0
            return max(1, math.ceil(stats.reset_time - time.time()))

        return self._run(hit)

    def forget(self, login: str) -> None:
        """Clear a login's count (its right password, or a supervisor lifting its lock)."""
        self._run(lambda limiter: limiter.clear(self.per_login, *self._login_key(login)))
