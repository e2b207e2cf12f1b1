"""The claim loop's leases: only the files being read are kept; one it could not give back (the database
was away) is left to run out its lease, so another claim takes it, instead of being held forever."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from imgsearch.common.db.session_work import ClaimedFile, DiscoveryJob, OpenSession
from imgsearch.common.errors import Unavailable
from imgsearch.ingest.admission import DownstreamGate
from imgsearch.ingest.handlers import FileOutcome, IngestHandler, IngestReport
from imgsearch.ingest.scan import ScannedFile
from imgsearch.ingest.scheduling import PriorityScheduler
from imgsearch.ingest.worker import SessionWorker, WorkerConfig

ROOT = Path("/lib")
FLAKY, SLOW = ROOT / "flaky.jpg", ROOT / "slow.jpg"


@dataclass
class FakeWork:
    files: list[ClaimedFile]
    extended: list[list[tuple[int, Path]] | None] = field(default_factory=list)
    finished: list[Path] = field(default_factory=list)
    release_tried: asyncio.Event = field(default_factory=asyncio.Event)
    extended_after_release: asyncio.Event = field(default_factory=asyncio.Event)

    async def claimable(self) -> list[OpenSession]:
        return [OpenSession(1, 1)] if self.files else []

    async def claim(self, session_id: int, n: int) -> list[ClaimedFile]:
        batch, self.files = self.files[:n], self.files[n:]
        return batch

    async def settle_unchanged(self, session_id: int, paths: Sequence[Path]) -> set[Path]:
        return set()

    async def finish_file(self, session_id: int, path: Path, state: str, image_id: str | None = None,
                          error: str | None = None) -> None:
        self.finished.append(path)

    async def release(self, session_id: int, path: Path, count_attempt: bool = False) -> None:
        self.release_tried.set()
        raise Unavailable("the database is unavailable")

    async def extend_leases(self, held: Sequence[tuple[int, Path]] | None = None) -> None:
        self.extended.append(None if held is None else list(held))
        if self.release_tried.is_set():
            self.extended_after_release.set()

    async def release_own(self) -> int:
        return 0

    async def finish_open_sessions(self) -> int:
        return 0

    async def discovery_job(self, session_id: int) -> DiscoveryJob | None:
        return DiscoveryJob(session_id, ROOT, (), (), ())


@dataclass
class FakeHandler:
    slow_may_end: asyncio.Event = field(default_factory=asyncio.Event)

    async def ingest_file(self, file: ScannedFile, root: Path, report: IngestReport) -> FileOutcome:
        if file.path == FLAKY:
            raise Unavailable("the database is unavailable")
        await self.slow_may_end.wait()
        return FileOutcome("img-slow")


class OpenGate:
    async def room(self) -> int:
        return 100

    def spent(self, files: int) -> None:
        pass


async def test_a_file_that_could_not_be_given_back_is_not_kept_leased() -> None:
    work = FakeWork([ClaimedFile(1, FLAKY, 1, 1, 1), ClaimedFile(1, SLOW, 1, 1, 1)])
    handler, stop = FakeHandler(), asyncio.Event()
    config = WorkerConfig(roots=(ROOT,), in_flight=4, claim_batch=4, lease_s=0.15, max_attempts=3)
    worker = SessionWorker(cast(IngestHandler, handler), work, cast(DownstreamGate, OpenGate()),
                           PriorityScheduler(), config, stop)
    running = asyncio.create_task(worker.run())
    await work.extended_after_release.wait()
    assert work.extended[-1] == [(1, SLOW)]  # the file still being read, never the flaky one
    assert None not in work.extended  # never "every lease this worker ever took"
    handler.slow_may_end.set()
    stop.set()
    await running
    assert work.finished == [SLOW]
