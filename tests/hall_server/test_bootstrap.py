"""The wiring table is what a server really wires: its subscribers, in order, and its jobs."""

from __future__ import annotations

from typing import Any

from hall_server.bootstrap import (
    APP,
    BACKGROUND_JOBS,
    EVERY,
    LEADER,
    SUBSCRIBERS,
    Wiring,
    start_background_jobs,
    wire_in_process,
)
from hall_server.services.context import HallContext

from .hall import HallRig


def wiring(hall: HallRig) -> Wiring:
    w: Wiring = hall.app.extensions["hall_wiring"]
    return w


def test_an_app_attaches_the_tables_subscribers_in_order(hall: HallRig) -> None:
    w = wiring(hall)
    names = [row.name for row in SUBSCRIBERS if row.where in (APP, EVERY)]
    assert list(w.subscribers) == names
    assert hall.ctx.subscribers == [w.subscribers[name] for name in names]
    assert hall.app.extensions["kiosk_turns"] is w.subscribers["turn notices"]


def test_the_leader_adds_its_subscribers_and_starts_every_job(hall: HallRig) -> None:
    w = wiring(hall)
    spawned: list[Any] = []
    w.spawn = spawned.append  # collect the loops instead of running them
    start_background_jobs(hall.app)
    assert hall.ctx.subscribers == [w.subscribers[row.name] for row in SUBSCRIBERS]
    assert w.jobs == [row.name for row in BACKGROUND_JOBS]  # the test hall is on SQLite
    assert len(spawned) == len(BACKGROUND_JOBS)
    assert all(row.period_s > 0 for row in BACKGROUND_JOBS)
    wake = w.wakes["webhook deliveries"]
    assert not wake.is_set()
    # What a commit publishes (a window paused) wakes the webhook job.
    hall.ctx.publish([{"seq": 1, "type": "window.paused", "at": "2026-11-23T02:00:00Z",
                       "window": 3}])  # fmt: skip
    assert wake.is_set()


def test_a_simulator_wires_the_service_subscribers_without_a_server(hall: HallRig) -> None:
    settings = hall.app.extensions["hall"].settings
    ctx = HallContext(hall.ctx.db, settings.hall.code, secret="test-secret")
    spawned: list[Any] = []
    w = wire_in_process(ctx, settings, spawn=spawned.append)
    names = [row.name for row in SUBSCRIBERS if row.where in (EVERY, LEADER)]
    assert list(w.subscribers) == names
    assert ctx.subscribers == [w.subscribers[name] for name in names]
    assert w.jobs == [] and spawned == []
