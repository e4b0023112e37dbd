"""Run the hall server: gevent's WSGI server with websockets (default) or threading.

gevent answers a request with two sends (headers, then body); without TCP_NODELAY the
client's delayed ACK holds the second send ~40 ms, which made every keep-alive request
of a kiosk or page take 44-48 ms on an idle server (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import gc
import socket
from typing import Any

from flask import Flask

from .extensions import socketio


def serve(
    app: Flask, *, host: str, port: int, async_mode: str, listener: socket.socket | None = None
) -> None:
    """Serve ``app`` until interrupted, on ``listener`` when given (a worker's shared socket)."""
    # Everything built so far (the app, SQLAlchemy's mappers and caches, pydantic models)
    # lives as long as the process: keep it out of the collector's full passes.
    gc.collect()
    gc.freeze()
    if async_mode != "gevent":
        socketio.run(app, host=host, port=port, log_output=False, allow_unsafe_werkzeug=True)
        return
    import gevent
    from gevent.pywsgi import WSGIServer
    from geventwebsocket.handler import WebSocketHandler

    class FairHandler(WebSocketHandler):  # type: ignore[misc]
        def log_request(self) -> None:
            pass  # no access log (log=None): gevent still formatted each line for nothing

        def handle_one_response(self) -> Any:
            result = super().handle_one_response()
            # A keep-alive client whose next request is already buffered would be served
            # again without a switch, starving every other connection: let them run first.
            gevent.sleep(0)
            return result

    class NoDelayServer(WSGIServer):  # type: ignore[misc]
        def handle(self, client: socket.socket, address: Any) -> Any:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return super().handle(client, address)

    server = NoDelayServer(listener or (host, port), app, handler_class=FairHandler, log=None)
    if listener is not None:
        # Workers share the socket: accept one connection per wake-up, so an idle worker
        # gets the next one instead of a busy one taking the whole backlog.
        server.max_accept = 1
    server.serve_forever()
