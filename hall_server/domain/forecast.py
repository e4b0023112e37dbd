"""Where a ticket stands and when it will be called: position and ETA from the live hall.

Pure: the windows, the waiting tickets, the handling times and ``now`` go in; a position and
an ETA (median and an 80 % range) come out.

**Position** (前面还有 N 人) is the ticket's place in the call order the call-next policy
(``queueing.call_next``) will actually follow: the hall is replayed forward, each window
calling when it becomes free, so targeted tickets, appointments in their slot, the green
channel with its swap ratio, weights and aging all count as the windows will apply them. It
is the number of tickets the windows that may call this ticket call before it.

**The replay.** A window busy with a visitor becomes free after the visitor's *expected
remaining* handling given how long it has lasted (a conditional expectation: a Gamma
distribution with the service's mean and spread); an idle open window calls at once; a
paused one at its expected resume; a window not open yet at its opening time. The earliest
free window calls per ``call_next`` over the heads of the queues only (per service the first
green-channel and the first normal ticket, the first ticket reserved for it, the in-slot
appointments), so one step costs O(services it serves), not O(queue). Then it is busy for
the mean handling of what it called. The share of a shared window's time each service gets
falls out of the replay.

**The ETA's spread.** The ticket is called at the j-th time one of the windows that may call
it becomes free (j = position + 1). The replay gives each such window's free times; between
two of them the window's "departure count" rises linearly, which makes a curve D(t) of
expected departures by t; the visit at a window now enters by its own cumulative hazard
(``hazard_points``), so the first visit to end is exactly an Exp(1) on this clock whatever
the handling's shape. The call time is D⁻¹(G), G a Gamma of mean j (plus the pauses
expected to come) and variance the sum of: the renewal count's j·κ (κ = 1 over a short
horizon, the handling's cv² over a long one; with exponential handling and every window
busy this is exactly the Erlang of the (k+1)-th departure at rate c·μ, the best forecast
possible); the Poisson count of newcomers who go first; the shared windows' random order
(negative binomial: each free-up reaches this queue with probability 1 − p, p the share of
the windows that call another queue first, in the replay or if they freed up now); j² times the
learned mean's relative variance; and the pauses' compound Poisson count. Calls that happen
at a known moment (an idle window, an opening) are steps of D and not random.

Why this and not Monte Carlo replays: the Monte Carlo range needs a few dozen replays, each
as long as the queue ahead (measured ~40x the cost of one replay, over a millisecond at a
queue of 30); the Gamma on the replay's clock costs one replay and a sort, is exact in
M/M/c, and meets the error and range targets on M/M/c and the mixed hall (docs/SIMULATION.md,
"Waiting times (ETA)").
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from .queueing import CallPolicy, Candidate, _in_slot, call_next

LOW_Q, HIGH_Q = 0.1, 0.9  # the 80 % range


@dataclass(frozen=True, slots=True)
class Handling:
    """A service's handling time at a window: mean seconds and squared coefficient of variation."""

    mean_s: float
    cv2: float = 1.0
    mean_rv: float = 0.0  # the mean's own uncertainty: its relative variance (learned estimate)


@dataclass(frozen=True, slots=True)
class PauseRisk:
    """How often an open window pauses (per second open) and for how long (mean seconds)."""

    rate: float
    mean_s: float


@dataclass(frozen=True, slots=True)
class WindowNow:
    """A window as the forecast sees it."""

    number: int
    weights: Mapping[str, int]
    state: str = "open"  # open | paused | closed
    priority_streak: int = 0
    busy_service: str | None = None  # the service of the visitor at the window, if any
    elapsed_s: float = 0.0  # how long that visit has lasted
    resume_at: datetime | None = None  # paused: when it is expected back
    opens_at: datetime | None = None  # closed: when it opens (None: not again today)


@dataclass(frozen=True, slots=True)
class Eta:
    """A ticket's place in the call order and its wait: median and 80 % range, in seconds."""

    position: int
    median_s: float
    low_s: float
    high_s: float


@dataclass(slots=True)
class _Track:
    """One window's free times in the replay (for the ETA's clock)."""

    ramps: bool  # busy at the start: its first free time ramps up from 0
    frees: list[float] = field(default_factory=list)  # seconds after now
    tail_s: float = 300.0  # mean handling after the replay's last free time
    first: Handling | None = None  # busy at the start: the handling of that visit
    elapsed_s: float = 0.0  # and how long it has lasted
    first_s: float = 0.0  # its first free time (seconds after now), reached in the replay or not


# ---------------------------------------------------------------- the Gamma distribution


def _lower_gamma_p(a: float, x: float) -> float:
    """The regularised lower incomplete gamma function P(a, x)."""
    if x <= 0:
        return 0.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # series
        term = total = 1.0 / a
        n = a
        for _ in range(500):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-12:
                break
        return min(1.0, total * math.exp(log_front))
    # continued fraction for Q (Lentz)
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 500):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-12:
            break
    return max(0.0, 1.0 - math.exp(log_front) * h)


def _normal_quantile(q: float) -> float:
    """Φ⁻¹(q) (Acklam's rational approximation, |error| < 1.2e-9 after one refinement)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)  # fmt: skip
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
         3.754408661907416e00)  # fmt: skip
    if q < 0.02425:
        r = math.sqrt(-2 * math.log(q))
        return (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / (
            (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1
        )
    if q > 1 - 0.02425:
        return -_normal_quantile(1 - q)
    r = q - 0.5
    s = r * r
    return (
        (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5])
        * r
        / (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1)
    )


def gamma_quantile(shape: float, q: float) -> float:
    """The q-quantile of Gamma(shape, scale 1), the shape taken to 3 significant digits (the
    answers are cached: a shape 0.05 % off moves a quantile by less than that)."""
    if shape <= 0:
        return 0.0
    return _gamma_quantile(float(f"{shape:.3g}"), q) * shape / float(f"{shape:.3g}")


@lru_cache(maxsize=8192)
def _gamma_quantile(shape: float, q: float) -> float:
    """The q-quantile of Gamma(shape, scale 1): Wilson–Hilferty, refined by Newton steps."""
    if shape <= 0:
        return 0.0
    z = _normal_quantile(q)
    x = shape * (1 - 1 / (9 * shape) + z / (3 * math.sqrt(shape))) ** 3
    if x <= 0 or shape < 1:
        x = max(x, (q * shape * math.gamma(shape)) ** (1 / shape))  # small-x expansion
    if shape > 200:
        return x
    for _ in range(6):
        density = math.exp((shape - 1) * math.log(x) - x - math.lgamma(shape))
        if density <= 0:
            break
        step = (_lower_gamma_p(shape, x) - q) / density
        x_new = x - step
        x = x / 2 if x_new <= 0 else x_new
        if abs(step) < 1e-9 * max(1.0, x):
            break
    return x


def remaining_s(handling: Handling, elapsed_s: float) -> float:
    """Expected handling still to come of a visit that has lasted ``elapsed_s``.

    Exponential handling (cv² ≈ 1) is memoryless: the mean, whatever has gone. Otherwise a
    log-normal of the same mean and cv² (visits at a counter are skewed: most are short, a
    few take long, and one that has taken long tends to go on): E[X − e | X > e].
    """
    mean = max(handling.mean_s, 1.0)
    cv2 = handling.cv2
    if elapsed_s <= 0 or 0.97 <= cv2 <= 1.03:
        return mean
    sigma2 = math.log(1 + max(cv2, 0.01))
    sigma = math.sqrt(sigma2)
    mu = math.log(mean) - sigma2 / 2
    z = (math.log(elapsed_s) - mu) / sigma
    survive = math.erfc(z / math.sqrt(2))
    if survive < 1e-12:  # far in the tail: the Mills ratio's limit
        return max(elapsed_s * sigma / z, 1.0)
    tail_mean = mean * math.erfc((z - sigma) / math.sqrt(2)) / survive
    return max(tail_mean - elapsed_s, 1.0)


# ---------------------------------------------------------------- the replay


class _Queues:
    """The waiting tickets kept as per-service sorted heads, with lazy removal."""

    def __init__(self, waiting: Iterable[Candidate]) -> None:
        normal: dict[str, list[Candidate]] = {}
        green: dict[str, list[Candidate]] = {}
        targeted: dict[int, list[Candidate]] = {}
        booked: list[Candidate] = []
        for c in waiting:
            if c.target_window is not None:
                targeted.setdefault(c.target_window, []).append(c)
                continue
            (green if c.priority else normal).setdefault(c.service, []).append(c)
            if c.slot_start is not None and c.slot_end is not None:
                booked.append(c)
        order = _fifo_key
        self.normal = {s: deque(sorted(v, key=order)) for s, v in normal.items()}
        self.green = {s: deque(sorted(v, key=order)) for s, v in green.items()}
        self.targeted = {w: deque(sorted(v, key=order)) for w, v in targeted.items()}
        self.booked = sorted(booked, key=lambda c: (c.slot_start, c.queued_at, c.id))
        self.called: set[int] = set()

    def _head(self, queue: deque[Candidate] | None) -> Candidate | None:
        while queue:
            if queue[0].id in self.called:
                queue.popleft()
                continue
            return queue[0]
        return None

    def heads(
        self, window: int, weights: Mapping[str, int], policy: CallPolicy, now: datetime
    ) -> list[Candidate]:
        found: list[Candidate] = []
        head = self._head(self.targeted.get(window))
        if head is not None:
            found.append(head)
        for c in self.booked:
            if c.id not in self.called and c.service in weights and _in_slot(c, policy, now):
                found.append(c)
                break
        for service in weights:
            for pool in (self.green, self.normal):
                head = self._head(pool.get(service))
                if head is not None:
                    found.append(head)
        return found

    def add(self, c: Candidate) -> None:
        """A ticket that arrives during the replay (last of its pool)."""
        (self.green if c.priority else self.normal).setdefault(c.service, deque()).append(c)

    def remove(self, c: Candidate) -> None:
        self.called.add(c.id)
        if c.slot_start is not None:
            self.booked = [b for b in self.booked if b.id != c.id]


def _fifo_key(c: Candidate) -> tuple[datetime, int]:
    return (c.queued_at, c.id)


def _may_call(window: WindowNow, ticket: Candidate) -> bool:
    if ticket.target_window is not None:
        return ticket.target_window == window.number
    return ticket.service in window.weights


def _may_go_first(code: str, green: bool, target: Candidate, eligible: Sequence[WindowNow]) -> bool:
    """Whether a newcomer of (``code``, ``green``) can be called before ``target``.

    A reserved ticket or an appointment is called before any newcomer; a newcomer of the
    target's own pool queues behind it. Otherwise a green-channel newcomer goes before a
    normal target at any window serving it, and a newcomer of the same kind goes first only
    where its service weighs more than the target's.
    """
    if target.target_window is not None or target.slot_start is not None:
        return False
    if (code, green) == (target.service, target.priority):
        return False
    if green and not target.priority:
        return any(code in w.weights for w in eligible)
    if green != target.priority:
        return False  # a normal newcomer behind a green-channel target
    return any(w.weights.get(code, 0) > w.weights.get(target.service, 0) for w in eligible)


def _share_first(code: str, green: bool, target: Candidate, eligible: Sequence[WindowNow]) -> float:
    """The share of the windows that may call ``target`` at which a newcomer of (``code``,
    ``green``) is called first."""
    if green and not target.priority:
        first = sum(1 for w in eligible if code in w.weights)
    else:
        first = sum(1 for w in eligible
                    if w.weights.get(code, 0) > w.weights.get(target.service, 0))  # fmt: skip
    return first / max(len(eligible), 1)


def _first_free(
    w: WindowNow, now: datetime, handling: Mapping[str, Handling], default: Handling
) -> tuple[datetime, bool] | None:
    """When the window first calls, and whether that moment ramps (a visit ends) or is known."""
    busy = None
    if w.busy_service is not None:
        spec = handling.get(w.busy_service, default)
        busy = now + timedelta(seconds=remaining_s(spec, w.elapsed_s))
    if w.state == "open":
        return (busy, True) if busy is not None else (now, False)
    if w.state == "paused":
        back = max(w.resume_at or now, now)
        return (max(back, busy), False) if busy is not None else (back, False)
    if w.opens_at is not None:
        return (max(w.opens_at, now), False)
    return None


def _connected(windows: Sequence[WindowNow], target: Candidate) -> list[WindowNow]:
    """The windows whose calls can reach the target's queue through shared services."""
    if target.target_window is not None:
        return [w for w in windows if w.number == target.target_window]
    services = {target.service}
    chosen: dict[int, WindowNow] = {}
    grew = True
    while grew:
        grew = False
        for w in windows:
            if w.number not in chosen and services.intersection(w.weights):
                chosen[w.number] = w
                services.update(w.weights)
                grew = True
    return list(chosen.values())


def forecast(
    target: Candidate,
    windows: Sequence[WindowNow],
    waiting: Sequence[Candidate],
    handling: Mapping[str, Handling],
    policy: CallPolicy,
    now: datetime,
    *,
    arrival_rates: Mapping[tuple[str, bool], float] | None = None,
    arrivals_until: Mapping[str, datetime] | None = None,
    whole: bool = True,
    max_steps: int = 20_000,
    pauses: PauseRisk | None = None,
) -> Eta | None:
    """Position and ETA of ``target`` (a waiting ticket, or a new one not in ``waiting``).

    ``arrival_rates``: tickets expected per second per (service, green channel). Those that
    come while the target waits may go first — the green channel and appointments before
    normal tickets, another service's tickets at a window that prefers that service — so
    the replay lets them arrive at their mean spacing (the k-th at (k − ½)/rate), and the
    spread of their count (Poisson) widens the range. (The target's own pool comes after
    it.) ``arrivals_until``: per service, when it stops issuing (the end of its open period);
    none come after. ``whole``: replay every window connected to the target's through shared
    services; else only the windows that may call it (cheaper, at the price of not seeing
    the other windows drain the services these share). None when no window that may call it
    is open or opens later today. ``pauses``: how often the windows pause and for how long
    (the hall's recorded pauses): pauses to come delay the call and widen the range.
    """
    default = handling.get(target.service, Handling(300.0))
    pool = _connected(windows, target) if whole else [w for w in windows if _may_call(w, target)]
    queues = _Queues([*waiting, target] if all(c.id != target.id for c in waiting) else waiting)
    # times in the replay: seconds after ``now``
    free: list[tuple[float, int, WindowNow]] = []
    tracks: dict[int, _Track] = {}
    # A closed window's opening counts only while no open or paused one may call the target
    # (before the hall opens; a service nobody serves yet): a window left closed in open
    # hours is not promised.
    live = any(w.state != "closed" and _may_call(w, target) for w in pool)
    for w in pool:
        if live and w.state == "closed":
            continue
        first = _first_free(w, now, handling, default)
        if first is None:
            continue
        begins, ramps = first
        heapq.heappush(free, ((begins - now).total_seconds(), w.number, w))
        if _may_call(w, target):
            made = tracks[w.number] = _Track(ramps=ramps, tail_s=default.mean_s)
            made.first_s = (begins - now).total_seconds()
            if ramps and w.busy_service is not None:
                made.first = handling.get(w.busy_service, default)
                made.elapsed_s = w.elapsed_s
                made.tail_s = made.first.mean_s
    if not tracks:
        return None
    streaks = {w.number: w.priority_streak for w in pool}
    eligible = [w for w in pool if _may_call(w, target)]
    # The share of the windows that may call it which would call another queue first if
    # they freed up now (which of them frees first is random, whatever the replay's order).
    pool_key = (target.service, target.priority, target.target_window)
    diverting = 0
    for w in eligible:
        heads = queues.heads(w.number, w.weights, policy, now)
        chosen_now = call_next(w.number, w.weights, heads, policy, now, w.priority_streak).ticket
        if chosen_now is not None and (
            (chosen_now.service, chosen_now.priority, chosen_now.target_window) != pool_key
        ):
            diverting += 1
    divert_share = diverting / max(len(eligible), 1)
    until = {code: (end - now).total_seconds() for code, end in (arrivals_until or {}).items()}
    coming = [
        (0.5 / rate, code, green, rate)
        for (code, green), rate in (arrival_rates or {}).items()
        if rate > 0 and _may_go_first(code, green, target, eligible)
        and 0.5 / rate <= until.get(code, math.inf)
    ]  # fmt: skip
    heapq.heapify(coming)
    # newcomers who may go first, per second, and until when (their Poisson spread)
    coming_rates = [
        (rate * _share_first(code, green, target, eligible), until.get(code, math.inf))
        for _, code, green, rate in coming
    ]
    injected = jumpers = others = 0
    rv_sum = 0.0
    ahead = 0
    steps = 0
    while free and steps < max_steps:
        steps += 1
        at, number, w = heapq.heappop(free)
        while coming and coming[0][0] <= at:
            when, code, green, rate = heapq.heappop(coming)
            injected += 1
            arrives = now + timedelta(seconds=when)
            newcomer = Candidate(-1 - injected - 1_000_000, code, arrives, priority=green)
            queues.add(newcomer)
            following = when + 1 / rate
            if following <= until.get(code, math.inf):
                heapq.heappush(coming, (following, code, green, rate))
        track = tracks.get(number)
        if track is not None:
            track.frees.append(at)
        moment = now + timedelta(seconds=at)
        heads = queues.heads(number, w.weights, policy, moment)
        decision = call_next(number, w.weights, heads, policy, moment, streaks[number])
        chosen = decision.ticket
        if chosen is None:
            continue  # nobody left for this window: it idles for the rest of the replay
        streaks[number] = decision.priority_streak
        spec = handling.get(chosen.service, default)
        if chosen.id == target.id:
            rv = rv_sum / ahead if ahead else spec.mean_rv
            return _eta(ahead, at, tracks, spec, jumpers, others, rv, pauses, coming_rates,
                        divert_share)  # fmt: skip
        queues.remove(chosen)
        if track is not None:
            ahead += 1
            if chosen.id <= -1_000_000:
                jumpers += 1
            elif chosen.service != target.service:
                others += 1
            track.tail_s = spec.mean_s
            rv_sum += spec.mean_rv
        heapq.heappush(free, (at + max(spec.mean_s, 1.0), number, w))
    return None


HAZARD_LEVELS = (0.03, 0.1, 0.3, 0.6, 1.0)


def hazard_points(handling: Handling, elapsed_s: float) -> list[tuple[float, float]]:
    """The cumulative hazard H(t) = −ln P(the visit at a window goes on past now + t) of a
    log-normal visit that has lasted ``elapsed_s``, as points (t, H) up to H = 1.

    On this clock the visit's end is an Exp(1) — exactly, whatever the handling's shape — so
    the first free-up among busy windows is called right: with skewed handling a visit that
    has just begun rarely ends in the next minute, which a straight ramp (the exponential's
    H = t/mean) would promise.
    """
    mean = max(handling.mean_s, 1.0)
    sigma2 = math.log(1 + max(handling.cv2, 0.01))
    sigma = math.sqrt(sigma2)
    mu = math.log(mean) - sigma2 / 2
    survive = 1.0
    if elapsed_s > 0:
        survive = 0.5 * math.erfc((math.log(elapsed_s) - mu) / (sigma * math.sqrt(2)))
    survive = max(survive, 1e-9)
    points: list[tuple[float, float]] = []
    last = 0.0
    for h in HAZARD_LEVELS:
        p = min(max(1.0 - math.exp(-h) * survive, 1e-12), 1 - 1e-12)
        t = max(math.exp(mu + sigma * _normal_quantile(p)) - elapsed_s, last + 1e-3)
        points.append((t, h))
        last = t
    return points


def _eta(
    ahead: int,
    called_s: float,
    tracks: Mapping[int, _Track],
    spec: Handling,
    jumpers: int = 0,
    others: int = 0,
    mean_rv: float = 0.0,
    pauses: PauseRisk | None = None,
    coming: Sequence[tuple[float, float]] = (),
    divert_share: float = 0.0,
) -> Eta:
    """Turn the replay's free times into the ETA's median and range (module docstring)."""
    # D(t) as breakpoints: (time, slope change per second, jump).
    changes: list[tuple[float, float, float]] = []
    steps_before = 0.0
    for track in tracks.values():
        start = 0.0 if track.ramps else None
        # a window the replay did not reach before the call still frees up at its first time
        for i, t in enumerate(track.frees or [track.first_s]):
            if start is None or t <= start:
                changes.append((t, 0.0, 1.0))  # a known moment: a step
                if t <= called_s:
                    steps_before += 1
                start = t
            elif i == 0 and track.first is not None and not 0.97 <= track.first.cv2 <= 1.03:
                # the visit at the window now: its own hazard, not a straight ramp
                following = track.frees[1] if len(track.frees) > 1 else math.inf
                assert track.first is not None
                level = slope = 0.0
                last = 0.0
                for pt, ph in hazard_points(track.first, track.elapsed_s):
                    pt = min(pt, following - 1.0) if following < math.inf else pt
                    if pt <= last:
                        continue
                    new_slope = (ph - level) / (pt - last)
                    changes.append((last, new_slope - slope, 0.0))
                    slope, level, last = new_slope, ph, pt
                changes.append((last, -slope, 1.0 - level))
                start = last
            else:
                slope = 1.0 / (t - start)
                changes.append((start, slope, 0.0))
                changes.append((t, -slope, 0.0))
                start = t
        tail_from = start if start is not None else 0.0
        changes.append((tail_from, 1.0 / max(track.tail_s, 1.0), 0.0))
    changes.sort()
    times: list[float] = []
    levels: list[float] = []  # D just after each breakpoint
    slopes: list[float] = []  # slope after each breakpoint
    level = slope = 0.0
    last = 0.0
    for t, d_slope, jump in changes:
        level += slope * (t - last)
        last = t
        times.append(t)
        levels.append(level)  # D just before the jump
        level += jump
        slope += d_slope
        times.append(t)
        levels.append(level)
        slopes.append(slope)
        slopes.append(slope)

    def inverse(g: float) -> float:
        i = bisect_left(levels, g)
        if i == 0:
            return 0.0
        if i >= len(levels):
            s = slopes[-1]
            return times[-1] + (g - levels[-1]) / s if s > 0 else times[-1]
        if times[i] == times[i - 1] or slopes[i - 1] <= 0:
            return times[i]
        return times[i - 1] + (g - levels[i - 1]) / slopes[i - 1]

    j = ahead + 1
    random_part = max(j - steps_before, 0.0)
    position = ahead - jumpers  # the people waiting now who go first
    if random_part <= 0:  # called at a known moment (an idle window, an opening)
        return Eta(position, called_s, called_s, called_s)
    # The count's dispersion: several windows' visits ending together look Poisson over a
    # short horizon (dispersion 1) and like a renewal process of the handling's cv² over a
    # long one; in between with the departures per window. Plus the Poisson spread of the
    # expected newcomers who go first.
    per_window = random_part / max(len(tracks), 1)
    cv2 = spec.cv2 + (1.0 - spec.cv2) / (1.0 + per_window)
    # Which of a shared window's free-ups go to another service before this one depends on
    # the order windows free up in: each such call adds to the spread as a newcomer does.
    # Newcomers who go first: their count over the wait is Poisson (variance = its mean),
    # whether or not the replay's evenly spaced ones fell inside the wait.
    horizon = inverse(steps_before + random_part)
    expected_jumpers = sum(rate * min(horizon, end) for rate, end in coming)
    # Which free-ups of the shared windows go to another service first depends on the order
    # the windows free up in, which is random: with d of the j free-ups diverted in the
    # replay, each free-up reaches the target's queue with probability 1 − d/j, and the
    # number needed for its j − d is negative binomial (variance d·j/(j − d)).
    # (the share is the replay's, or the share of the windows that would divert now when
    # more: a window the replay had free up after the call may free up first)
    share = min(max(min(float(others), j - 1.0) / j, divert_share), 0.9)
    variance = (random_part * cv2 + max(jumpers, expected_jumpers)
                + j * share / (1.0 - share))  # fmt: skip
    # The learned means are estimates: a mean off by ε moves every departure by ε, so the
    # count of departures needed varies by (random_part · ε)² more.
    variance += random_part * random_part * mean_rv
    mean = random_part
    if pauses is not None and pauses.rate > 0:
        # Pauses to come at the windows that may call it (a compound Poisson count, each
        # costing a pause's worth of their departures, exponential in length): they delay
        # the call on average and widen the range.
        lost_each = pauses.mean_s / max(statistics_mean(t.tail_s for t in tracks.values()), 1.0)
        expected = pauses.rate * horizon * len(tracks)
        mean += expected * lost_each
        variance += 2 * expected * lost_each * lost_each
    variance = min(max(variance, 0.05 * mean), 4.0 * mean * mean)
    scale = variance / mean
    shape = mean / scale

    def at_quantile(q: float) -> float:
        g = steps_before + scale * gamma_quantile(shape, q)
        return max(0.0, inverse(g))

    return Eta(position, at_quantile(0.5), at_quantile(LOW_Q), at_quantile(HIGH_Q))


def statistics_mean(values: Iterable[float]) -> float:
    total = count = 0.0
    for v in values:
        total += v
        count += 1
    return total / count if count else 0.0
