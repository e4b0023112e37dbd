"""Flask-SocketIO test clients on the /hall namespace, and what they received."""

from __future__ import annotations

from typing import Any

from flask_socketio import SocketIOTestClient

from hall_server.contract import NAMESPACE, QUEUE_COUNTS
from hall_server.extensions import socketio

from ..hall import HallRig


def connect(hall: HallRig, auth: dict[str, Any] | None) -> SocketIOTestClient:
    """Open a /hall connection with ``auth`` (it may be refused: check ``is_connected``)."""
    return socketio.test_client(hall.app, namespace=NAMESPACE, auth=auth)


def as_device(hall: HallRig, who: str, **more: Any) -> SocketIOTestClient:
    """Connect as a login or device of the hall and check the connection is accepted."""
    client = connect(hall, {"token": hall.tokens[who], **more})
    assert client.is_connected(NAMESPACE), f"{who} was refused"
    return client


def received(
    client: SocketIOTestClient, *, counts: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """The messages since the last call, as (name, payload).

    The public audience's coalesced ``queue.counts`` come from a timer, at a moment of their
    own: left out unless ``counts`` (test_public_stream.py tests them).
    """
    return [
        (m["name"], m["args"][0])
        for m in client.get_received(NAMESPACE)
        if counts or not is_counts(m["args"][0])
    ]


def is_counts(payload: Any) -> bool:
    """Whether a message is a coalesced ``queue.counts`` of the public stream."""
    return isinstance(payload, dict) and payload.get("type") == QUEUE_COUNTS


def events_of(client: SocketIOTestClient) -> list[dict[str, Any]]:
    """The ``event`` messages since the last call; fails on anything else."""
    messages = received(client)
    assert all(name == "event" for name, _ in messages), [name for name, _ in messages]
    return [payload for _, payload in messages]


def snapshot_of(client: SocketIOTestClient) -> dict[str, Any]:
    """The one message since the last call, which must be a snapshot."""
    messages = received(client)
    assert [name for name, _ in messages] == ["snapshot"]
    return messages[0][1]
