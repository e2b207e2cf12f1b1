"""Which session the next claim serves: stride scheduling over the priority classes that have work,
round-robin over the sessions inside a class. Pure, no I/O.

Each class has a stride inversely proportional to its weight (64/16/4/1 by default) and a pass value;
the class with the smallest pass among those with work is served and its pass grows by its stride. So
while high and bulk both have work, high gets 64 claims for every one of bulk's: a small urgent session
overtakes a bulk import at once, and the bulk import still moves (no starvation). A class that had no
work joins at the current minimum pass: idle time is not saved up as credit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

_SCALE = 1 << 20


@dataclass(frozen=True)
class Candidate:
    session_id: int
    priority: int  # 0 high .. 3 bulk


@dataclass
class PriorityScheduler:
    weights: Sequence[int] = (64, 16, 4, 1)
    _pass: dict[int, int] = field(default_factory=dict)
    _last_session: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.weights or any(w <= 0 for w in self.weights):
            raise ValueError(f"priority weights must be positive, got {list(self.weights)}")

    def stride(self, priority: int) -> int:
        weight = self.weights[min(priority, len(self.weights) - 1)]
        return _SCALE // weight

    def choose(self, candidates: Sequence[Candidate]) -> Candidate | None:
        """The session to claim from next (None when nothing has work)."""
        if not candidates:
            return None
        classes = sorted({c.priority for c in candidates})
        known = [self._pass[p] for p in classes if p in self._pass]
        floor = min(known) if known else 0
        for priority in list(self._pass):
            if priority not in classes:
                del self._pass[priority]  # idle: it rejoins at the floor, without credit
        for priority in classes:
            self._pass.setdefault(priority, floor)
        chosen = min(classes, key=lambda p: (self._pass[p], p))
        self._pass[chosen] += self.stride(chosen)
        sessions = sorted(c.session_id for c in candidates if c.priority == chosen)
        last = self._last_session.get(chosen, -1)
        session = next((s for s in sessions if s > last), sessions[0])
        self._last_session[chosen] = session
        return Candidate(session, chosen)
