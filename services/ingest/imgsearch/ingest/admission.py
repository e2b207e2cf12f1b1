"""Downstream admission: ingest claims files only while the embed and faces queues are short.

Without it a bulk import would put thousands of images.ingested events in front of embed and faces,
and a high-priority session ingested a second later would wait behind all of them there: the priority
would hold for the ingest stage only. With the backlog (not yet delivered + delivered, not acked) of
each downstream durable kept under a bound, the queues stay short and the ingest order, which follows
the priorities, is the order the later stages see."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol

log = logging.getLogger(__name__)
DOWNSTREAM = ("embed", "faces")  # durables on the events stream that consume images.ingested


class ConsumerInfoSource(Protocol):
    async def consumer_info(self, stream: str, consumer: str) -> object: ...


class DownstreamGate:
    def __init__(self, js: ConsumerInfoSource, stream: str, max_backlog: int,
                 durables: Sequence[str] = DOWNSTREAM, cache_s: float = 0.2) -> None:
        self.js, self.stream, self.max_backlog = js, stream, max_backlog
        self.durables, self.cache_s = tuple(durables), cache_s
        self._checked_at = float("-inf")
        self._backlog = 0
        self._waiting_logged = False

    async def backlog(self) -> int:
        """The largest backlog of the downstream durables that exist (a missing one counts 0)."""
        if time.monotonic() - self._checked_at < self.cache_s:
            return self._backlog
        worst = 0
        for durable in self.durables:
            try:
                info = await self.js.consumer_info(self.stream, durable)
            except Exception:  # not created yet (that stage does not run), or NATS is reconnecting
                continue
            pending = int(getattr(info, "num_pending", 0) or 0)
            ack_pending = int(getattr(info, "num_ack_pending", 0) or 0)
            worst = max(worst, pending + ack_pending)
        self._backlog, self._checked_at = worst, time.monotonic()
        return worst

    async def room(self) -> int:
        """How many more files may be claimed now (a large number when the gate is off)."""
        if self.max_backlog <= 0:
            return 1 << 30
        backlog = await self.backlog()
        room = self.max_backlog - backlog
        if room <= 0 and not self._waiting_logged:
            log.info("ingest waits for embed/faces: %d images queued (bound %d)", backlog, self.max_backlog)
        self._waiting_logged = room <= 0
        return max(0, room)

    def spent(self, files: int) -> None:
        """Count files claimed since the last look as queued already (they will be, in a moment)."""
        self._backlog += files
