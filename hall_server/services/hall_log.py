"""One write of the hall: lock, change, log every event with its seq, commit, publish.

The hall row's ``last_seq`` is read under the writer lock (``FOR UPDATE`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite) and written back in the same transaction, so seq is
gapless and commits happen in seq order: a reader asking for ``after=N`` never misses an
event that commits later with a smaller seq. Events are published only after commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..db import Prepared, begin_locked, run_and_commit
from ..domain.events import HallEvent
from ..models import Hall, IdempotentRequest, LogEvent
from .actors import Actor
from .context import HallContext, Layout


def wire(row: LogEvent) -> dict[str, Any]:
    """Turn a log row into the event a client receives."""
    return {
        "seq": row.seq,
        "type": row.type,
        "at": row.at.isoformat(),
        **row.payload,
        "actor": row.actor_name,
    }


# Built once: building a statement per call cost more than running it (docs/BENCHMARKS.md).
_LOCK_HALL = Prepared(
    select(Hall.id, Hall.last_seq, Hall.config_version)
    .where(Hall.id == bindparam("b_hall"))
    .with_for_update()
)
_HALLS = cast(Table, Hall.__table__)
_INSERT_LOG = Prepared(insert(cast(Table, LogEvent.__table__)))
_NEW_SEQ = (
    update(_HALLS).where(_HALLS.c.id == bindparam("b_hall")).values(last_seq=bindparam("b_seq"))
)
_SET_SEQ = Prepared(_NEW_SEQ)
_LOG_TABLE = cast(Table, LogEvent.__table__)
_LOGGED_AT_ONCE = 8  # PostgreSQL: up to this many events go with the new last seq in one statement
_logs_with_seq: dict[tuple[int, tuple[str, ...]], Prepared] = {}


def _log_with_seq(count: int, columns: tuple[str, ...]) -> Prepared:
    """The hall log's rows and the hall's new last seq in one statement (PostgreSQL: an
    ``UPDATE`` in a ``WITH``): one round trip where two were, while the hall row is held."""
    key = (count, columns)
    found = _logs_with_seq.get(key)
    if found is None:
        seq = _NEW_SEQ.cte("set_seq")
        rows = [{name: bindparam(f"{name}_{i}", type_=_LOG_TABLE.c[name].type) for name in columns}
                for i in range(count)]  # fmt: skip
        found = _logs_with_seq[key] = Prepared(insert(_LOG_TABLE).values(rows).add_cte(seq))
    return found


@dataclass(frozen=True, slots=True)
class HallRef:
    """The locked hall row: only what a write needs (its JSON settings live in the layout)."""

    id: int
    last_seq: int
    config_version: int


@dataclass
class HallWrite:
    """The open write transaction of one hall."""

    ctx: HallContext
    connection: Connection
    hall: HallRef
    layout: Layout
    actor: Actor
    now: datetime
    seq: int
    events: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    # run once the write has committed, still holding the hall's lock of this process
    committed: list[Callable[[], None]] = field(default_factory=list)
    _session: Session | None = field(default=None, repr=False)

    @property
    def session(self) -> Session:
        """An ORM session in this transaction, opened on first use.

        Issuing a ticket runs on the connection alone: the session's begin, flush and
        commit were ~0.06 ms of an issue's 0.9 (docs/BENCHMARKS.md).
        """
        if self._session is None:
            self._session = Session(bind=self.connection, expire_on_commit=False)
        return self._session

    def log(
        self, event: HallEvent, *, ticket_id: int | None = None, window: int | None = None
    ) -> int:
        """Append ``event`` to the hall log in this transaction; return its seq."""
        self.seq += 1
        row: dict[str, Any] = {
            "hall_id": self.hall.id,
            "seq": self.seq,
            "at": self.now,
            "type": event.type,
            "actor_kind": self.actor.kind,
            "actor_id": self.actor.id,
            "actor_name": self.actor.name,
            "ticket_id": ticket_id,
            "window_no": window,
            "payload": event.payload(),
        }
        self.rows.append(row)
        self.events.append(
            {"seq": self.seq, "type": event.type, "at": self.now.isoformat(),
             **row["payload"], "actor": self.actor.name}
        )  # fmt: skip
        return self.seq

    def flush_log(self, *, commit: bool = False) -> None:
        """Write the events logged so far (one INSERT) and the hall's new last seq; with
        ``commit``, the write's last step: on PostgreSQL the ``COMMIT`` goes with them."""
        if self._session is not None:
            self._session.flush()
        if not self.rows:
            return
        seq = {"b_hall": self.hall.id, "b_seq": self.seq}
        if self.connection.dialect.name == "postgresql" and len(self.rows) <= _LOGGED_AT_ONCE:
            columns = tuple(self.rows[0])
            params = {f"{name}_{i}": row[name] for i, row in enumerate(self.rows)
                      for name in columns}  # fmt: skip
            statement = _log_with_seq(len(self.rows), columns)
            if commit:
                run_and_commit(self.connection, statement, params | seq)
            else:
                statement.run(self.connection, params | seq)
        else:
            _INSERT_LOG.run(self.connection, self.rows)
            _SET_SEQ.run(self.connection, seq)
        self.rows = []

    def replay(self, scope: str, key: str | None) -> dict[str, Any] | None:
        """Return the stored answer of an earlier request with this idempotency key."""
        if not key:
            return None
        row = self.session.get(IdempotentRequest, (self.hall.id, scope, key))
        return None if row is None else dict(row.body)

    def remember(self, scope: str, key: str | None, status: int, body: dict[str, Any]) -> None:
        """Store this request's answer under its idempotency key, in this transaction."""
        if key:
            self.session.add(
                IdempotentRequest(
                    hall_id=self.hall.id,
                    scope=scope,
                    key=key,
                    status=status,
                    body=body,
                    created_at=self.now,
                )
            )


@contextmanager
def hall_write(ctx: HallContext, actor: Actor, now: datetime | None = None) -> Iterator[HallWrite]:
    """Run one state change of the hall; its events are published after commit."""
    with ctx.write_lock:
        with ctx.db.write_connection(ctx.hall_id) as connection:
            [row] = begin_locked(connection, _LOCK_HALL, {"b_hall": ctx.hall_id})
            hall = HallRef(*row)
            at = (now or ctx.clock()).astimezone(UTC)
            write = HallWrite(ctx, connection, hall, ctx.layout, actor, at, seq=hall.last_seq)
            if write.layout.version != hall.config_version:  # an admin changed the layout
                write.layout = ctx.refresh(write.session, hall.config_version)
            try:
                yield write
                write.flush_log(commit=True)
            finally:
                if write._session is not None:
                    write._session.close()
        for then in write.committed:
            then()
        if write.events:
            ctx.publish(write.events)
    # On disk before the answer (a printed number must survive a power cut), waited for
    # outside the hall's lock so that the commits of many requests share one fsync (db.py).
    ctx.db.wait_durable()
