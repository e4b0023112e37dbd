"""HallClient's state: a snapshot plus the events after it equals the snapshot at that seq;
seen seqs are ignored, gaps wait for resync, early events wait for the first snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from hall_server.client.hall import HallClient
from hall_server.client.state import HallState, apply_event
from hall_server.services.public_stream import is_public
from hall_server.services.snapshot import snapshot
from tests.hall_server.hall import HallRig
from tests.hall_server.realtime.scenario import morning, next_day_expiry
from tests.hall_server.realtime.views import snapshot_view, state_view


def record_snapshots(hall: HallRig, *, staff: bool) -> dict[int, dict[str, Any]]:
    """Take the hall's snapshot after every commit, by seq."""
    taken: dict[int, dict[str, Any]] = {}

    def take(events: list[dict[str, Any]]) -> None:
        taken[events[-1]["seq"]] = snapshot(hall.ctx, staff=staff)

    hall.ctx.subscribers.append(take)
    return taken


@pytest.mark.parametrize("who", ["tv-1", "boss"])
def test_events_applied_to_a_snapshot_give_the_snapshot_of_every_later_seq(
    hall: HallRig, who: str
) -> None:
    state = HallState.from_snapshot(hall.get(who, "/snapshot").get_json(), connected=True)
    taken = record_snapshots(hall, staff=who == "boss")
    expected = morning(hall)
    answer = hall.get(who, "/events?after=0").get_json()
    log = answer["events"]
    public = who != "boss"  # the public stream: no issues, coalesced counts (docs/API.md)
    assert len(taken) == len(expected) > 25
    assert len(log) == len([k for k, _ in expected if not public or is_public(k)])
    for event in log:
        apply_event(state, event)
        got, want = state_view(state), snapshot_view(taken[event["seq"]])
        if public:  # the counts follow in their own message
            got.pop("waiting"), want.pop("waiting")
        assert got == want, event
    if public:
        apply_event(state, answer["counts"])
        assert state_view(state) == snapshot_view(taken[max(taken)])
    assert not state.stale


def test_an_expiry_marks_the_state_stale_so_the_client_takes_a_snapshot(hall: HallRig) -> None:
    state = HallState.from_snapshot(hall.get("tv-1", "/snapshot").get_json(), connected=True)
    morning(hall)
    next_day_expiry(hall)
    for event in hall.get("tv-1", "/events?after=0").get_json()["events"]:
        apply_event(state, event)
    assert state.stale


class Fed:
    """A HallClient that is never connected, fed the messages a socket would deliver."""

    def __init__(self) -> None:
        self.client = HallClient("http://127.0.0.1:9", token="d.unused")
        self.seen: list[int] = []
        self.client.on("*", lambda event: self.seen.append(event["seq"]))

    def snapshot(self, snap: dict[str, Any]) -> None:
        self.client._on_snapshot(snap)

    def event(self, event: dict[str, Any]) -> None:
        self.client._on_event(event)


@pytest.fixture
def log_of_a_morning(hall: HallRig) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    # The staff log, seq after seq (the public stream's order: test_public_stream.py).
    first = hall.get("boss", "/snapshot").get_json()
    morning(hall)
    return first, hall.get("boss", "/events?after=0").get_json()["events"]


def test_seqs_already_applied_are_ignored(
    hall: HallRig, log_of_a_morning: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    first, log = log_of_a_morning
    fed = Fed()
    fed.snapshot(first)
    for event in log[:10] + log[5:]:
        fed.event(event)
    assert fed.seen == [e["seq"] for e in log]
    assert fed.client.stats.duplicates == 5
    assert state_view(fed.client.state) == snapshot_view(hall.get("boss", "/snapshot").get_json())


def test_a_gap_is_held_back_and_resync_asked_until_it_is_filled(
    log_of_a_morning: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    first, log = log_of_a_morning
    fed = Fed()
    fed.snapshot(first)
    fed.event(log[0])
    fed.event(log[3])
    fed.event(log[4])
    assert fed.seen == [1] and fed.client.state.seq == 1
    assert fed.client.stats.resyncs == 1  # asked once, not once per early event
    fed.event(log[1])
    fed.event(log[2])  # the resync's answer
    assert fed.seen == [1, 2, 3, 4, 5] and fed.client.state.seq == 5


def test_events_before_the_first_snapshot_wait_for_it(
    log_of_a_morning: tuple[dict[str, Any], list[dict[str, Any]]],
    hall: HallRig,
) -> None:
    _, log = log_of_a_morning
    fed = Fed()
    for event in log[:3]:
        fed.event(event)
    assert fed.seen == [] and not fed.client.state.ready
    # A snapshot taken after seq 1 committed (only its seq matters here).
    fed.snapshot(hall.get("tv-1", "/snapshot").get_json() | {"seq": 1})
    assert fed.seen == [2, 3]
    assert fed.client.stats.resyncs == 0


def test_a_snapshot_replaces_the_state_even_when_it_is_older(
    hall: HallRig, log_of_a_morning: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    first, log = log_of_a_morning
    fed = Fed()
    fed.snapshot(hall.get("tv-1", "/snapshot").get_json())
    fed.snapshot(first)  # e.g. the server's database was restored
    assert fed.client.state.seq == 0
    fed.event(log[0])
    assert fed.client.state.seq == 1


def test_a_failing_callback_does_not_stop_the_client(
    log_of_a_morning: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    first, log = log_of_a_morning
    fed = Fed()

    def broken(_: dict[str, Any]) -> None:
        raise RuntimeError("a screen driver fell over")

    fed.client.on("ticket.issued", broken)
    fed.snapshot(first)
    for event in log:
        fed.event(event)
    assert fed.client.state.seq == log[-1]["seq"]


def test_the_client_needs_exactly_one_credential() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        HallClient("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="exactly one"):
        HallClient("http://127.0.0.1:9", token="d.x", ticket="t")
