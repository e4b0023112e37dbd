"""Extensions, created unbound; ``create_app`` binds them to each app it makes."""

from __future__ import annotations

from flask_socketio import SocketIO

socketio = SocketIO()
