"""Call-next over any queue: never a ticket the window may not call; plain queues are fair."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hall_server.domain.queueing import CallPolicy, Candidate, Decision, Reason, call_next

T0 = datetime(2024, 6, 14, 1, 0, tzinfo=UTC)
WINDOW = 3
SERVICES = ("A", "B", "C", "D")

# No example database: nothing is written into the checkout, and runs stay repeatable.
FAST = settings(max_examples=100, deadline=None, database=None, derandomize=True)

minutes = st.integers(min_value=0, max_value=240)
ids = st.integers(min_value=1, max_value=1000)
weights_st = st.dictionaries(
    st.sampled_from(SERVICES), st.integers(min_value=1, max_value=5), max_size=len(SERVICES)
)
policies = st.builds(
    CallPolicy,
    priority_swap_ratio=st.integers(min_value=0, max_value=4),
    aging_min=st.sampled_from([0, 5, 20, 60]),
    appointment_early_min=st.sampled_from([0, 15, 30]),
)


def candidates(*, plain: bool) -> st.SearchStrategy[Candidate]:
    """One waiting ticket; ``plain``: no priority, appointment or targeting."""
    at = minutes.map(lambda m: T0 + timedelta(minutes=m))
    if plain:
        return st.builds(Candidate, id=ids, service=st.sampled_from(SERVICES), queued_at=at)
    return st.builds(
        lambda slot, **kw: Candidate(
            **kw,
            slot_start=None if slot is None else T0 + timedelta(minutes=slot),
            slot_end=None if slot is None else T0 + timedelta(minutes=slot + 30),
        ),
        slot=st.none() | minutes,
        id=ids,
        service=st.sampled_from(SERVICES),
        queued_at=at,
        priority=st.booleans(),
        target_window=st.sampled_from([None, None, WINDOW, 5]),
    )


def queues(*, plain: bool = False) -> st.SearchStrategy[list[Candidate]]:
    """Waiting tickets with unique ids."""
    return st.lists(candidates(plain=plain), max_size=12, unique_by=lambda c: c.id)


def may_call(c: Candidate, weights: dict[str, int]) -> bool:
    return c.target_window == WINDOW or (c.target_window is None and c.service in weights)


@FAST
@given(
    weights=weights_st,
    queue=queues(),
    policy=policies,
    now_min=minutes,
    streak=st.integers(0, 6),
)
def test_the_chosen_ticket_is_always_one_this_window_may_call(
    weights: dict[str, int],
    queue: list[Candidate],
    policy: CallPolicy,
    now_min: int,
    streak: int,
) -> None:
    decision = call_next(
        WINDOW, weights, queue, policy, T0 + timedelta(minutes=now_min), priority_streak=streak
    )
    callable_ = [c for c in queue if may_call(c, weights)]
    if not callable_:
        assert decision == Decision(None, None, streak)
        return
    assert decision.ticket in callable_
    mine = [c for c in queue if c.target_window == WINDOW]
    assert (decision.reason is Reason.TARGETED) == bool(mine)


@FAST
@given(weights=weights_st, queue=queues(plain=True), now_min=minutes)
def test_a_plain_queue_is_served_by_weight_then_first_come(
    weights: dict[str, int], queue: list[Candidate], now_min: int
) -> None:
    policy = CallPolicy(priority_swap_ratio=3, aging_min=0)
    decision = call_next(WINDOW, weights, queue, policy, T0 + timedelta(minutes=now_min))
    served = [c for c in queue if c.service in weights]
    if not served:
        assert decision.ticket is None
        return
    top = max(weights[c.service] for c in served)
    first = min((c for c in served if weights[c.service] == top), key=lambda c: (c.queued_at, c.id))
    assert (decision.ticket, decision.reason, decision.priority_streak) == (
        first,
        Reason.WEIGHTED,
        0,
    )
