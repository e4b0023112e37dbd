"""Exact replay (重放): a recorded day, re-run command by command through the real services.

The hall log holds every state change of a day as events. Each write's first event names
the command that made it (``ticket.called`` with reason ``by_number`` is a 特呼, an
``alarm.raised`` by the system is an alarm check …); the replay runs that command through
the same service the hall ran, at the recorded time, as the recorded actor, on a fresh
database holding the hall as the day began (``services/replay.py``), and compares the
events it writes with the recorded ones column by column — seq, time, type, actor, ticket,
window and the payload as canonical JSON. The first difference stops the replay; at the
end the day's ticket numbers are compared too.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..domain.errors import DomainError
from ..services.actors import Actor
from ..services.admin import revoke_device, rotate_device_token, save_notices
from ..services.alarms import acknowledge_alarm, check_alarms
from ..services.auth import unlock
from ..services.context import HallContext
from ..services.devices import report_status
from ..services.replay import (
    LoggedEvent,
    RecordedDay,
    build_replay_hall,
    day_numbers,
    lock_login_again,
    max_ids,
    next_ids,
    read_events,
    read_recorded_day,
)
from ..services.tickets import (
    IssueRequest,
    cancel_ticket,
    expire_open_tickets,
    issue_ticket,
    requeue_ticket,
)
from ..services.visits import record_evaluation
from ..services.windows import WindowCommand, window_action

_SIMPLE_PRESSES = {
    "ticket.recalled": "recall",
    "ticket.started": "start",
    "ticket.no_show": "no-show",
    "ticket.held": "hold",
    "window.opened": "open",
    "window.resumed": "resume",
    "window.closed": "close",
}


@dataclass
class Difference:
    """Where the replayed day first differs from the recorded one."""

    seq: int
    field: str
    recorded: str
    replayed: str

    def sentence(self) -> str:
        return (
            f"seq {self.seq} 不一致 (differs) — {self.field}:\n"
            f"  recorded: {self.recorded}\n  replayed: {self.replayed}"
        )


@dataclass
class ReplayResult:
    day: date
    events: int  # recorded events of the day
    compared: int  # events compared equal before the first difference (all when none)
    commands: int
    tickets: int
    first_seq: int
    last_seq: int
    difference: Difference | None = None
    kinds: dict[str, int] = field(default_factory=dict)  # commands run, by event type

    @property
    def exact(self) -> bool:
        return self.difference is None

    def summary(self) -> str:
        head = (
            f"{self.day} 重放 (replay): {self.compared}/{self.events} events compared "
            f"(seq {self.first_seq}–{self.last_seq}), {self.commands} commands, "
            f"{self.tickets} tickets"
        )
        if self.difference is None:
            return f"{head}\n完全一致 (identical, byte for byte)"
        return f"{head}\n{self.difference.sentence()}"


class Replay:
    """One recorded day run again on a fresh hall database."""

    def __init__(self, record: RecordedDay, ctx: HallContext) -> None:
        self.record, self.ctx = record, ctx
        self.now = record.start
        ctx.clock = lambda: self.now

    def actor(self, event: LoggedEvent) -> Actor:
        kind, actor_id = event.actor_kind, event.actor_id
        role = self.record.roles.get((kind, actor_id), "") if actor_id is not None else ""
        windows = self.record.device_windows.get(actor_id or 0, ()) if kind == "device" else ()
        return Actor(kind=kind, id=actor_id, name=event.actor_name, role=role, windows=windows)

    def command(self, event: LoggedEvent) -> Callable[[], Any]:
        """The service call that wrote ``event`` (a write's first event), ready to run."""
        ctx, actor, now, p = self.ctx, self.actor(event), event.at, event.payload
        kind, window = event.type, event.window_no or 0

        def press(action: str, **kw: Any) -> Callable[[], Any]:
            command = WindowCommand(action, **kw)
            return lambda: window_action(ctx, actor, window, command, now=now)

        if kind == "ticket.issued":
            facts = self.record.issued.get(event.ticket_id or 0, {})
            request = IssueRequest(
                p["service"],
                priority=bool(p.get("priority")) and not facts.get("appointment_code"),
                priority_kind=facts.get("priority_kind", "") or "",
                appointment_code=facts.get("appointment_code"),
            )
            return lambda: issue_ticket(ctx, actor, request, now=now, recorded=True)
        if kind == "ticket.called":
            if p.get("reason") == "by_number":
                return press("call", number=p["number"])
            return press("call-next")
        if kind in _SIMPLE_PRESSES:
            return press(_SIMPLE_PRESSES[kind])
        if kind == "window.paused":
            return press("pause", reason=p.get("reason", ""))
        if kind == "ticket.finished":
            return press("finish", case_no=p.get("case_no", ""))
        if kind == "ticket.transferred":
            return press("transfer", service=p["service"], window=p.get("to_window"),
                         note=p.get("note", ""))  # fmt: skip
        ticket_id = event.ticket_id or 0
        if kind == "ticket.requeued":
            return lambda: requeue_ticket(ctx, actor, ticket_id, now=now)
        if kind == "ticket.cancelled":
            return lambda: cancel_ticket(ctx, actor, ticket_id=ticket_id, now=now)
        if kind == "ticket.expired":
            return lambda: expire_open_tickets(ctx, actor, now=now)
        if kind in ("alarm.raised", "alarm.cleared") and p.get("update") == "acknowledged":
            return lambda: acknowledge_alarm(ctx, actor, int(p["alarm_id"]), now=now)
        if kind in ("alarm.raised", "alarm.cleared"):  # the alarm check found a change
            return lambda: check_alarms(ctx, now)
        if kind == "notice.changed":
            return lambda: save_notices(ctx, actor, list(p.get("notices", [])))
        if kind == "device.status":
            status = dict(p.get("status", {}))
            part = str(status.pop("part", ""))
            return lambda: report_status(ctx, actor, part=part, status=status, now=now)
        if kind == "evaluation.recorded":
            comment = self.record.comments.get(ticket_id, "")
            return lambda: record_evaluation(ctx, actor, ticket_id, score=int(p["score"]),
                                             reasons=list(p.get("reasons", [])),
                                             comment=comment, now=now)  # fmt: skip
        if kind == "login.locked":
            login, until = str(p["login"]), str(p["until"])
            failures, address = int(p.get("failures", 0)), str(p.get("address", ""))
            return lambda: lock_login_again(ctx, login, until, failures, address)
        if kind == "login.unlocked":
            return lambda: unlock(ctx, actor, str(p["login"]))
        if kind == "config.changed" and p.get("section") == "devices":
            name, action = str(p.get("key", "")), p.get("action")
            if action == "rotated":  # the new token is in the row only, never in the log
                return lambda: rotate_device_token(ctx, actor, name)
            if action == "revoked":
                return lambda: revoke_device(ctx, actor, name)
        what = f"{kind} ({p.get('section')})" if kind == "config.changed" else kind
        raise _Unreplayable(what)

    def expected_ids(self, index: int) -> dict[str, int]:
        """The ticket and alarm ids the write starting at ``index`` created when recorded."""
        events = self.record.events
        first = events[index]
        ids: dict[str, int] = {}
        if first.type == "ticket.issued" and first.ticket_id is not None:
            ids["ticket"] = first.ticket_id
        if not first.type.startswith("alarm."):
            return ids
        for e in events[index:]:  # an alarm check's events: the alarm ids it created
            if (e.at, e.actor_kind, e.actor_id) != (first.at, first.actor_kind, first.actor_id):
                break
            if e.type == "alarm.raised" and e.payload.get("update") == "raised":
                ids["alarm"] = int(e.payload["alarm_id"])
                break
        return ids


class _Unreplayable(Exception):
    pass


def _compare(
    recorded: LoggedEvent | None, replayed: LoggedEvent | None, seq: int
) -> Difference | None:
    if recorded is None or replayed is None:
        missing = "(no event)"
        return Difference(
            seq, "event",
            missing if recorded is None else f"{recorded.type} {recorded.fields()['payload']}",
            missing if replayed is None else f"{replayed.type} {replayed.fields()['payload']}",
        )  # fmt: skip
    mine, theirs = recorded.fields(), replayed.fields()
    for name, value in mine.items():
        if theirs[name] != value:
            return Difference(seq, name, value, theirs[name])
    return None


def replay_day(source: HallContext, day: date, *, workdir: Path | None = None) -> ReplayResult:
    """Replay ``day`` of ``source``'s hall on a scratch database; return what was compared."""
    record = read_recorded_day(source, day)
    numbers = day_numbers(source.db, source.hall_id, day)
    folder = Path(tempfile.mkdtemp(prefix="hall-replay-", dir=workdir or _scratch()))
    try:
        target = build_replay_hall(source.db, record, f"sqlite:///{folder / 'replay.db'}")
        try:
            ctx = HallContext(target, source.layout.code, secret="replay")
            return _run(Replay(record, ctx), record, numbers)
        finally:
            target.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _scratch() -> Path | None:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() else None


# Replayed events are read back and compared in batches of this many: a read per command
# was half the replay's time. Each command's events are checked at once by count, seq and
# type from what it published, so a difference still stops the replay at its command.
BATCH = 2000


def _run(replay: Replay, record: RecordedDay, numbers: dict[int, str]) -> ReplayResult:
    events = record.events
    first_seq = events[0].seq
    result = ReplayResult(day=record.day, events=len(events), compared=0, commands=0,
                          tickets=len(numbers), first_seq=first_seq,
                          last_seq=events[-1].seq)  # fmt: skip
    ctx = replay.ctx
    published: list[dict[str, Any]] = []
    ctx.subscribers.append(published.extend)
    known = max_ids(ctx.db)
    verified = first_seq - 1  # the replayed log is compared up to this seq

    def verify(upto: int) -> bool:
        """Compare the replayed events after ``verified`` up to ``upto``; False at a difference."""
        nonlocal verified
        written = {e.seq: e for e in read_events(ctx.db, ctx.hall_id, after=verified, upto=upto)}
        for seq in range(verified + 1, upto + 1):
            at = seq - first_seq
            recorded = events[at] if at < len(events) else None
            difference = _compare(recorded, written.get(seq), seq)
            if difference is not None:
                result.difference, result.compared = difference, at
                return False
        verified, result.compared = upto, upto - first_seq + 1
        return True

    index = 0
    while index < len(events):
        first = events[index]
        replay.now = first.at
        ids = {name: wanted for name, wanted in replay.expected_ids(index).items()
               if wanted > known[name] + 1}  # fmt: skip
        try:
            command = replay.command(first)
            with next_ids(ctx.db, ctx.hall_id, **ids):
                command()
        except _Unreplayable as what:
            if verify(first.seq - 1):
                result.difference = Difference(
                    first.seq, "command", f"{what} (重放不支持 — the replay has no command for it)",
                    "(not replayed)",
                )  # fmt: skip
            return result
        except DomainError as error:
            if verify(first.seq - 1):
                result.difference = Difference(first.seq, "command", first.type,
                                               f"refused: {error}")  # fmt: skip
            return result
        result.commands += 1
        result.kinds[first.type] = result.kinds.get(first.type, 0) + 1
        written, published[:] = list(published), []
        last = first.seq + len(written) - 1
        if not written or any(
            e["seq"] != first.seq + k
            or index + k >= len(events)
            or e["type"] != events[index + k].type
            for k, e in enumerate(written)
        ):
            verify(max(last, first.seq))  # finds the difference, at this command or before
            return result
        for e in written:
            if e["type"] == "ticket.issued":
                known["ticket"] = max(known["ticket"], int(e["ticket_id"]))
            elif e["type"] == "alarm.raised":
                known["alarm"] = max(known["alarm"], int(e["alarm_id"]))
        index += len(written)
        if (last - verified >= BATCH or index == len(events)) and not verify(last):
            return result
    replayed_numbers = day_numbers(ctx.db, ctx.hall_id, record.day)
    if numbers != replayed_numbers:
        ticket_id = min(
            t for t in set(numbers) | set(replayed_numbers)
            if numbers.get(t) != replayed_numbers.get(t)
        )  # fmt: skip
        result.difference = Difference(
            result.last_seq, f"ticket {ticket_id} number",
            str(numbers.get(ticket_id)), str(replayed_numbers.get(ticket_id)),
        )  # fmt: skip
    return result
