"""The hall's wiring in one place: what runs after a commit, and what runs in the background.

``SUBSCRIBERS`` get every batch of committed events (``ctx.publish``, in seq order, in this
order). ``BACKGROUND_JOBS`` are the loops of a serving process, each with its period. Read
these two tables to know what a change of the hall sets off.

Where each part runs:

- ``APP``: every server process, needs the Flask app and Socket.IO (``wire_app``, from
  ``create_app``);
- ``EVERY``: every process, pure services (``wire_app`` too; ``wire_in_process`` for a
  simulator without a server);
- ``LEADER``: once per hall, with the background jobs (``start_background_jobs``). Every
  serving process runs an election (``elect_leader``, ``hall_server/leader.py``): the one
  holding the hall's leader lock in the database starts them; if it loses the lock its jobs
  and LEADER subscribers stop (each round asks ``leading()`` first), and another takes over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from .domain.numbering import business_day
from .services.actors import SYSTEM
from .services.aggregates import refresh_planner_stats, refresh_stats
from .services.alarms import AlarmWatch, check_alarms
from .services.appointments import mark_no_shows
from .services.background import repeat
from .services.context import HallContext
from .services.notify import TurnNotices, notifier_from_settings
from .services.tickets import expire_open_tickets
from .services.webhooks import WebhookWorker
from .settings import Settings

if TYPE_CHECKING:
    from flask import Flask

    from .leader import Election

log = logging.getLogger(__name__)

Subscriber = Callable[[list[dict[str, Any]]], None]
Where = Literal["app", "every", "leader"]
APP: Where = "app"
EVERY: Where = "every"
LEADER: Where = "leader"


@dataclass
class Wiring:
    """What the subscribers and jobs of one hall context are built from, and what was built."""

    ctx: HallContext
    settings: Settings
    spawn: Callable[[Callable[[], None]], Any]
    sleep: Callable[[float], Any]
    app: Flask | None = None
    leading: Callable[[], bool] = lambda: True  # may a LEADER part act now (the election)
    stop: threading.Event = field(default_factory=threading.Event)  # ends this term's jobs
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    wakes: dict[str, threading.Event] = field(default_factory=dict)
    jobs: list[str] = field(default_factory=list)

    def wake(self, job: str) -> threading.Event:
        """The event that starts a round of ``job`` early (made once, shared)."""
        return self.wakes.setdefault(job, threading.Event())


@dataclass(frozen=True)
class SubscriberRow:
    name: str
    where: Where
    make: Callable[[Wiring], Subscriber]
    what: str


@dataclass(frozen=True)
class JobRow:
    name: str
    period_s: float
    make: Callable[[Wiring], Callable[[], Any] | None]  # one round; None: not needed here
    what: str
    woken_by_events: bool = False  # also runs soon after a commit, at most every min_gap_s
    min_gap_s: float = 0.0


# ---------------------------------------------------------------- subscribers


def _realtime(w: Wiring) -> Subscriber:
    from .realtime import init_realtime

    assert w.app is not None
    return init_realtime(w.app, w.ctx)


def _kiosk_printers(w: Wiring) -> Subscriber:
    from .realtime.kiosk import printer_changes

    return printer_changes(w.ctx)


def _turn_notices(w: Wiring) -> Subscriber:
    notices = TurnNotices(w.ctx, notifier_from_settings(w.settings.notify))
    if w.app is not None:
        w.app.extensions["kiosk_turns"] = notices  # the kiosk API remembers contacts with it
    return notices


def _alarm_watch(w: Wiring) -> Subscriber:
    return AlarmWatch(w.ctx, w.spawn, w.sleep)


def _webhook_wake(w: Wiring) -> Subscriber:
    wake = w.wake("webhook deliveries")
    return lambda events: wake.set()


def _metrics(w: Wiring) -> Subscriber:
    assert w.app is not None
    metrics: Subscriber = w.app.extensions["hall_metrics"]
    return metrics


SUBSCRIBERS: tuple[SubscriberRow, ...] = (
    SubscriberRow("metrics", APP, _metrics,
                  "/metrics: counts the events this process published and the tickets it issued"),
    SubscriberRow("realtime", APP, _realtime,
                  "Socket.IO /hall: each event to the staff room, its public view to the public"),
    SubscriberRow("kiosk printers", APP, _kiosk_printers,
                  "Socket.IO /kiosk: a kiosk page hears at once that its printer or agent changed"),
    SubscriberRow("turn notices", EVERY, _turn_notices,
                  "叫号提醒: a visitor whose turn is near gets a message, sent off the request"),
    SubscriberRow("alarm watch", LEADER, _alarm_watch,
                  "告警: an alarm check soon after a ticket or window moves, at most every 5 s"),
    SubscriberRow("webhook wake", LEADER, _webhook_wake,
                  "wakes the webhook deliveries job, so receivers hear of events at once"),
)  # fmt: skip


# ---------------------------------------------------------------- background jobs


def _housekeeping(w: Wiring) -> Callable[[], Any]:
    ctx = w.ctx

    def round_() -> None:
        expired = expire_open_tickets(ctx, SYSTEM)
        if expired:
            log.info("expired %d open tickets of earlier days", expired)
        mark_no_shows(ctx)  # appointments (预约) whose check-in window ended

    return round_


def _checkpoint(w: Wiring) -> Callable[[], Any] | None:
    db = w.ctx.db
    return db.checkpoint if db.sqlite_path is not None else None


class _ReportRounds:
    """The first round builds every day never built (after an upgrade); the planner's
    statistics are analysed at start and after each midnight."""

    def __init__(self, ctx: HallContext) -> None:
        self.ctx, self.backfill = ctx, True
        self.analysed_on: date | None = None

    def __call__(self) -> None:
        built = refresh_stats(self.ctx, backfill=self.backfill)
        if built:
            log.info("built the report aggregates of %d days", built)
        today = business_day(self.ctx.clock(), self.ctx.layout.tz)
        if self.analysed_on != today:
            refresh_planner_stats(self.ctx)
            self.analysed_on = today
        self.backfill = False


# At a thousand commits a second a checkpoint each second never finished between two writes,
# the WAL reached SQLite's own limit and a commit checkpointed (20-75 ms stalls): hence 0.1 s.
BACKGROUND_JOBS: tuple[JobRow, ...] = (
    JobRow("housekeeping", 60, _housekeeping,
           "end earlier days' open tickets; mark booked appointments no-show (爽约)"),
    JobRow("WAL checkpoint", 0.1, _checkpoint,
           "SQLite only: checkpoint the write-ahead log off the request path"),
    JobRow("alarm check", 15, lambda w: partial(check_alarms, w.ctx),
           "告警: thresholds are whole minutes, so a check every 15 s is at most that late"),
    JobRow("report aggregates", 300, lambda w: _ReportRounds(w.ctx),
           "报表: build past days' aggregates after midnight, re-check them for late changes"),
    JobRow("webhook deliveries", 5, lambda w: WebhookWorker(w.ctx).run_once,
           "send due webhook deliveries, with retries", woken_by_events=True, min_gap_s=0.5),
)  # fmt: skip
# Woken by every event, the empty webhook rounds of a hall without receivers cost a fifth of
# the server's CPU at hundreds of tickets a second: hence at most one round per 0.5 s.


# ---------------------------------------------------------------- wiring


def wire_subscribers(w: Wiring, where: tuple[Where, ...]) -> None:
    """Build the subscribers of these parts, in the table's order, and attach them.
    A LEADER subscriber acts only while this process leads."""
    for row in SUBSCRIBERS:
        if row.where in where and row.name not in w.subscribers:
            subscriber = row.make(w)
            if row.where == LEADER:
                subscriber = _while_leading(w, subscriber)
            w.subscribers[row.name] = subscriber
            w.ctx.subscribers.append(subscriber)


def _while_leading(w: Wiring, subscriber: Subscriber) -> Subscriber:
    def leader_only(events: list[dict[str, Any]]) -> None:
        if w.leading():
            subscriber(events)

    return leader_only


def start_jobs(w: Wiring) -> None:
    """Spawn one loop per background job (skipping those not needed here) for this term of
    leadership: each round runs only while this process leads; ``stop_jobs`` ends them."""
    w.stop = stop = threading.Event()
    for row in BACKGROUND_JOBS:
        round_ = row.make(w)
        if round_ is None:
            continue
        wake = w.wake(row.name) if row.woken_by_events else None
        loop = partial(repeat, _guarded(w, stop, round_), row.period_s, name=row.name,
                       sleep=w.sleep, wake=wake, min_gap_s=row.min_gap_s, stop=stop)  # fmt: skip
        w.spawn(loop)
        w.jobs.append(row.name)


def _guarded(w: Wiring, stop: threading.Event, round_: Callable[[], Any]) -> Callable[[], Any]:
    def leader_round() -> Any:
        if stop.is_set() or not w.leading():
            stop.set()  # this term is over: the loop ends after this turn
            return None
        return round_()

    return leader_round


def stop_jobs(w: Wiring) -> None:
    """End this term's job loops (each ends at its next turn and runs no further round)."""
    w.stop.set()
    for wake in w.wakes.values():
        wake.set()  # a loop waiting on its wake-up sees the stop now
    w.jobs.clear()


def wire_app(app: Flask) -> Wiring:
    """Attach the subscribers of every server process (``create_app`` calls this)."""
    from .extensions import socketio

    hall = app.extensions["hall"]
    w = Wiring(hall.ctx, hall.settings, socketio.start_background_task, socketio.sleep, app)
    wire_subscribers(w, (APP, EVERY))
    app.extensions["hall_wiring"] = w
    return w


def start_background_jobs(app: Flask, leading: Callable[[], bool] | None = None) -> Wiring:
    """Make this process the hall's leader: its subscribers and every background job.
    ``leading`` (the election's) says before each round whether it still is."""
    w: Wiring = app.extensions["hall_wiring"]
    if leading is not None:
        w.leading = leading
    wire_subscribers(w, (LEADER,))
    start_jobs(w)
    return w


def stop_background_jobs(app: Flask) -> None:
    """This process is no longer the leader: its jobs stop (its LEADER subscribers already
    stopped acting, as ``leading()`` says no)."""
    stop_jobs(app.extensions["hall_wiring"])


def elect_leader(app: Flask) -> Election:
    """Run this process's leader election (``hall_server/leader.py``) in the background: the
    process that wins starts the background jobs, one that loses its lock stops them."""
    from .extensions import socketio
    from .leader import Election, leader_lock

    hall = app.extensions["hall"]
    check_s = hall.settings.server.leader_check_s
    lock = leader_lock(hall.db.url, hall.db.sqlite_path, hall.ctx.hall_id, check_s=check_s)
    election = Election(
        lock,
        on_win=lambda e: start_background_jobs(app, e.leading),
        on_lose=lambda: stop_background_jobs(app),
        check_s=check_s,
        sleep=socketio.sleep,
    )
    app.extensions["hall_leader"] = election
    socketio.start_background_task(election.run)
    return election


def wire_in_process(
    ctx: HallContext,
    settings: Settings,
    *,
    spawn: Callable[[Callable[[], None]], Any] | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    jobs: bool = False,
) -> Wiring:
    """Wire the pure-service subscribers (and, with ``jobs``, the background jobs) to a hall
    context without Flask or Socket.IO — for a simulator driving the services in-process."""
    if spawn is None:
        spawn = _thread
    w = Wiring(ctx, settings, spawn, sleep)
    wire_subscribers(w, (EVERY, LEADER))
    if jobs:
        start_jobs(w)
    return w


def _thread(target: Callable[[], None]) -> None:
    threading.Thread(target=target, daemon=True).start()
