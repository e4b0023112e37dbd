"""Many halls on one PostgreSQL server: each keeps its own numbers and log, none waits for another.

A city serves its districts' halls from one database. Every hall's writes take turns on
that hall's row (its seq gapless, its numbers unique), but a write of one hall must never
wait for a write of another.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from hall_server.app import database_url
from hall_server.db import Database
from hall_server.models import Counter as CounterRow
from hall_server.models import Hall, LogEvent, Ticket
from hall_server.services.actors import Actor
from hall_server.services.context import HallContext
from hall_server.services.hall_log import hall_write
from hall_server.services.setup import init_database
from hall_server.services.tickets import IssueRequest, issue_ticket
from hall_server.settings import load_settings
from tests.support.polling import until

from .hall import MONDAY_10AM, SMALL_HALL

pytestmark = pytest.mark.postgres

HALLS = 10
TICKETS_PER_THREAD = 12
KIOSK = Actor(kind="device", id=None, name="取号机", role="kiosk")


def hall_code(index: int) -> str:
    return f"district{index:02d}"


@pytest.fixture
def city(pg_url: str, tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """Ten halls in one PostgreSQL database; two Databases on it, as two server processes."""
    for index in range(1, HALLS + 1):
        settings = load_settings({
            "config_path": str(SMALL_HALL),
            "server": {"database_url": pg_url, "var_dir": str(tmp_path), "secret_key": "test"},
            "hall": {"code": hall_code(index), "name": f"第{index}区大厅"},
        })  # fmt: skip
        db, _, _ = init_database(settings, database_url(settings))
        db.dispose()
    url = database_url(settings)
    first, second = Database(url), Database(url)
    yield first, second
    first.dispose()
    second.dispose()


def test_ten_halls_issuing_at_once_each_keep_gapless_seqs_and_unique_numbers(
    city: tuple[Database, Database],
) -> None:
    # Two issuing threads per hall, each through its own process's Database.
    contexts = [
        HallContext(db, hall_code(index), secret="test")
        for index in range(1, HALLS + 1)
        for db in city
    ]
    start = threading.Barrier(len(contexts))
    errors: list[BaseException] = []
    numbers: dict[str, list[str]] = {hall_code(i): [] for i in range(1, HALLS + 1)}
    lock = threading.Lock()

    def kiosk(ctx: HallContext, offset: int) -> None:
        try:
            start.wait(timeout=60)
            for n in range(TICKETS_PER_THREAD):
                now = MONDAY_10AM + timedelta(seconds=n, milliseconds=offset)
                ticket = issue_ticket(ctx, KIOSK, IssueRequest(service="ab"[n % 2]), now=now)
                with lock:
                    numbers[ctx.hall_code].append(ticket["number"])
        except BaseException as error:  # the main thread reports it
            errors.append(error)
            start.abort()

    threads = [threading.Thread(target=kiosk, args=(ctx, i)) for i, ctx in enumerate(contexts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[0]
    assert not any(t.is_alive() for t in threads)

    with city[0].read() as session:
        halls = {h.code: h for h in session.scalars(select(Hall))}
        assert set(numbers) <= set(halls)
        for code, answered in numbers.items():
            hall = halls[code]
            assert len(answered) == 2 * TICKETS_PER_THREAD
            seqs = session.scalars(
                select(LogEvent.seq).where(LogEvent.hall_id == hall.id).order_by(LogEvent.seq)
            ).all()
            assert list(seqs) == list(range(1, len(seqs) + 1)), f"{code}: seq gaps or repeats"
            assert hall.last_seq == len(seqs)
            issued = session.scalars(select(LogEvent.type).where(LogEvent.hall_id == hall.id)).all()
            assert Counter(issued)["ticket.issued"] == len(answered)
            stored = session.scalars(select(Ticket.number).where(Ticket.hall_id == hall.id)).all()
            assert sorted(stored) == sorted(answered)
            for prefix in "AB":  # each service's numbers: 1..N, none twice, none skipped
                own = sorted(int(n[1:]) for n in answered if n.startswith(prefix))
                assert own == list(range(1, TICKETS_PER_THREAD + 1)), (code, prefix, own)
            # the day counters (which each process may have kept from its own last issue)
            # agree with the tickets: what the screens and "people ahead" read
            counters = session.execute(
                select(CounterRow.issued, CounterRow.waiting).where(CounterRow.hall_id == hall.id)
            ).all()
            assert sorted(counters) == [(TICKETS_PER_THREAD, TICKETS_PER_THREAD)] * 2, code


def lock_waits(db: Database) -> int:
    """How many sessions of the server wait for a lock held by another."""
    with db.read() as session:
        count = session.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        ).scalar()
    return int(count or 0)


def test_a_hall_writing_does_not_hold_up_another_hall(city: tuple[Database, Database]) -> None:
    # Hall 2 is served by the same process as hall 1; hall 1's second writer by another.
    first = HallContext(city[0], hall_code(1), secret="test")
    other = HallContext(city[0], hall_code(2), secret="test")
    same = HallContext(city[1], hall_code(1), secret="test")
    inside, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def long_write() -> None:  # hall 1's row stays locked until released
        with hall_write(first, KIOSK, MONDAY_10AM):
            inside.set()
            release.wait(timeout=60)

    def issue(name: str, ctx: HallContext) -> None:
        results[name] = issue_ticket(ctx, KIOSK, IssueRequest(service="b"), now=MONDAY_10AM)

    holder = threading.Thread(target=long_write)
    holder.start()
    try:
        assert inside.wait(timeout=30)
        beside = threading.Thread(target=issue, args=("other hall", other))
        beside.start()  # finishes while hall 1 is still locked
        until(lambda: "other hall" in results, what="hall 2's ticket while hall 1 writes")
        assert results["other hall"]["number"] == "B001"
        assert lock_waits(city[0]) == 0
        waiting = threading.Thread(target=issue, args=("same hall", same))
        waiting.start()  # hall 1's own second writer does wait for its turn, on the hall row
        until(lambda: lock_waits(city[0]) == 1, what="a write waiting for hall 1's row")
        assert waiting.is_alive() and "same hall" not in results
    finally:
        release.set()
        holder.join(timeout=30)
    waiting.join(timeout=30)
    assert results["same hall"]["number"] == "B001"
