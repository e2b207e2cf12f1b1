"""The downstream gate: room to claim = bound − the worst backlog of the embed/faces durables that exist."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from imgsearch.ingest.admission import DownstreamGate

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


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


@dataclass
class ActivityJetStream:
    """ConsumerInfo as nats-py gives it: created, delivered/ack_floor.last_active, num_waiting."""
    infos: dict[str, SimpleNamespace] = field(default_factory=dict)

    async def consumer_info(self, stream: str, consumer: str) -> object:
        return self.infos[consumer]


def info(backlog: int, idle_s: float, waiting: int = 0, acked_idle_s: float | None = None) -> SimpleNamespace:
    last = NOW - timedelta(seconds=idle_s)
    acked = NOW - timedelta(seconds=acked_idle_s) if acked_idle_s is not None else None
    return SimpleNamespace(
        num_pending=backlog, num_ack_pending=0, num_waiting=waiting, created=NOW - timedelta(days=3),
        delivered=SimpleNamespace(last_active=last), ack_floor=SimpleNamespace(last_active=acked),
    )


async def test_a_durable_nothing_consumes_any_more_stops_holding_ingest_back(
        caplog: pytest.LogCaptureFixture) -> None:
    js = ActivityJetStream({"embed": info(10, idle_s=1.0), "faces": info(5000, idle_s=3600.0)})
    gate = DownstreamGate(js, "EVENTS", max_backlog=64, cache_s=0.0, stale_s=300.0, now=lambda: NOW)
    with caplog.at_level(logging.WARNING, logger="imgsearch.ingest.admission"):
        assert await gate.room() == 54  # the abandoned faces durable does not count
        assert await gate.room() == 54
    assert [r.getMessage().split(" has ")[0] for r in caplog.records] == [
        "downstream consumer faces"]  # warned once

    js.infos["faces"] = info(5000, idle_s=3600.0, waiting=1)  # a faces worker pulls again
    assert await gate.room() == 0
    js.infos["faces"] = info(5000, idle_s=3600.0, acked_idle_s=2.0)  # or acks
    assert await gate.room() == 0


async def test_a_stage_restarting_for_a_few_seconds_still_holds_ingest_back() -> None:
    js = ActivityJetStream({"embed": info(64, idle_s=20.0)})  # killed 20 s ago, no pull waiting now
    gate = DownstreamGate(js, "EVENTS", max_backlog=64, cache_s=0.0, stale_s=300.0, now=lambda: NOW)
    assert await gate.room() == 0
    fresh = SimpleNamespace(num_pending=64, num_ack_pending=0, num_waiting=0, created=NOW,
                            delivered=SimpleNamespace(last_active=None), ack_floor=None)
    js.infos["embed"] = fresh  # created just now, nothing delivered yet
    assert await gate.room() == 0
