"""The public stream with two server processes joined by Redis: each process coalesces the
counts of its own commits, reading the database; screens on either process end with the
hall's last seq and its true waiting counts, and never get an issue one by one."""

from __future__ import annotations

import random

import pytest

from hall_server.client.hall import HallClient
from hall_server.client.state import HallState
from tests.live import LiveHall

pytestmark = [pytest.mark.redis, pytest.mark.slow]

WAIT_S = 30.0


def test_screens_on_both_processes_converge_to_the_true_counts(
    two_processes: tuple[LiveHall, LiveHall],
) -> None:
    first, second = two_processes
    screens = [HallClient(hall.base_url, first.tokens["tv-1"]) for hall in (first, second)]
    issued_seen: list[int] = []
    for screen in screens:
        screen.on("ticket.issued", lambda event: issued_seen.append(event["seq"]))
        screen.start()
    try:
        for screen in screens:
            assert screen.wait_for(lambda s: s.ready, WAIT_S), screen.last_error
        rng = random.Random(11)
        halls = (first, second)
        for window in (1, 2, 3):
            assert rng.choice(halls).api("boss", "POST", f"/windows/{window}/open").ok
        waiting: list[int] = []
        for _ in range(60):  # issues, calls and cancels, each through either process
            hall, roll = rng.choice(halls), rng.random()
            if roll < 0.6:
                answer = hall.api("kiosk-1", "POST", "/tickets", {"service": "b"})
                assert answer.status_code == 201, answer.text
                waiting.append(answer.json()["id"])
            elif roll < 0.85:
                window = rng.randint(1, 3)
                hall.api("boss", "POST", f"/windows/{window}/no-show")  # 409 when idle
                assert hall.api("boss", "POST", f"/windows/{window}/call-next").ok
            elif waiting:
                ticket = waiting.pop(rng.randrange(len(waiting)))
                hall.api("boss", "POST", f"/tickets/{ticket}/cancel")  # 409 once called

        truth = first.api("boss", "GET", "/snapshot").json()
        want = {q["service"]: q["waiting"] for q in truth["queues"]}

        def current(state: HallState) -> bool:
            got = {code: q["waiting"] for code, q in state.queues.items()}
            return state.seq == truth["seq"] and got == want

        for screen, hall in zip(screens, halls, strict=True):
            assert screen.wait_for(current, WAIT_S), (hall.base_url, screen.state.seq, want)
        assert issued_seen == []
    finally:
        for screen in screens:
            screen.stop()
