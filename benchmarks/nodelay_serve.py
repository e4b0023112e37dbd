"""``hall serve`` with TCP_NODELAY on every accepted socket: an experiment, not the product.

gevent's WSGI server writes a response's headers and body in two ``send`` calls. With
Nagle's algorithm on, the body waits for the client's ACK of the headers, and the client
delays that ACK by ~40 ms: every keep-alive request then takes ~48 ms however idle the
server is. This launcher shows what the server does once that stall is gone; it is used
by ``issue_throughput.py --nodelay`` and changes nothing in hall_server/.

    HALL_CONFIG=… .venv/bin/python benchmarks/nodelay_serve.py serve --port 5000
"""

from __future__ import annotations

import socket
from typing import Any


def _patch_gevent_server() -> None:
    from gevent import pywsgi

    original = pywsgi.WSGIServer.handle

    def handle(self: Any, sock: socket.socket, address: Any) -> Any:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return original(self, sock, address)

    pywsgi.WSGIServer.handle = handle  # type: ignore[method-assign]


def main() -> None:
    from hall_server.cli import _async_mode

    if _async_mode() == "gevent":
        from gevent import monkey

        monkey.patch_all()
        _patch_gevent_server()
    from hall_server.commands import cli

    cli()


if __name__ == "__main__":
    main()
