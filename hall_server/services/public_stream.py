"""What the public audience is sent: every event a screen shows at once, queue counts coalesced.

Displays, kiosks and phones get calls, recalls, window changes and notices as they commit,
but not every ``ticket.issued`` (``contract.PUBLIC_WITHHELD_EVENTS``): a ``queue.counts``
message a few times a second carries the true waiting counts instead. So that a client still
tells a lost message from a withheld one, every public message carries ``prev``, the seq of
the public event before it (0 when there is none):

- a public event ``{seq, prev, type, …}``: the hall's event with seq ``seq``;
- ``{type: "queue.counts", seq, prev, at, waiting: {service: n}}``: the waiting counts as
  they were right after the hall's event ``seq``; ``prev`` is the last public event at or
  before ``seq``.

A client whose state is current up to seq ``S`` applies a message when ``prev <= S`` (it has
every public event up to ``prev``, so nothing public lies between) and then is current up to
its ``seq``; a message with ``prev > S`` means it lost one and asks ``resync {last_seq: S}``.
An event with ``seq <= S`` is a duplicate; counts with ``seq == S`` are applied again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..contract import PUBLIC_WITHHELD_EVENTS, QUEUE_COUNTS, public_view
from ..domain.numbering import business_day
from ..models import Counter as CounterRow
from ..models import Hall, LogEvent
from .context import HallContext
from .hall_log import wire

_WITHHELD = sorted(PUBLIC_WITHHELD_EVENTS)
# A public resync scans the log's rows in its range (withheld ones too): up to this many
# times ``resync_max_events`` rows, beyond that a snapshot is cheaper.
PUBLIC_RESYNC_SPAN = 20


def is_public(event_type: str) -> bool:
    """Whether the public audience gets this event as it commits."""
    return event_type not in PUBLIC_WITHHELD_EVENTS


def last_public_seq(session: Session, hall_id: int, upto: int) -> int:
    """The seq of the last public event at or before ``upto`` (0 when there is none).

    Walks the log back from ``upto`` on its (hall, seq) index, over the withheld events
    since the last public one: a few hundred in a busy hour, read once per process.
    """
    seq = session.scalar(
        select(LogEvent.seq)
        .where(LogEvent.hall_id == hall_id, LogEvent.seq <= upto, LogEvent.type.not_in(_WITHHELD))
        .order_by(LogEvent.seq.desc())
        .limit(1)
    )
    return int(seq or 0)


def _counts_message(
    ctx: HallContext, session: Session, seq: int, prev: int, now: datetime
) -> dict[str, Any]:
    hall = session.get(Hall, ctx.hall_id)
    assert hall is not None
    layout = ctx.refresh(session, hall.config_version)
    day = business_day(now, layout.tz)
    # The day counters keep the waiting counts: one row per service, never a scan of tickets.
    waiting = dict(
        session.execute(
            select(CounterRow.service_id, CounterRow.waiting).where(
                CounterRow.hall_id == ctx.hall_id, CounterRow.business_day == day
            )
        ).all()
    )
    return {
        "seq": seq,
        "prev": prev,
        "type": QUEUE_COUNTS,
        "at": now.isoformat(),
        "waiting": {s.code: int(waiting.get(s.id, 0)) for s in layout.services.values()},
    }


def queue_counts(
    ctx: HallContext, *, known_prev: dict[int, int] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The hall's true waiting counts and the seq they are current up to, in one read.

    ``known_prev`` maps a seq to its last public seq when the caller knows it (the emitter
    does when every event up to it passed through it), saving the walk back in the log.
    """
    now = now or ctx.clock()
    with ctx.db.snapshot() as session:  # one moment: the seq and the counts agree
        seq = int(session.scalar(select(Hall.last_seq).where(Hall.id == ctx.hall_id)) or 0)
        prev = (known_prev or {}).get(seq)
        if prev is None:
            prev = last_public_seq(session, ctx.hall_id, seq)
        return _counts_message(ctx, session, seq, prev, now)


def hall_seq(ctx: HallContext) -> int:
    """The hall log's newest seq: one row, read before deciding whether counts are due."""
    with ctx.db.read() as session:
        return int(session.scalar(select(Hall.last_seq).where(Hall.id == ctx.hall_id)) or 0)


def public_events_after(
    ctx: HallContext, after: int, *, limit: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The public events after ``after`` (each with ``prev``) and the counts at the end.

    A public resync never replays the issues one by one: it gets the calls and window
    changes it missed and one ``queue.counts`` current up to ``last_seq``; or
    ``snapshot_required`` when more than ``limit`` public events were missed.
    """
    limit = limit or ctx.resync_max_events
    now = now or ctx.clock()
    with ctx.db.snapshot() as session:
        last = int(session.scalar(select(Hall.last_seq).where(Hall.id == ctx.hall_id)) or 0)
        if after > last or last - after > limit * PUBLIC_RESYNC_SPAN:
            return {"events": [], "last_seq": last, "snapshot_required": True}
        rows = list(
            session.scalars(
                select(LogEvent)
                .where(
                    LogEvent.hall_id == ctx.hall_id,
                    LogEvent.seq > after,
                    LogEvent.seq <= last,
                    LogEvent.type.not_in(_WITHHELD),
                )
                .order_by(LogEvent.seq)
                .limit(limit + 1)
            )
        )
        if len(rows) > limit:
            return {"events": [], "last_seq": last, "snapshot_required": True}
        prev = last_public_seq(session, ctx.hall_id, after)
        events = []
        for row in rows:
            events.append({**public_view(wire(row)), "prev": prev})
            prev = row.seq
        counts = _counts_message(ctx, session, last, prev, now)
        return {"events": events, "counts": counts, "last_seq": last, "snapshot_required": False}
