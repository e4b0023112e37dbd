"""Raw Engine.IO clients that misbehave on purpose: frames and bodies built by hand.

Only for 127.0.0.1; every socket has a timeout, so nothing here can hang a test.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
from dataclasses import dataclass

from tests.live import LiveHall

TEXT, BINARY, CONTINUATION, CLOSE = 0x1, 0x2, 0x0, 0x8


def port_of(hall: LiveHall) -> int:
    return int(hall.base_url.rsplit(":", 1)[1])


def ws_open(hall: LiveHall, timeout_s: float = 5.0) -> socket.socket:
    """A websocket to /socket.io/ (Engine.IO 4), past the handshake; no Socket.IO login."""
    sock = socket.create_connection(("127.0.0.1", port_of(hall)), timeout=timeout_s)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed during the handshake: {head!r}")
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    rest = head.split(b"\r\n\r\n", 1)[1]
    while len(rest) < 4 or len(rest) < _frame_size(rest):  # Engine.IO's "open" packet: skip it
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the Engine.IO open packet")
        rest += chunk
    assert len(rest) == _frame_size(rest), "the server spoke before the client"
    return sock


def _frame_size(data: bytes) -> int:
    size = data[1] & 0x7F
    if size == 126:
        return 4 + int(struct.unpack("!H", data[2:4])[0])
    return 2 + size


def frame_header(length: int, opcode: int = TEXT, *, fin: bool = True, mask: bytes) -> bytes:
    """A client frame's header announcing ``length`` payload bytes."""
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        return bytes([first, 0x80 | length]) + mask
    if length < 65536:
        return bytes([first, 0x80 | 126]) + struct.pack("!H", length) + mask
    return bytes([first, 0x80 | 127]) + struct.pack("!Q", length) + mask


def frame(payload: bytes, opcode: int = TEXT, *, fin: bool = True) -> bytes:
    """A whole masked client frame."""
    mask = os.urandom(4)
    key = (mask * (len(payload) // 4 + 1))[: len(payload)]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(
        len(payload), "big"
    )
    return frame_header(len(payload), opcode, fin=fin, mask=mask) + masked


@dataclass
class Frame:
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        if self.opcode != CLOSE or len(self.payload) < 2:
            return None
        code: int = struct.unpack("!H", self.payload[:2])[0]
        return code


def frames_until_closed(sock: socket.socket, timeout_s: float = 5.0) -> list[Frame]:
    """Read server frames until the server closes the connection (or ``timeout_s``)."""
    sock.settimeout(timeout_s)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    frames = []
    while len(data) >= 2:
        size, start = data[1] & 0x7F, 2
        if size == 126:
            size, start = struct.unpack("!H", data[2:4])[0], 4
        elif size == 127:
            size, start = struct.unpack("!Q", data[2:10])[0], 10
        frames.append(Frame(data[0] & 0x0F, data[start : start + size]))
        data = data[start + size :]
    return frames


def http_head(
    hall: LiveHall, request_head: str, body: bytes = b"", timeout_s: float = 5.0
) -> bytes:
    """Send a raw HTTP request head (and the first bytes of a body); return all the server
    sends until it closes the connection or ``timeout_s`` passes."""
    with socket.create_connection(("127.0.0.1", port_of(hall)), timeout=timeout_s) as sock:
        sock.sendall(request_head.encode() + b"\r\n\r\n" + body)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            answer += b"\n<still open or reset>"
        return answer
