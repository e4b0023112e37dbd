"""Run the hall server: gevent's WSGI server with websockets (default) or threading.

gevent answers a request with two sends (headers, then body); without TCP_NODELAY the
client's delayed ACK holds the second send ~40 ms, which made every keep-alive request
of a kiosk or page take 44-48 ms on an idle server (docs/BENCHMARKS.md).

Inbound sizes are bounded here, before anything reads a message whole (docs/API.md,
"Message sizes"): gevent-websocket read a frame of any announced length and unmasked and
UTF-8-checked it byte by byte in Python, so one 8 MB frame from a client that had not even
logged in held the whole process for seconds. A websocket message over MAX_MESSAGE_BYTES is
now refused by its frame header (close code 1009) without reading its payload, and a request
body left unread past DRAIN_BYTES closes the connection instead of being read to be thrown
away.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import socket
import struct
from pathlib import Path
from types import TracebackType
from typing import Any

from flask import Flask

from .extensions import socketio

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024
"""The largest Engine.IO message a client may send: one websocket message, or one long-polling
POST body (which may batch several packets).

What clients send is small: ``auth`` {token, last_seq} ~150 B, ``resync`` ~20 B,
``print_result`` ≤ 2 KB (its error text is cut at 300 characters, ≤ 6 bytes each as JSON
escapes), ``card`` ~200 B. 64 KB leaves room for a polling POST that batches dozens of them
after a reconnect, and costs well under a millisecond to read and check.
"""
MAX_BODY_BYTES = 64 * 1024
"""The largest HTTP request body (every JSON body of the API is well under 4 KB); the two
routes that take files allow more (admin TOML import 1 MB, appointments CSV 2 MB)."""
DRAIN_BYTES = 1024 * 1024
"""A request body left unread by up to this much is read and thrown away, so the client gets
its answer (a 413, say) on a connection that stays open; more closes the connection unread
(gevent alone would read any amount to throw it away)."""
MESSAGE_TOO_BIG = 1009  # RFC 6455 close code
ENGINEIO_METHODS = ("GET", "POST", "OPTIONS")

_OWN_CODE = tuple(
    str(Path(__file__).resolve().parents[1] / part)
    for part in ("hall_server", "kiosk", "display", "window_client", "devices")
)
# Our frames that only hand a request on (this module's handler, the /metrics WSGI layer in
# front of the app): an error passing through them alone is still the client's garbage.
_PASSES_ON = frozenset({__file__, str(Path(__file__).resolve().parent / "web" / "metrics.py")})


def raised_by_client_input(tb: TracebackType | None) -> bool:
    """Whether an error escaped Engine.IO/Socket.IO without ever reaching the hall's code.

    Those libraries raise ValueError, KeyError, TypeError … on a packet they cannot parse
    (a text frame "x", an event that is not a list, bad JSON): the client's garbage, worth one
    line in the log. An error that passed through the hall's own code is a bug and keeps its
    traceback.
    """
    while tb is not None:
        where = tb.tb_frame.f_code.co_filename
        if where.startswith(_OWN_CODE) and where not in _PASSES_ON:
            return False
        tb = tb.tb_next
    return True


class OneLineForClientGarbage(logging.Filter):
    """Turn the Engine.IO server's traceback for an unparsable packet into one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            _, error, tb = record.exc_info
            if raised_by_client_input(tb):
                record.msg = "refused a malformed Socket.IO packet (%s): %s: %s"
                record.args = (record.getMessage(), type(error).__name__, str(error)[:200])
                record.exc_info, record.exc_text = None, None
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR a websocket payload with its 4-byte mask, at C speed (one big-integer XOR)."""
    size = len(payload)
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")


def _bounded_websocket() -> type:
    """gevent-websocket's WebSocket, reading at most MAX_MESSAGE_BYTES per message."""
    from geventwebsocket.exceptions import FrameTooLargeException, ProtocolError, WebSocketError
    from geventwebsocket.websocket import MSG_ALREADY_CLOSED, MSG_CLOSED, Header, WebSocket

    class BoundedWebSocket(WebSocket):  # type: ignore[misc]
        # The same layout: an accepted WebSocket is switched to this class. (``self: Any``
        # below: mypy cannot see the slots of the untyped base.)
        __slots__ = ()

        def read_message(self: Any) -> Any:
            opcode = None
            message = bytearray()
            while True:
                header = Header.decode_header(self.stream)
                if header.flags:
                    raise ProtocolError("reserved bits set")
                if header.opcode in (self.OPCODE_TEXT, self.OPCODE_BINARY):
                    if opcode:
                        raise ProtocolError("a new message inside a fragmented one")
                    opcode = header.opcode
                elif header.opcode == self.OPCODE_CONTINUATION:
                    if not opcode:
                        raise ProtocolError("a continuation without a message")
                elif header.opcode == self.OPCODE_PING:
                    self.handle_ping(header, self._payload(header))
                    continue
                elif header.opcode == self.OPCODE_PONG:
                    self.handle_pong(header, self._payload(header))
                    continue
                elif header.opcode == self.OPCODE_CLOSE:
                    self.handle_close(header, self._payload(header))
                    return None
                else:
                    raise ProtocolError(f"unexpected opcode {header.opcode}")
                if len(message) + header.length > MAX_MESSAGE_BYTES:  # refused by its header
                    raise FrameTooLargeException(len(message) + header.length)
                message += self._payload(header)
                if header.fin:
                    break
            if opcode == self.OPCODE_TEXT:
                return bytes(message).decode("utf-8")  # C-speed check; UnicodeError -> 1007
            return message

        def _payload(self: Any, header: Any) -> bytes:
            if not header.length:
                return b""
            payload: bytes = self.raw_read(header.length)
            if len(payload) != header.length:
                raise WebSocketError("Unexpected EOF reading frame payload")
            return unmask(payload, header.mask) if header.mask else payload

        def close(self: Any, code: int = 1000, message: bytes = b"") -> None:
            """Close with ``code`` in the close frame (gevent-websocket sent none)."""
            if self.closed:
                self.current_app.on_close(MSG_ALREADY_CLOSED)
            try:
                payload = struct.pack("!H", code) + self._encode_bytes(message)
                self.send_frame(payload, opcode=self.OPCODE_CLOSE)
            except WebSocketError:
                pass  # the peer is gone: closing anyway
            finally:
                self.closed = True
                self.stream = self.raw_write = self.raw_read = self.environ = None

        def receive(self: Any) -> Any:
            import gevent

            if self.closed:
                self.current_app.on_close(MSG_ALREADY_CLOSED)
                raise WebSocketError(MSG_ALREADY_CLOSED)
            address = (self.environ or {}).get("REMOTE_ADDR", "?")
            try:
                message = self.read_message()
            except FrameTooLargeException as error:
                log.warning(
                    "closed the websocket of %s: a message of %s bytes, over the %d allowed "
                    "(close code 1009)", address, error.args[0], MAX_MESSAGE_BYTES
                )  # fmt: skip
                self.close(MESSAGE_TOO_BIG)
                return None
            except UnicodeError:
                log.warning("closed the websocket of %s: text that is not UTF-8", address)
                self.close(1007)
                return None
            except ProtocolError as error:
                log.warning("closed the websocket of %s: %s", address, error or "bad frame")
                self.close(1002)
                return None
            except OSError:  # the connection went away (WebSocketError is an OSError)
                self.close()
                self.current_app.on_close(MSG_CLOSED)
                return None
            # A client streaming messages back to back would otherwise be read on without a
            # switch, starving every other connection (as FairHandler does for requests).
            gevent.sleep(0)
            return message

    return BoundedWebSocket


_IN_FLIGHT = [0]


def requests_in_flight() -> int:
    """HTTP requests of this process being answered now, not counting websockets and
    Engine.IO long polls (which may wait for the ping interval): what a graceful stop waits
    for before the process ends."""
    return _IN_FLIGHT[0]


@functools.cache
def gevent_classes() -> tuple[type, type]:
    """(handler, server): gevent's WSGI server and gevent-websocket's handler with the hall's
    tuning. ``hall serve`` uses them directly; its workers under gunicorn too (workers.py)."""
    import gevent
    from gevent.pywsgi import WSGIServer
    from geventwebsocket.handler import WebSocketHandler

    bounded_websocket = _bounded_websocket()

    class FairHandler(WebSocketHandler):  # type: ignore[misc]
        def log_request(self) -> None:
            pass  # no access log (log=None): gevent still formatted each line for nothing

        def handle_one_response(self) -> Any:
            counted = not (self.command == "GET" and self.path.startswith("/socket.io"))
            _IN_FLIGHT[0] += counted
            try:
                result = super().handle_one_response()
            finally:
                _IN_FLIGHT[0] -= counted
            # A keep-alive client whose next request is already buffered would be served
            # again without a switch, starving every other connection: let them run first.
            gevent.sleep(0)
            return result

        def upgrade_connection(self) -> Any:
            result = super().upgrade_connection()
            websocket = self.environ.get("wsgi.websocket")
            if websocket is not None:  # accepted: read it with the bounds (same slots)
                websocket.__class__ = bounded_websocket
            return result

        def run_application(self) -> Any:
            if self._refused_before_engineio():
                return None
            try:
                return super().run_application()
            finally:
                self._leave_unread_body()

        def _refused_before_engineio(self) -> bool:
            """Answer at once what python-engineio would answer badly on /socket.io/.

            A long-polling POST announced over MAX_MESSAGE_BYTES: 413, unread (engine.io
            refuses it only after closing the session, which waits for the session's next
            poll: the client hung for the ping timeout). A method it does not take: 405 with
            ``Allow`` (engine.io sent none).
            """
            environ = self.environ
            if not environ.get("PATH_INFO", "").startswith("/socket.io"):
                return False
            method = environ.get("REQUEST_METHOD", "")
            if method not in ENGINEIO_METHODS:
                self._answer(
                    "405 Method Not Allowed", "method_not_allowed",
                    f"此地址不支持 {method[:20]} 方法，可用 GET, POST, OPTIONS "
                    f"(method {method[:20]} is not allowed here; use GET, POST, OPTIONS).",
                    ("Allow", ", ".join(ENGINEIO_METHODS)),
                )  # fmt: skip
                return True
            if method != "POST" or (self.content_length or 0) <= MAX_MESSAGE_BYTES:
                return False
            log.warning(
                "refused a long-polling POST of %s bytes from %s (over %d)",
                self.content_length, environ.get("REMOTE_ADDR", "?"), MAX_MESSAGE_BYTES,
            )  # fmt: skip
            kb = MAX_MESSAGE_BYTES // 1024
            self._answer(
                "413 Request Entity Too Large", "request_entity_too_large",
                f"消息过大，最多 {kb} KB (the message is too large: at most {kb} KB).",
            )  # fmt: skip
            return True

        def _answer(self, status: str, code: str, message: str, *headers: Any) -> None:
            body = json.dumps(
                {"error": {"code": code, "message": message}}, ensure_ascii=False
            ).encode()
            self.start_response(
                status,
                [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                 *headers],
            )  # fmt: skip
            self.write(body)
            self._leave_unread_body()

        def _leave_unread_body(self) -> None:
            """Close rather than read (to throw away) a large body the app did not want."""
            body = self.wsgi_input
            if body is None or self.environ.get("wsgi.websocket_version"):
                return
            if body.chunked_input:  # no length: read on, up to DRAIN_BYTES, for the last chunk
                drained = 0
                while body.chunk_length != 0 and drained <= DRAIN_BYTES:
                    data = body.read(16384)
                    if not data:
                        break
                    drained += len(data)
                unread = body.chunk_length != 0
            else:
                unread = (body.content_length or 0) - body.position > DRAIN_BYTES
            if unread:
                self.close_connection = True
                body.chunked_input, body.content_length = False, body.position

        def handle_error(self, kind: Any, error: Any, tb: Any) -> None:
            if not raised_by_client_input(tb):
                super().handle_error(kind, error, tb)  # a bug: keep the traceback
                return
            log.warning(
                "refused a malformed request from %s: %s: %s",
                self.environ.get("REMOTE_ADDR", "?"), kind.__name__, str(error)[:200],
            )  # fmt: skip
            if self.headers_sent or self.environ.get("wsgi.websocket_version"):
                self.close_connection = True
            else:
                self._send_error_response_if_possible(400)

    class NoDelayServer(WSGIServer):  # type: ignore[misc]
        def handle(self, client: socket.socket, address: Any) -> Any:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return super().handle(client, address)

    return FairHandler, NoDelayServer


def _gevent_server(app: Flask, where: Any) -> Any:
    handler, server = gevent_classes()
    return server(where, app, handler_class=handler, log=None)


def _bound_simple_websocket() -> None:
    """Threading mode: let simple-websocket refuse a message over MAX_MESSAGE_BYTES as it
    arrives (close 1009); python-engineio builds its websockets without the limit."""
    eio = socketio.server.eio
    websocket = (eio._async or {}).get("websocket")
    if websocket is not None:
        bounded = functools.partial(websocket, max_message_size=MAX_MESSAGE_BYTES)
        eio._async = {**eio._async, "websocket": bounded}


def settle_process() -> None:
    """What a serving process does once its app is built, before it takes requests."""
    # Everything built so far (the app, SQLAlchemy's mappers and caches, pydantic models)
    # lives as long as the process: keep it out of the collector's full passes.
    gc.collect()
    gc.freeze()
    logging.getLogger("engineio.server").addFilter(OneLineForClientGarbage())


def serve(app: Flask, *, host: str, port: int, async_mode: str) -> None:
    """Serve ``app`` in this process until interrupted."""
    settle_process()
    if async_mode != "gevent":
        _bound_simple_websocket()
        socketio.run(app, host=host, port=port, log_output=False, allow_unsafe_werkzeug=True)
        return
    _gevent_server(app, (host, port)).serve_forever()
