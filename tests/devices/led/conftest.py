"""Fixtures for LED sign tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from devices.led import generic
from tests.devices.led.tcp_sign import Reply, TcpSign


@pytest.fixture
def tcp_sign() -> Iterator[Callable[..., TcpSign]]:
    started: list[TcpSign] = []

    def start(reply: Reply | None = None, port: int = 0) -> TcpSign:
        sign = TcpSign(reply or (lambda frame: generic.encode_ack(frame.address)), port)
        started.append(sign)
        return sign

    yield start
    for sign in started:
        sign.close()
