"""Queueing theory for staffing: Erlang B, Erlang C (M/M/c) and Erlang A (M/M/c+M).

Pure functions of the offered load. ``load`` is in erlangs: arrivals per second times the
mean handling time in seconds (λ/μ); ``windows`` is the number of servers (c).

- Erlang C: visitors wait as long as it takes (nobody leaves). Used for the call-order
  wait of a service when walk-aways are rare.
- Erlang A: visitors who have waited an exponential patience time with mean
  ``patience_s`` leave (no-shows, walk-aways). Used where the hall measures them.

Every function is computed in a numerically stable way (Erlang B by its recurrence,
Erlang A by summing the birth-death chain's weights in log space), so it holds for the
loads of a city hall (hundreds of erlangs) without overflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(windows: int, load: float) -> float:
    """Return the probability that an arrival finds all ``windows`` busy (M/M/c/c)."""
    if windows < 0 or load < 0:
        raise ValueError("windows and load must not be negative")
    b = 1.0
    for k in range(1, windows + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(windows: int, load: float) -> float:
    """Return the probability that an arrival waits at all (M/M/c); 1.0 when overloaded."""
    if windows <= 0 or load >= windows:
        return 1.0
    if load == 0:
        return 0.0
    b = erlang_b(windows, load)
    return windows * b / (windows - load * (1 - b))


def mean_wait_s(windows: int, load: float, handle_s: float) -> float:
    """Return the mean wait in seconds in M/M/c (``inf`` when overloaded)."""
    if windows <= 0 or load >= windows:
        return math.inf
    return erlang_c(windows, load) * handle_s / (windows - load)


def wait_exceeds(windows: int, load: float, handle_s: float, t_s: float) -> float:
    """Return P(wait > ``t_s``) in M/M/c."""
    if windows <= 0 or load >= windows:
        return 1.0
    return erlang_c(windows, load) * math.exp(-(windows - load) * t_s / handle_s)


def service_level(windows: int, load: float, handle_s: float, t_s: float) -> float:
    """Return the share of visitors called within ``t_s`` seconds in M/M/c."""
    return 1.0 - wait_exceeds(windows, load, handle_s, t_s)


def wait_quantile_s(windows: int, load: float, handle_s: float, q: float) -> float:
    """Return the ``q``-quantile of the wait in M/M/c (0 when at least ``q`` wait not at all)."""
    if not 0 < q < 1:
        raise ValueError("q must lie strictly between 0 and 1")
    if windows <= 0 or load >= windows:
        return math.inf
    c = erlang_c(windows, load)
    if 1 - q >= c:
        return 0.0
    return handle_s * math.log(c / (1 - q)) / (windows - load)


@dataclass(frozen=True, slots=True)
class Abandonment:
    """Erlang A figures of one setting."""

    p_wait: float  # an arrival finds every window busy
    p_abandon: float  # an arrival leaves before being called
    mean_wait_s: float  # mean wait of every arrival (served or not)
    service_level: float  # share of arrivals called within the target time


def _erlang_a_weights(windows: int, load: float, handle_s: float, patience_s: float) -> list[float]:
    """Log-weights of the M/M/c+M chain's states 0..n, until the tail is negligible."""
    mu, theta = 1 / handle_s, 1 / patience_s
    lam = load * mu
    logs = [0.0]
    n = 0
    while True:
        n += 1
        rate_out = min(n, windows) * mu + max(0, n - windows) * theta
        logs.append(logs[-1] + math.log(lam / rate_out))
        # Past the windows every state is less likely than the last once n·θ > λ: stop when
        # the weights are far below the largest and still falling.
        if n > windows and rate_out > lam and logs[-1] < max(logs) - 40:
            return logs


def erlang_a(
    windows: int, load: float, handle_s: float, patience_s: float, t_s: float = 0.0
) -> Abandonment:
    """Return the M/M/c+M figures (Palm's model) for mean patience ``patience_s``.

    The wait of an arrival that finds n ≥ c visitors is the time until n−c+1 departures
    from the queue (services at c·μ plus abandonments at k·θ); the service level counts
    arrivals called within ``t_s``, the standard way (an abandoning visitor is not called).
    """
    if windows < 0 or load < 0 or handle_s <= 0 or patience_s <= 0:
        raise ValueError("windows, load, handle_s and patience_s must be positive")
    logs = _erlang_a_weights(windows, load, handle_s, patience_s)
    top = max(logs)
    weights = [math.exp(x - top) for x in logs]
    total = sum(weights)
    probs = [w / total for w in weights]
    mu, theta = 1 / handle_s, 1 / patience_s
    lam = load * mu
    p_wait = sum(probs[windows:])
    mean_queue = sum((n - windows) * p for n, p in enumerate(probs) if n > windows)
    p_abandon = theta * mean_queue / lam if lam > 0 else 0.0
    # Little's law over everyone who queues: mean wait of all arrivals.
    mean_wait = mean_queue / lam if lam > 0 else 0.0
    return Abandonment(
        p_wait=p_wait,
        p_abandon=p_abandon,
        mean_wait_s=mean_wait,
        service_level=_called_within(probs, windows, mu, theta, t_s),
    )


def _called_within(probs: list[float], windows: int, mu: float, theta: float, t_s: float) -> float:
    """Share of arrivals called within ``t_s`` in M/M/c+M (PASTA: arrivals see ``probs``).

    An arrival that finds n = c + j visitors has j ahead of it in the queue. While j are
    ahead, the next event comes at rate c·μ + j·θ (a window frees, or someone ahead
    leaves: one fewer ahead, or called when j = 0) or θ (it leaves itself). The chain of
    "how many are ahead" is uniformised at one rate and stepped once for every arrival
    together, weighted by Poisson terms computed in log space (no underflow at long t).
    """
    called = sum(probs[:windows])  # a window was free: called at once
    if t_s <= 0 or len(probs) <= windows:
        return called
    ahead = probs[windows:]  # ahead[j]: arrived with j visitors ahead in the queue
    top = windows * mu + len(ahead) * theta  # ≥ every state's total rate
    rate_t = top * t_s
    last = int(rate_t + 12 * math.sqrt(rate_t) + 30)
    done = 0.0  # called after the jumps so far
    for m in range(last + 1):
        log_weight = -rate_t + m * math.log(rate_t) - math.lgamma(m + 1) if rate_t > 0 else 0.0
        called += math.exp(log_weight) * done
        # One uniformised jump of every state at once.
        moved = [0.0] * len(ahead)
        for j, p in enumerate(ahead):
            if p == 0.0:
                continue
            forward = (windows * mu + j * theta) / top
            leave = theta / top
            if j == 0:
                done_step = p * forward
            else:
                moved[j - 1] += p * forward
                done_step = 0.0
            moved[j] += p * (1 - forward - leave)
            done += done_step
        ahead = moved
        # ``done`` after m+1 jumps is used by the next term: P(called by t) = Σ Pois(m)·done_m.
    return min(1.0, called)


def fewest_windows(
    load: float, handle_s: float, target_s: float, target_share: float, limit: int = 1000
) -> int:
    """Return the fewest windows whose M/M/c service level within ``target_s`` is met."""
    if load <= 0:
        return 0
    windows = max(1, math.floor(load) + 1)
    while windows <= limit:
        if service_level(windows, load, handle_s, target_s) >= target_share:
            return windows
        windows += 1
    raise ValueError(f"no number of windows up to {limit} meets the target")
