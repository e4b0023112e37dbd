"""Call-next from the index heads picks exactly what the policy picks over every waiting ticket.

One hall is built for the test and driven through the real services by random sequences of
issues (normal, green channel, checked-in appointments in and out of their slot), calls,
recalls, transfers to services and windows, holds and returns, no-shows and finishes, with
the clock moving on so that tickets age across many queue times. Before every call-next the
whole waiting set is read separately and ``queueing.call_next`` run over it: the ticket the
window then calls, and its green-channel streak, must be the same.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hall_server.domain.queueing import Candidate, call_next
from hall_server.domain.tickets import TicketState
from hall_server.models import Appointment, Staff
from hall_server.models import Ticket as TicketRow
from hall_server.models import Window as WindowRow
from hall_server.services.actors import Actor
from hall_server.services.tickets import IssueRequest, issue_ticket, requeue_ticket
from hall_server.services.windows import WindowCommand, window_action

from .hall import HallRig, build_hall

# Monday 2026-11-23 00:05 in Shanghai: the day has room for hours of simulated time.
START = datetime(2026, 11, 22, 16, 5, tzinfo=UTC)
SERVICES = ("a", "b", "c", "d")
WINDOWS = (1, 2, 3, 4)
HALL_TOML = """
[hall]
code = "prop"
name = "性质测试大厅"
name_en = "Property Hall"

[hall.policy]
priority_swap_ratio = 2
aging_min = 1
appointment_early_min = 10
appointment_late_min = 15
no_show_requeue = "end"
max_recalls = 0

[hall.issuing]
per_id_daily_limit = 0
per_phone_daily_limit = 0
{services}
[[hall.windows]]
number = 1
zone = "A区"
floor = 1
general = true

[[hall.windows]]
number = 2
zone = "A区"
floor = 1
services = {{ a = 3, b = 1 }}

[[hall.windows]]
number = 3
zone = "A区"
floor = 1
services = {{ b = 2, c = 1, d = 1 }}

[[hall.windows]]
number = 4
zone = "A区"
floor = 1
services = {{ d = 4 }}
"""
SERVICE_TOML = """
[[hall.services]]
code = "{code}"
name = "事项{code}"
name_en = "Service {code}"
category = "测试"
zone = "A区"
floor = 1
prefix = "{prefix}"
number_end = 9999
digits = 4
hours = [["00:00", "24:00"]]
weekdays = [1, 2, 3, 4, 5, 6, 7]
"""
MAX_WAITING = 150  # beyond this the drive calls rather than issues

steps = st.lists(
    st.tuples(
        st.sampled_from(
            ["issue", "issue", "issue", "priority", "appointment", "act", "act", "call", "call"]
        ),
        st.integers(0, 10_000),
        st.integers(0, 40),  # seconds the clock moves on first
    ),
    min_size=10,
    max_size=40,
)


@pytest.mark.parametrize(
    ("database", "examples", "least"),
    [
        pytest.param("sqlite", 120, 600, id="sqlite"),
        # The same on PostgreSQL (its own statements: FOR UPDATE SKIP LOCKED, no index hints).
        pytest.param("postgres", 30, 100, id="postgres", marks=pytest.mark.postgres),
    ],
)
def test_indexed_call_next_equals_the_policy_over_all_waiting_tickets(
    tmp_path: Path, request: pytest.FixtureRequest, database: str, examples: int, least: int
) -> None:
    config = tmp_path / "prop_hall.toml"
    services = "".join(SERVICE_TOML.format(code=c, prefix=c.upper()) for c in SERVICES)
    config.write_text(HALL_TOML.format(services=services), encoding="utf-8")
    url = (
        f"sqlite:///{tmp_path / 'hall.db'}"
        if database == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    hall = build_hall(url, tmp_path / "var", config_path=config)
    hall.clock.now = START
    try:
        drive = _Drive(hall)
        for number in WINDOWS:
            drive.act(number, "open")
        _run_examples(drive, examples)
        assert drive.compared >= least, drive.compared
        assert drive.seen_reasons >= {"targeted", "appointment", "priority", "weighted"}
    finally:
        hall.ctx.db.dispose()


def _run_examples(drive: _Drive, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        phases=[Phase.generate],  # the hall lives on between examples: no shrinking
    )
    @given(steps)
    def example(sequence: list[tuple[str, int, int]]) -> None:
        for op, pick, seconds in sequence:
            drive.step(op, pick, seconds)

    example()


class _Drive:
    """Random hall traffic through the services, checking every call-next on the way."""

    def __init__(self, hall: HallRig) -> None:
        self.hall, self.ctx = hall, hall.ctx
        with self.ctx.db.read() as session:
            boss = session.scalar(select(Staff.id).where(Staff.login == "boss"))
        self.boss = Actor(kind="staff", id=boss, name="boss", role="supervisor")
        self.held: list[int] = []
        self.codes = itertools.count(1)
        self.compared = 0
        self.seen_reasons: set[str] = set()

    def act(self, at: int, action: str, **options: object) -> dict[str, object]:
        command = WindowCommand(action, **options)  # type: ignore[arg-type]
        return window_action(self.ctx, self.boss, at, command)

    def step(self, op: str, pick: int, seconds: int) -> None:
        self.hall.clock.advance(seconds=seconds)
        waiting = self._waiting()
        if op in {"issue", "priority", "appointment"} and len(waiting) < MAX_WAITING:
            self._issue(op, pick)
        elif op == "act":
            self._act(pick)
        else:
            self._call(WINDOWS[pick % len(WINDOWS)], pick)

    def _issue(self, op: str, pick: int) -> None:
        service = SERVICES[pick % len(SERVICES)]
        if op == "appointment":
            code = f"P{next(self.codes):05d}"
            # Slots from 35 minutes ago (checked in late: out of slot soon) to 9 minutes ahead.
            start = self.hall.clock.now + timedelta(minutes=pick % 45 - 35)
            with self.ctx.db.write() as session:
                session.add(
                    Appointment(
                        hall_id=self.ctx.hall_id,
                        service_id=self.ctx.layout.services[service].id,
                        code=code,
                        slot_start=start,
                        slot_end=start + timedelta(minutes=20),
                        created_at=self.hall.clock.now,
                    )
                )
            request = IssueRequest(service=service, appointment_code=code)
        else:
            priority = op == "priority"
            request = IssueRequest(
                service=service, priority=priority, priority_kind="老年人" if priority else ""
            )
        issue_ticket(self.ctx, self.boss, request)

    def _act(self, pick: int) -> None:
        """Move on whatever a window has: finish, no-show, recall, transfer, hold; or a return."""
        if self.held and pick % 5 == 0:
            requeue_ticket(self.ctx, self.boss, self.held.pop(0))
            return
        window = WINDOWS[pick % len(WINDOWS)]
        current = self._current(window)
        if current is None:
            return
        choice = (pick // 4) % 7
        if choice == 0:
            self.act(window, "recall")
        elif choice == 1:
            self.act(window, "no-show")
        elif choice == 2:
            self.act(window, "transfer", service=SERVICES[(pick // 7) % len(SERVICES)])
        elif choice == 3:
            target = WINDOWS[(pick // 7) % len(WINDOWS)]
            if target != window:
                self.act(window, "transfer", window=target)
        elif choice == 4:
            self.act(window, "start")
            self.act(window, "hold")
            self.held.append(current)
        else:
            self.act(window, "finish")

    def _call(self, window: int, pick: int) -> None:
        if self._current(window) is not None:
            self.act(window, "finish" if pick % 2 else "no-show")
        layout = self.ctx.layout
        streak = self._streak(window)
        expected = call_next(
            window,
            layout.windows[window].weights,
            self._waiting(),
            layout.call_policy,
            self.hall.clock.now,
            streak,
        )
        answer = self.act(window, "call-next")
        ticket = answer["ticket"]
        got = None if ticket is None else ticket["id"]  # type: ignore[index]
        want = None if expected.ticket is None else expected.ticket.id
        assert got == want, (window, expected, answer)
        assert self._streak(window) == expected.priority_streak
        self.compared += 1
        if expected.reason is not None:
            self.seen_reasons.add(expected.reason.value)

    def _waiting(self) -> list[Candidate]:
        """Every waiting ticket of the hall, read apart from the service under test."""
        layout = self.ctx.layout
        with self.ctx.db.read() as session:
            rows = session.execute(
                select(TicketRow, Appointment.slot_start, Appointment.slot_end)
                .outerjoin(Appointment, Appointment.id == TicketRow.appointment_id)
                .where(
                    TicketRow.hall_id == self.ctx.hall_id,
                    TicketRow.state == TicketState.WAITING.value,
                )
            ).all()
            return [
                Candidate(
                    id=t.id,
                    service=layout.services_by_id[t.service_id].code,
                    queued_at=t.queued_at,
                    priority=t.priority,
                    target_window=t.target_window,
                    slot_start=start,
                    slot_end=end,
                )
                for t, start, end in rows
            ]

    def _current(self, window: int) -> int | None:
        with self.ctx.db.read() as session:
            return session.scalar(
                select(TicketRow.id).where(
                    TicketRow.hall_id == self.ctx.hall_id,
                    TicketRow.window_no == window,
                    TicketRow.state.in_(["called", "serving"]),
                )
            )

    def _streak(self, window: int) -> int:
        with self.ctx.db.read() as session:
            return (
                session.scalar(
                    select(WindowRow.priority_streak).where(
                        WindowRow.hall_id == self.ctx.hall_id, WindowRow.number == window
                    )
                )
                or 0
            )


def test_two_halls_in_one_process_each_call_their_own_services(tmp_path: Path) -> None:
    """Statements are shared by what they are made of: a hall 1 in another database whose
    window 4 serves other services must not lend this one its candidates."""
    config = tmp_path / "prop_hall.toml"
    services = "".join(SERVICE_TOML.format(code=c, prefix=c.upper()) for c in SERVICES)
    config.write_text(HALL_TOML.format(services=services), encoding="utf-8")
    small = build_hall(f"sqlite:///{tmp_path / 'small.db'}", tmp_path / "v1")
    prop = build_hall(f"sqlite:///{tmp_path / 'prop.db'}", tmp_path / "v2", config_path=config)
    try:
        for hall, service in ((small, "c"), (prop, "d")):  # window 4 of each serves one
            assert hall.ctx.hall_id == 1 and set(hall.ctx.layout.windows[4].weights) == {service}
            hall.clock.now = START + timedelta(hours=10)  # the small hall's c opens by day
            drive = _Drive(hall)
            drive.act(4, "open")
            issue_ticket(hall.ctx, drive.boss, IssueRequest(service=service))
            called = drive.act(4, "call-next")["ticket"]
            assert called is not None and called["service"] == service  # type: ignore[index]
    finally:
        small.ctx.db.dispose()
        prop.ctx.db.dispose()
