"""Housekeeping on the hall clock: end yesterday's open tickets, every minute."""

from __future__ import annotations

import logging

from flask import Flask

from .extensions import socketio
from .services.actors import SYSTEM
from .services.appointments import mark_no_shows
from .services.tickets import expire_open_tickets

log = logging.getLogger(__name__)
TICK_S = 60


# At a thousand commits a second a checkpoint each second never finished between two
# writes, the WAL reached SQLite's own limit and a commit checkpointed (20-75 ms stalls).
CHECKPOINT_S = 0.1


def start_checkpointer(app: Flask) -> None:
    """Checkpoint a SQLite WAL ten times a second, off the request path."""
    db = app.extensions["hall"].db
    if db.sqlite_path is None:
        return

    def loop() -> None:
        while True:
            try:
                db.checkpoint()
            except Exception:  # a busy or failed checkpoint is retried on the next beat
                log.exception("WAL checkpoint failed")
            socketio.sleep(CHECKPOINT_S)

    socketio.start_background_task(loop)


def start_ticker(app: Flask) -> None:
    """Run the housekeeping loop in the background of a serving process."""
    ctx = app.extensions["hall"].ctx

    def loop() -> None:
        while True:
            try:
                expired = expire_open_tickets(ctx, SYSTEM)
                if expired:
                    log.info("expired %d open tickets of earlier days", expired)
                mark_no_shows(ctx)  # appointments (预约) whose check-in window ended
            except Exception:  # keep ticking: one failed round must not stop housekeeping
                log.exception("housekeeping round failed")
            socketio.sleep(TICK_S)

    socketio.start_background_task(loop)
    start_checkpointer(app)
    from .services.supervision import start_supervision

    start_supervision(ctx, socketio.start_background_task, socketio.sleep)
