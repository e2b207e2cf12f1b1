"""Downstream admission: ingest claims files only while the embed and faces queues are short.

Without it a bulk import would put thousands of images.ingested events in front of embed and faces,
and a high-priority session ingested a second later would wait behind all of them there: the priority
would hold for the ingest stage only. With the backlog (not yet delivered + delivered, not acked) of
each downstream durable kept under a bound, the queues stay short and the ingest order, which follows
the priorities, is the order the later stages see.

Only a live durable counts: one with a pull request waiting, or one that delivered or had an ack within
stale_s (IMGSEARCH_INGEST__DOWNSTREAM_STALE_S, 300 s). A durable left behind by a stage that no longer
runs keeps its backlog forever and would stop ingest at the bound; it is ignored (one warning) until it
is active again. The window is far longer than a restart, so a stage that is killed and comes back in
seconds still holds ingest back."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

log = logging.getLogger(__name__)
DOWNSTREAM = ("embed", "faces")  # durables on the events stream that consume images.ingested
STALE_S = 300.0  # a durable with a backlog and no pull, delivery or ack for this long: nothing consumes it


class ConsumerInfoSource(Protocol):
    async def consumer_info(self, stream: str, consumer: str) -> object: ...


class DownstreamGate:
    def __init__(self, js: ConsumerInfoSource, stream: str, max_backlog: int,
                 durables: Sequence[str] = DOWNSTREAM, cache_s: float = 0.2, stale_s: float = STALE_S,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.js, self.stream, self.max_backlog = js, stream, max_backlog
        self.durables, self.cache_s, self.stale_s, self.now = tuple(durables), cache_s, stale_s, now
        self._checked_at = float("-inf")
        self._backlog = 0
        self._waiting_logged = False
        self._stale: set[str] = set()  # durables ignored now (warned once each)

    async def backlog(self) -> int:
        """The largest backlog of the live downstream durables (a missing or stale one counts 0)."""
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
            if pending + ack_pending and not self._alive(durable, info):
                continue
            worst = max(worst, pending + ack_pending)
        self._backlog, self._checked_at = worst, time.monotonic()
        return worst

    def _alive(self, durable: str, info: object) -> bool:
        """A pull waiting, or a delivery, an ack or its creation within stale_s (nats ConsumerInfo; a
        server that reports no times at all is trusted: the durable counts)."""
        moments = [getattr(getattr(info, name, None), "last_active", None)
                   for name in ("delivered", "ack_floor")]
        moments.append(getattr(info, "created", None))
        known = [m if m.tzinfo else m.replace(tzinfo=UTC) for m in moments if isinstance(m, datetime)]
        if not known:
            return True
        idle_s = (self.now() - max(known)).total_seconds()
        alive = bool(getattr(info, "num_waiting", 0)) or idle_s <= self.stale_s
        if alive:
            if durable in self._stale:
                log.info("downstream consumer %s is active again: its backlog counts for ingest", durable)
            self._stale.discard(durable)
        elif durable not in self._stale:
            self._stale.add(durable)
            log.warning("downstream consumer %s has a backlog but no pull, delivery or ack for %.0f s "
                        "(over %.0f s): ignored for ingest admission; delete it if that stage is gone",
                        durable, idle_s, self.stale_s)
        return alive

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
