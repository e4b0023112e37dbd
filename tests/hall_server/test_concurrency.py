"""Many kiosks and windows at once, over HTTP, on SQLite and PostgreSQL: nothing is lost.

Two apps share each database, as two server processes behind a load balancer would: the
in-process write lock then guards neither, so only the database's own locking (SQLite's
single writer, PostgreSQL's row lock on the hall) keeps numbers, calls and the log right.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from devices.idcard.card import check_character
from hall_server.domain.tickets import TicketAction, TicketState, next_state
from hall_server.models import Hall, LogEvent, Ticket
from hall_server.services.auth import add_user

from .hall import (
    MONDAY_10AM,
    PASSWORD,
    SMALL_HALL,
    HallRig,
    build_hall,
    hall_settings,
    open_hall,
)

BUSY_HALL = Path(__file__).with_name("busy_hall.toml")
TICKETS = int(os.environ.get("HALL_TEST_CONCURRENCY_TICKETS", "3000"))
KIOSKS = 16
WINDOWS = 12
STAFF_WINDOWS = range(7, 13)  # windows 1-6 are driven by their keypads, 7-12 by staff
DEADLINE_S = 240.0
# Kiosks wait while this many visitors are in the hall, as a full hall would stop issuing:
# a real queue is a hundred or so long, not thousands.
MAX_WAITING = 100
# Event type -> the ticket action it records ("requeued" is a return from a hold or no-show).
ACTION_OF = {
    "ticket.called": TicketAction.CALL,
    "ticket.recalled": TicketAction.RECALL,
    "ticket.started": TicketAction.START,
    "ticket.finished": TicketAction.FINISH,
    "ticket.no_show": TicketAction.NO_SHOW,
    "ticket.transferred": TicketAction.TRANSFER,
    "ticket.held": TicketAction.HOLD,
}
LEAVES_WINDOW = {"ticket.finished", "ticket.no_show", "ticket.transferred", "ticket.held"}

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A file SQLite database (WAL), or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hall.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


class SteppingClock:
    """One hall clock for every app of a test: each reading is 1 ms after the one before."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += timedelta(milliseconds=1)
            return self._now


@dataclass
class Apps:
    """Two apps on one database, standing for two server processes."""

    rig: HallRig
    apps: list[Flask]
    tokens: dict[str, str]

    def app(self, index: int) -> Flask:
        return self.apps[index % len(self.apps)]


def two_apps(rig: HallRig, url: str, var_dir: Path, config_path: Path) -> Apps:
    settings = hall_settings(url, var_dir, config_path=config_path, kiosk_rate_per_min=1_000_000)
    second = open_hall(settings, rig.tokens)
    clock = SteppingClock(MONDAY_10AM)
    for ctx in (rig.ctx, second.ctx):
        ctx.clock = clock
    return Apps(rig, [rig.app, second.app], dict(rig.tokens))


@pytest.fixture
def busy_hall(database_url: str, tmp_path: Path) -> Iterator[Apps]:
    """The busy hall on two apps, with a login for each staffed window."""
    var_dir = tmp_path / "var"
    rig = build_hall(database_url, var_dir, config_path=BUSY_HALL, kiosk_rate_per_min=1_000_000)
    for window in STAFF_WINDOWS:
        add_user(rig.ctx.db, rig.ctx.hall_id, f"staff{window:02d}", role="staff",
                 password=PASSWORD, name=f"窗口{window}", now=MONDAY_10AM)  # fmt: skip
    apps = two_apps(rig, database_url, var_dir, BUSY_HALL)
    for window in STAFF_WINDOWS:
        login = (
            apps.app(window)
            .test_client()
            .post("/api/v1/auth/login", json={"login": f"staff{window:02d}", "password": PASSWORD})
        )
        assert login.status_code == 200, login.get_json()
        apps.tokens[f"window-{window}"] = login.get_json()["token"]
    for window in range(1, 7):
        apps.tokens[f"window-{window}"] = rig.tokens[f"keypad-{window:02d}"]
    yield apps
    for app in apps.apps:
        app.extensions["hall"].ctx.db.dispose()


class Caller:
    """One device or staff member: its own test client and token."""

    def __init__(self, app: Flask, token: str) -> None:
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}
        self.requests = 0

    def post(self, path: str, body: dict[str, Any] | None = None, *, status: int = 200,
             **headers: str) -> Any:  # fmt: skip
        self.requests += 1
        response = self.client.post(
            f"/api/v1{path}", json=body or {}, headers=self.headers | headers
        )
        assert response.status_code == status, (path, response.status_code, response.get_json())
        return response.get_json()


@dataclass
class Run:
    """What the threads share: counts, who called what, and when to stop."""

    target: int
    deadline: float
    issued: int = 0
    served: int = 0
    requests: int = 0
    twisted: set[int] = field(default_factory=set)
    expected: Counter[str] = field(default_factory=Counter)  # event type -> changes made
    calls: list[tuple[int, int]] = field(default_factory=list)  # (ticket id, window)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    room: threading.Condition = field(init=False)
    arrivals: threading.Condition = field(default_factory=threading.Condition)
    stop: threading.Event = field(default_factory=threading.Event)

    def take_slot(self) -> bool:
        """Reserve the next ticket to issue; wait while the hall is full of visitors."""
        with self.room:
            while self.issued - self.served >= MAX_WAITING and not self.over():
                self.room.wait(timeout=0.1)
            if self.issued >= self.target or self.over():
                return False
            self.issued += 1
            return True

    def serve_one(self) -> None:
        with self.room:
            self.served += 1
            self.room.notify()

    def __post_init__(self) -> None:
        self.room = threading.Condition(self.lock)

    def first_twist(self, ticket_id: int) -> bool:
        """Allow one detour (no-show, transfer, hold) per ticket, so every ticket ends."""
        with self.lock:
            if ticket_id in self.twisted:
                return False
            self.twisted.add(ticket_id)
            return True

    def record(self, caller: Caller, changes: Counter[str], calls: list[tuple[int, int]]) -> None:
        with self.lock:
            self.expected.update(changes)
            self.calls.extend(calls)
            self.requests += caller.requests

    def announce(self) -> None:
        with self.arrivals:
            self.arrivals.notify_all()

    def over(self) -> bool:
        return self.stop.is_set() or time.monotonic() > self.deadline


def guarded(run: Run, work: Any, *args: Any) -> threading.Thread:
    def body() -> None:
        try:
            work(run, *args)
        except BaseException as error:  # the main thread reports it
            run.errors.append(error)
            run.stop.set()

    return threading.Thread(target=body, daemon=True)


def without_eta(ticket: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ticket.items() if k not in ("people_ahead", "eta_s", "eta_range_s")}


def kiosk(run: Run, caller: Caller, seed: int, start: threading.Barrier) -> None:
    rng = random.Random(seed)
    start.wait()
    issued = Counter[str]()
    while not run.over() and run.take_slot():
        body = {"service": rng.choice("aaabbccd")}
        if rng.random() < 0.05:  # green channel by the hall's rule: an elderly visitor's ID card
            born = date(1940, 1, 1) + timedelta(days=issued["ticket.issued"])
            first17 = f"110105{born:%Y%m%d}{seed % 1000:03d}"
            body |= {"id_number": first17 + check_character(first17)}
        if rng.random() < 0.05:  # a network retry: same key, same ticket, no second number
            key = f"k{seed}-{rng.getrandbits(64):x}"
            first = caller.post("/tickets", body, status=201, **{"Idempotency-Key": key})
            again = caller.post("/tickets", body, status=201, **{"Idempotency-Key": key})
            # the same ticket; its place and wait as the hall stands at the retry
            assert without_eta(again) == without_eta(first)
        else:
            caller.post("/tickets", body, status=201)
        issued["ticket.issued"] += 1
        run.announce()
    run.record(caller, issued, [])


def window(run: Run, caller: Caller, number: int, start: threading.Barrier) -> None:
    rng = random.Random(1000 + number)
    changes, calls = Counter[str](), list[tuple[int, int]]()

    def act(action: str, event: str, **body: Any) -> Any:
        changes[event] += 1
        return caller.post(f"/windows/{number}/{action}", body)

    def requeue(ticket_id: int) -> None:
        changes["ticket.requeued"] += 1
        caller.post(f"/tickets/{ticket_id}/requeue")
        run.announce()

    act("open", "window.opened")
    start.wait()
    while not run.over():
        ticket = caller.post(f"/windows/{number}/call-next")["ticket"]
        if ticket is None:
            with run.lock:
                done = run.served >= run.target
            if done:
                break
            with run.arrivals:
                run.arrivals.wait(timeout=0.05)
            continue
        changes["ticket.called"] += 1
        calls.append((ticket["id"], number))
        roll = rng.random()
        if roll < 0.03 and run.first_twist(ticket["id"]):  # not there; back a moment later
            act("no-show", "ticket.no_show")
            requeue(ticket["id"])
        elif roll < 0.06 and run.first_twist(ticket["id"]):
            other = rng.choice([s for s in "abcd" if s != ticket["service"]])
            act("transfer", "ticket.transferred", service=other)
            run.announce()
        elif roll < 0.08 and run.first_twist(ticket["id"]):  # fetches a paper, comes back
            act("start", "ticket.started")
            act("hold", "ticket.held")
            requeue(ticket["id"])
        else:
            if rng.random() < 0.05:
                act("recall", "ticket.recalled")
            if rng.random() < 0.5:  # the other half finish straight from the call
                act("start", "ticket.started")
            act("finish", "ticket.finished")
            run.serve_one()
    act("close", "window.closed")
    run.record(caller, changes, calls)


@pytest.mark.slow
@pytest.mark.timeout(DEADLINE_S + 120)
def test_busy_hall_loses_no_number_call_or_event(busy_hall: Apps, capsys: Any) -> None:
    run = Run(target=TICKETS, deadline=time.monotonic() + DEADLINE_S)
    start = threading.Barrier(KIOSKS + WINDOWS)
    tokens = busy_hall.tokens
    threads = [
        guarded(run, kiosk, Caller(busy_hall.app(i), tokens[f"kiosk-{i:02d}"]), i, start)
        for i in range(1, KIOSKS + 1)
    ] + [
        guarded(run, window, Caller(busy_hall.app(n), tokens[f"window-{n}"]), n, start)
        for n in range(1, WINDOWS + 1)
    ]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.1, run.deadline + 30 - time.monotonic()))
    elapsed = time.monotonic() - began
    run.stop.set()
    if run.errors:
        raise run.errors[0]
    assert not any(t.is_alive() for t in threads), "threads still running after the deadline"
    with capsys.disabled():
        print(
            f"\n  {busy_hall.rig.ctx.db.engine.dialect.name}: {run.issued} tickets issued, "
            f"{run.served} served, {run.requests} requests in {elapsed:.1f} s "
            f"({run.requests / elapsed:.0f} requests/s, {run.served / elapsed:.0f} tickets/s)"
        )
    assert (run.issued, run.served) == (TICKETS, TICKETS), (
        f"only {run.served} of {TICKETS} tickets served within {DEADLINE_S:.0f} s"
    )
    check_tickets(busy_hall)
    check_hall_log(busy_hall, run)


def load(apps: Apps) -> tuple[list[Any], list[Any], int]:
    """Read every ticket and log row as plain rows (attributes named like the columns)."""
    ctx = apps.rig.ctx
    with ctx.db.read() as session:
        tickets = list(session.execute(select(Ticket.__table__).order_by(Ticket.id)))
        log = list(session.execute(select(LogEvent.__table__).order_by(LogEvent.seq)))
        last_seq = session.scalar(select(Hall.last_seq).where(Hall.id == ctx.hall_id))
    return tickets, log, int(last_seq or 0)


def check_tickets(apps: Apps) -> None:
    tickets, log, _ = load(apps)
    assert len(tickets) == TICKETS
    assert {t.state for t in tickets} == {TicketState.DONE.value}
    # Numbers: by the service each was issued for, unique and without gaps, per day.
    day_of = {t.id: t.business_day for t in tickets}
    issued: dict[tuple[str, date], list[str]] = defaultdict(list)
    for event in log:
        if event.type == "ticket.issued":
            assert event.ticket_id is not None
            key = (event.payload["service"], day_of[event.ticket_id])
            issued[key].append(event.payload["number"])
    for (service, _), numbers in issued.items():
        expected = [f"{service.upper()}{n:04d}" for n in range(1, len(numbers) + 1)]
        assert sorted(numbers) == expected, f"numbers of service {service} repeat or skip"
    keys = [(t.service_id, t.business_day, t.number) for t in tickets]
    assert len(set(keys)) == len(keys)
    for t in tickets:
        times = [t.issued_at, t.first_called_at, t.called_at, t.started_at, t.finished_at]
        assert None not in times, (t.number, times)
        assert times == sorted(times), f"{t.number}: timestamps out of order {times}"
        assert t.window_no is not None and t.call_count >= 1


def check_hall_log(apps: Apps, run: Run) -> None:
    tickets, log, last_seq = load(apps)
    seqs = [e.seq for e in log]
    assert seqs == list(range(1, len(log) + 1)), "seq has gaps or repeats"
    assert last_seq == len(log)
    times = [e.at for e in log]
    assert times == sorted(times), "events committed out of seq order"
    # One event per change, none for an empty call-next or an idempotent retry.
    assert Counter(e.type for e in log) == +run.expected
    assert Counter(e.type for e in log)["ticket.issued"] == len(tickets)
    assert Counter(e.type for e in log)["ticket.finished"] == len(tickets)
    # The windows' answers and the log agree on who called which ticket.
    called = [(e.ticket_id, e.window_no) for e in log if e.type == "ticket.called"]
    assert Counter(called) == Counter(run.calls)
    by_ticket: dict[int, list[Any]] = defaultdict(list)
    at_window: dict[int, int | None] = {}  # window -> the ticket it has now
    for event in log:
        if event.ticket_id is not None:
            by_ticket[event.ticket_id].append(event)
        if event.type == "ticket.called":
            assert at_window.get(event.window_no) is None, (
                f"window {event.window_no} called {event.ticket_id} while it had "
                f"{at_window[event.window_no]}"
            )
            at_window[event.window_no] = event.ticket_id
        elif event.type in LEAVES_WINDOW:
            assert at_window.get(event.window_no) == event.ticket_id, event.seq
            at_window[event.window_no] = None
    for ticket in tickets:
        replay(ticket, by_ticket[ticket.id])


def replay(ticket: Any, events: list[Any]) -> None:
    """Walk a ticket's events through the ticket rules: a second call without a detour fails."""
    assert events[0].type == "ticket.issued", ticket.number
    state = TicketState.WAITING
    calls = detours = 0
    for event in events[1:]:
        if event.type == "ticket.requeued":
            action = TicketAction.RETURN if state is TicketState.HELD else TicketAction.REQUEUE
        else:
            action = ACTION_OF[event.type]
        state = next_state(state, action)  # IllegalTransition on a double call or a lost step
        calls += event.type == "ticket.called"
        detours += event.type in {"ticket.requeued", "ticket.transferred"}
    assert state is TicketState.DONE, (ticket.number, [e.type for e in events])
    assert calls == 1 + detours, (ticket.number, [e.type for e in events])


def test_two_windows_pressing_next_at_once_share_no_ticket(
    database_url: str, tmp_path: Path
) -> None:
    rig = build_hall(database_url, tmp_path / "var")
    apps = two_apps(rig, database_url, tmp_path / "var", SMALL_HALL)
    staff = {1: Caller(apps.app(0), rig.tokens["staff1"]),
             2: Caller(apps.app(1), rig.tokens["staff2"])}  # fmt: skip
    kiosk_ = Caller(apps.app(0), rig.tokens["kiosk-1"])
    for number, caller in staff.items():
        caller.post(f"/windows/{number}/open")
    try:
        for _ in range(20):  # windows 1 and 2 both serve "a"; one visitor waits
            ticket = kiosk_.post("/tickets", {"service": "a"}, status=201)
            barrier = threading.Barrier(2)
            answers: dict[int, Any] = {}

            def press(number: int, barrier: threading.Barrier = barrier,
                      answers: dict[int, Any] = answers) -> None:  # fmt: skip
                barrier.wait(timeout=10)
                answers[number] = staff[number].post(f"/windows/{number}/call-next")

            pressing = [threading.Thread(target=press, args=(n,)) for n in staff]
            for thread in pressing:
                thread.start()
            for thread in pressing:
                thread.join(timeout=30)
            got = {n: a["ticket"] for n, a in answers.items() if a["ticket"] is not None}
            assert len(answers) == 2 and len(got) == 1, answers
            ((winner, called),) = got.items()
            assert called["id"] == ticket["id"] and called["window"] == winner
            loser = 3 - winner
            assert answers[loser] == {"window": answers[loser]["window"], "ticket": None}
            staff[winner].post(f"/windows/{winner}/finish")
        with rig.ctx.db.read() as session:
            called_events = session.scalars(
                select(LogEvent.ticket_id).where(LogEvent.type == "ticket.called")
            ).all()
        assert len(called_events) == len(set(called_events)) == 20
    finally:
        for app in apps.apps:
            app.extensions["hall"].ctx.db.dispose()
