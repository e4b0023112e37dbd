"""Login limits on the app: the counts' storage, and the client's address behind proxies.

The counts are kept by ``limits`` (the engine of Flask-Limiter, by the same maintainers):
``memory://`` for one process, or the Redis that the hall's processes share. They are
applied by hand in ``services/auth.login`` (only wrong passwords count; a locked login is
refused even with the right password). Flask-Limiter itself is not mounted: its hooks run
on every request of the app (~25-30 µs each, measured; docs/SECURITY.md) for a limit that
concerns one route.

The client address is the peer of the connection. Behind reverse proxies (nginx) the
address comes from ``X-Forwarded-For`` only as far as the site trusts them
(``server.trusted_proxies``, werkzeug's ProxyFix); by default nothing a client writes in
that header is believed.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.middleware.proxy_fix import ProxyFix

from ..services.auth import dummy_password_hash
from ..services.login_limits import LoginLimits
from ..settings import Settings

EXTENSION = "hall_login_limits"


def storage_uri(settings: Settings) -> str:
    """Where the counts live: login.storage_url, else the hall's Redis, else this process."""
    if settings.login.storage_url:
        return settings.login.storage_url
    queue = settings.server.message_queue
    if queue.startswith("unix://"):  # redis-py's socket URL; the limiter's names the scheme
        return "redis+unix://" + queue.removeprefix("unix://")
    return queue or "memory://"


def init_login_limits(app: Flask, settings: Settings) -> LoginLimits:
    """Give ``app`` its login limits and, when the site trusts proxies, their client address."""
    if settings.server.trusted_proxies:
        hops = settings.server.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    uri = storage_uri(settings)
    options: dict[str, Any] = {}
    if not uri.startswith("memory://"):  # a Redis that is down must not hang a login
        options = {"socket_connect_timeout": 2, "socket_timeout": 2}
    storage = storage_from_string(uri, **options)
    assert isinstance(storage, Storage)  # not one of the async storages
    limiter = MovingWindowRateLimiter(storage)
    limits = LoginLimits(
        limiter,
        hall=settings.hall.code,
        per_login=settings.login.fails_per_login,
        per_address=settings.login.fails_per_address,
        window_min=settings.login.window_min,
    )
    app.extensions[EXTENSION] = limits
    dummy_password_hash()  # made now (once a process), not during the first unknown login
    return limits


def login_limits() -> LoginLimits:
    """The login limits of the current app."""
    limits: LoginLimits = current_app.extensions[EXTENSION]
    return limits


def client_address() -> str:
    """The client's address (after ProxyFix, when proxies are trusted)."""
    return request.remote_addr or ""
