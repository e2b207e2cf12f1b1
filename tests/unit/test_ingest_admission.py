"""The downstream gate: room to claim = bound − the worst backlog of the embed/faces durables that exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from imgsearch.ingest.admission import DownstreamGate


@dataclass
class FakeJetStream:
    backlogs: dict[str, tuple[int, int]] = field(default_factory=dict)  # durable → (pending, ack pending)
    asked: int = 0

    async def consumer_info(self, stream: str, consumer: str) -> object:
        self.asked += 1
        if consumer not in self.backlogs:
            raise LookupError(f"consumer {consumer} not found")
        pending, ack_pending = self.backlogs[consumer]
        return SimpleNamespace(num_pending=pending, num_ack_pending=ack_pending)


async def test_room_follows_the_fullest_downstream_queue() -> None:
    js = FakeJetStream({"embed": (100, 50)})  # no faces consumer: that stage does not run
    gate = DownstreamGate(js, "EVENTS", max_backlog=256, cache_s=0.0)
    assert await gate.room() == 106
    js.backlogs["faces"] = (250, 6)
    assert await gate.room() == 0
    js.backlogs["faces"] = (400, 0)
    assert await gate.room() == 0  # never negative


async def test_claims_count_until_the_next_look_and_zero_turns_it_off() -> None:
    js = FakeJetStream({"embed": (0, 0)})
    gate = DownstreamGate(js, "EVENTS", max_backlog=10, cache_s=3600.0)
    assert await gate.room() == 10
    gate.spent(8)
    assert await gate.room() == 2 and js.asked == 2  # one look per durable, then the cache
    off = DownstreamGate(js, "EVENTS", max_backlog=0)
    assert await off.room() > 1_000_000 and js.asked == 2
