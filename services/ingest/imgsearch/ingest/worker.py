"""The claim loop: pick a session by priority, claim a few of its files, read each through the ingest
pipeline (imgsearch.ingest.handlers), settle it in its session.

At most 2 × workers files are in flight. Before claiming, the downstream gate is asked for room (the
embed and faces queues stay short, so priorities hold through every stage). Leases are extended while
the worker lives; at start the files this worker held before a restart go back to pending at once.
Shutdown: no new claims, the files in flight finish and are settled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from imgsearch.common.db.outage import as_unavailable
from imgsearch.common.db.session_work import ClaimedFile, DiscoveryJob, OpenSession
from imgsearch.common.errors import Unavailable
from imgsearch.common.runtime import sleep_unless_stopped
from imgsearch.ingest.admission import DownstreamGate
from imgsearch.ingest.handlers import IngestHandler, IngestReport
from imgsearch.ingest.scan import ScannedFile, inside
from imgsearch.ingest.scheduling import Candidate, PriorityScheduler

log = logging.getLogger(__name__)
IDLE_POLL_S = 1.0  # no work: look again this often (sessions made elsewhere, resumed, leases run out)
FULL_POLL_S = 0.2  # downstream full: look again this often
MAX_BACKOFF_S = 30.0


class WorkStore(Protocol):
    """imgsearch.common.db.session_work.SessionWork."""

    async def claimable(self) -> list[OpenSession]: ...
    async def claim(self, session_id: int, n: int) -> list[ClaimedFile]: ...
    async def settle_unchanged(self, session_id: int, paths: Sequence[Path]) -> set[Path]: ...
    async def finish_file(self, session_id: int, path: Path, state: str, image_id: str | None = None,
                          error: str | None = None) -> None: ...
    async def release(self, session_id: int, path: Path, count_attempt: bool = False) -> None: ...
    async def extend_leases(self, held: Sequence[tuple[int, Path]] | None = None) -> None: ...
    async def release_own(self) -> int: ...
    async def finish_open_sessions(self) -> int: ...
    async def discovery_job(self, session_id: int) -> DiscoveryJob | None: ...


@dataclass(frozen=True)
class WorkerConfig:
    roots: tuple[Path, ...]
    in_flight: int  # files read at once
    claim_batch: int
    lease_s: float
    max_attempts: int


class SessionWorker:
    def __init__(self, handler: IngestHandler, store: WorkStore, gate: DownstreamGate,
                 scheduler: PriorityScheduler, config: WorkerConfig, stop: asyncio.Event) -> None:
        self.handler, self.store, self.gate, self.scheduler = handler, store, gate, scheduler
        self.config, self.stop = config, stop
        self.wake = asyncio.Event()  # set when a session gets files: look at once, not at the next poll
        self.report = IngestReport()
        self._roots: dict[int, Path] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._held: set[tuple[int, Path]] = set()  # (session, path) being read: only these leases go on
        self._backoff_s = 0.0

    async def run(self) -> None:
        await self._release_own()
        heartbeat = asyncio.create_task(self._heartbeat())
        backoff_s = 0.0
        try:
            while not self.stop.is_set():
                try:
                    await self._step()
                    backoff_s = 0.0
                except Exception as exc:  # PostgreSQL or NATS away: keep trying, never end the service
                    outage = as_unavailable(exc) or (exc if isinstance(exc, Unavailable) else None)
                    if outage is None:
                        log.exception("ingest claim loop")
                    else:
                        log.warning("ingest claim loop: %s", outage)
                    backoff_s = min(MAX_BACKOFF_S, max(0.5, backoff_s * 2))
                    await self._sleep(backoff_s)
            while self._in_flight:
                await self._settle_one()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _step(self) -> None:
        if self._backoff_s:
            await self._sleep(self._backoff_s)
        free = self.config.in_flight - len(self._in_flight)
        if free <= 0:
            await self._settle_one()
            return
        room = await self.gate.room()
        if room <= 0:
            await self._idle(FULL_POLL_S)
            return
        self.wake.clear()
        choice = self.scheduler.choose([Candidate(s.id, s.priority) for s in await self.store.claimable()])
        if choice is None:
            await self.store.finish_open_sessions()
            await self._idle(IDLE_POLL_S)
            return
        batch = await self.store.claim(choice.session_id, min(free, room, self.config.claim_batch))
        if not batch:
            await asyncio.sleep(0.01)  # another worker took them between the look and the claim
            return
        self.gate.spent(len(batch))
        root = await self._library_root(choice.session_id)
        fresh = [f for f in batch if f.attempts <= self.config.max_attempts]
        unchanged = await self.store.settle_unchanged(choice.session_id, [f.path for f in fresh])
        self.report.unchanged += len(unchanged)
        for file in batch:
            if file.path not in unchanged:
                self._in_flight.add(asyncio.create_task(self._process(file, root)))

    async def _process(self, claimed: ClaimedFile, root: Path) -> None:
        file = ScannedFile(claimed.path, claimed.size, claimed.mtime_ns)
        sid = claimed.session_id
        self._held.add((sid, file.path))
        try:
            if claimed.attempts > self.config.max_attempts:
                reason = (f"its reading never ended in {claimed.attempts - 1} attempts"
                          " (the worker stopped or crashed while reading it)")
                await self.handler.store.record_failed(file, root, reason)
                await self.store.finish_file(sid, file.path, "failed", None, reason)
                return
            self.report.scanned += 1
            outcome = await self.handler.ingest_file(file, root, self.report)
            state = "ingested" if outcome.image_id else "failed"
            await self.store.finish_file(sid, file.path, state, outcome.image_id, outcome.error)
            self._backoff_s = 0.0
        except Exception as exc:
            transient = isinstance(exc, Unavailable) or as_unavailable(exc) is not None
            if transient:
                log.warning("%s: %r; read again later", file.path, exc)
            else:  # a bug: counted, so a file that always trips it ends failed after max_attempts
                log.exception("ingest of %s", file.path)
            with contextlib.suppress(Exception):  # else its lease runs out and it comes back then
                await self.store.release(sid, file.path, count_attempt=not transient)
            if transient:
                self._more_backoff()
        finally:
            self._held.discard((sid, file.path))

    async def _library_root(self, session_id: int) -> Path:
        root = self._roots.get(session_id)
        if root is None:
            job = await self.store.discovery_job(session_id)
            folder = job.root if job else Path("/")
            # A root no longer configured: the pipeline refuses each file as outside the roots.
            root = inside(folder, self.config.roots) or folder
            self._roots[session_id] = root
        return root

    async def _release_own(self) -> None:
        try:
            released = await self.store.release_own()
        except Exception as exc:  # their leases run out instead
            log.warning("could not release the files held before a restart: %r", exc)
            return
        if released:
            log.info("%d files this worker held before it stopped are pending again", released)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(max(0.05, self.config.lease_s / 3))
            try:
                if self._held:
                    await self.store.extend_leases(sorted(self._held))
            except Exception as exc:  # the leases may run out: the files are read again, no harm
                log.warning("could not extend ingest leases: %r", exc)

    async def _settle_one(self) -> None:
        done, _ = await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
        self._in_flight.difference_update(done)

    async def _idle(self, timeout_s: float) -> None:
        """Until woken, a file in flight finishes, stop, or timeout."""
        waits = [asyncio.create_task(self.wake.wait()), asyncio.create_task(self.stop.wait())]
        try:
            await asyncio.wait([*waits, *self._in_flight], timeout=timeout_s,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
        done = {t for t in self._in_flight if t.done()}
        self._in_flight.difference_update(done)

    async def _sleep(self, seconds: float) -> None:
        await sleep_unless_stopped(self.stop, seconds)

    def _more_backoff(self) -> float:
        self._backoff_s = min(MAX_BACKOFF_S, max(0.5, self._backoff_s * 2))
        return self._backoff_s
