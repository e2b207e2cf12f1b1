"""The priority scheduler: shares follow the weights, no class starves, idle time is no credit,
sessions of one class take turns."""

from __future__ import annotations

from collections import Counter

import pytest

from imgsearch.ingest.scheduling import Candidate, PriorityScheduler

HIGH, NORMAL, LOW, BULK = range(4)


def _run(scheduler: PriorityScheduler, candidates: list[Candidate], picks: int) -> list[Candidate]:
    chosen = []
    for _ in range(picks):
        pick = scheduler.choose(candidates)
        assert pick is not None
        chosen.append(pick)
    return chosen


def test_shares_follow_the_weights_and_bulk_is_never_starved() -> None:
    scheduler = PriorityScheduler()
    candidates = [Candidate(1, BULK), Candidate(2, LOW), Candidate(3, NORMAL), Candidate(4, HIGH)]
    picks = _run(scheduler, candidates, 85 * 4)
    shares = Counter(p.priority for p in picks)
    assert shares == {HIGH: 64 * 4, NORMAL: 16 * 4, LOW: 4 * 4, BULK: 1 * 4}
    # bulk is served in every window of 85 claims
    for start in range(0, len(picks), 85):
        assert any(p.priority == BULK for p in picks[start:start + 85])


def test_a_new_high_session_overtakes_at_once_without_saved_credit() -> None:
    scheduler = PriorityScheduler()
    bulk = [Candidate(1, BULK)]
    assert {p.session_id for p in _run(scheduler, bulk, 50)} == {1}
    both = [Candidate(1, BULK), Candidate(2, HIGH)]
    picks = _run(scheduler, both, 65)
    assert picks[0] == Candidate(2, HIGH)  # the next claim already serves the newcomer
    assert Counter(p.session_id for p in picks) == {2: 64, 1: 1}
    # high was idle for a while: it comes back at the others' level, not with a backlog of turns
    _run(scheduler, bulk, 100)
    picks = _run(scheduler, both, 65)
    assert Counter(p.session_id for p in picks) == {2: 64, 1: 1}


def test_sessions_of_one_class_take_turns() -> None:
    scheduler = PriorityScheduler()
    normal = [Candidate(7, NORMAL), Candidate(3, NORMAL), Candidate(5, NORMAL)]
    assert [p.session_id for p in _run(scheduler, normal, 6)] == [3, 5, 7, 3, 5, 7]
    assert scheduler.choose([]) is None


def test_weights_are_settings() -> None:
    scheduler = PriorityScheduler((1, 1, 1, 1))
    picks = _run(scheduler, [Candidate(1, HIGH), Candidate(2, BULK)], 10)
    assert Counter(p.session_id for p in picks) == {1: 5, 2: 5}
    with pytest.raises(ValueError):
        PriorityScheduler((64, 0, 4, 1))
