"""The app factory: settings -> database -> hall context -> API and realtime."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.sessions import SessionInterface

from .api import errors as api_errors
from .api.bodies import init_body_limits
from .api.common import HallApp
from .api.ids import BoundedInt
from .db import Database
from .extensions import socketio
from .server import MAX_MESSAGE_BYTES
from .services.context import HallContext
from .settings import Settings, load_settings


def database_url(settings: Settings) -> str:
    """The configured database, or SQLite under var/."""
    if settings.server.database_url:
        return settings.server.database_url
    return f"sqlite:///{settings.server.var_path / 'hall.db'}"


def secret_key(settings: Settings) -> str:
    """The configured secret, or one generated once and kept in var/secret_key."""
    if settings.server.secret_key:
        return settings.server.secret_key
    path = settings.server.var_path / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class NoCookieSessions(SessionInterface):
    """The hall keeps no cookie sessions: staff and devices send bearer tokens.

    Flask's default opened (and built a signer for) a cookie session on every request.
    """

    def open_session(self, app: Flask, request: Any) -> Any:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        return None


def message_queue(url: str) -> Any:
    """The Socket.IO client manager: in-process, or joined to other processes through Redis."""
    if not url:
        return None  # python-socketio's own in-process manager
    from .realtime.queue import BatchingRedisManager

    return BatchingRedisManager(url)


def create_app(
    test_config: Mapping[str, Any] | None = None, *, settings: Settings | None = None
) -> Flask:
    """Build the hall server for the configured hall (the database must be initialised)."""
    settings = settings or load_settings(test_config)
    app = Flask(__name__, static_folder=None)
    app.session_interface = NoCookieSessions()
    app.config["SECRET_KEY"] = secret_key(settings)
    init_body_limits(app)  # 413 past 64 KB, before any view reads it (api/bodies.py)
    app.url_map.converters["int"] = BoundedInt  # ids past 2^63-1 match no route: 404
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    db = Database(database_url(settings), sqlite_synchronous=settings.server.sqlite_synchronous)
    ctx = HallContext(
        db,
        settings.hall.code,
        secret=app.config["SECRET_KEY"],
        resync_max_events=settings.server.resync_max_events,
    )
    app.extensions["hall"] = HallApp(settings=settings, db=db, ctx=ctx)

    from .api.routes import api
    from .web.pages import web

    api_errors.register(app)
    app.register_blueprint(api)
    app.register_blueprint(web)
    from .web.headers import init_browser_defences

    init_browser_defences(app)
    from .api.alarms import alarms_api

    app.register_blueprint(alarms_api)
    from .api.reports import reports_api

    app.register_blueprint(reports_api)
    from .api.staffing import staffing_api

    app.register_blueprint(staffing_api)
    from .web.supervisor import supervisor_pages

    app.register_blueprint(supervisor_pages)
    from .api.admin import admin_api

    app.register_blueprint(admin_api)
    from window_client.web import window_pages

    from .api.window_client import window_client_api

    app.register_blueprint(window_client_api)
    app.register_blueprint(window_pages)
    from display.web import display_api
    from display.web import pages as display_pages

    app.register_blueprint(display_pages)
    app.register_blueprint(display_api)
    socketio.init_app(
        app,
        async_mode=settings.server.async_mode,
        client_manager=message_queue(settings.server.message_queue),
        cors_allowed_origins=[],
        json=None,
        max_http_buffer_size=MAX_MESSAGE_BYTES,  # one message or polling POST (server.py)
    )
    from .api.kiosk import init_kiosk

    init_kiosk(app)
    from .api.limiter import init_login_limits

    init_login_limits(app, settings)  # after Socket.IO: its proxy fix covers every request
    from .web.metrics import init_metrics

    init_metrics(app)  # GET /metrics for Prometheus, and the requests it counts
    from .bootstrap import wire_app

    wire_app(app)  # what runs after a commit: the table in bootstrap.py
    return app
