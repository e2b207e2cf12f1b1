"""The gateway keeps a session's progress a moment (the report aggregates the whole session): a second read
within the TTL asks the store nothing, a pause (resume, cancel) reads it again, and a finished session whose
files are all through keeps its report longer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from imgsearch.common.db.session_records import FileFailure, ProgressReport, SessionProgress, SessionRecord
from imgsearch.gateway.files import LibraryRoots
from imgsearch.gateway.progress_cache import ProgressCache
from imgsearch.gateway.sessions import IngestSessions

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def record(session_id: int, state: str = "running") -> SessionRecord:
    return SessionRecord(session_id, "/library", [], [], [], "normal", "user", state, True, T0, T0, None)


@dataclass
class FakeSessionStore:
    """The SessionStore port: records in memory, progress counted from `ingested`, reports counted."""
    records: dict[int, SessionRecord] = field(default_factory=dict)
    ingested: int = 0
    percent: float = 50.0
    reports: int = 0

    async def create(self, root: Path, subdirectories: Sequence[str], priority: str, include: Sequence[str],
                     exclude: Sequence[str], origin: str = "user", files: None = None,
                     request_id: str | None = None) -> int:
        raise NotImplementedError

    async def get(self, session_id: int) -> SessionRecord | None:
        return self.records.get(session_id)

    async def list_sessions(self, state: str | None = None, limit: int = 50, offset: int = 0
                            ) -> tuple[list[SessionRecord], int]:
        return list(self.records.values()), len(self.records)

    async def pause(self, session_id: int) -> SessionRecord:
        self.records[session_id] = replace(self.records[session_id], state="paused")
        return self.records[session_id]

    async def resume(self, session_id: int) -> SessionRecord:
        self.records[session_id] = replace(self.records[session_id], state="running")
        return self.records[session_id]

    async def cancel(self, session_id: int) -> SessionRecord:
        self.records[session_id] = replace(self.records[session_id], state="cancelled")
        return self.records[session_id]

    async def failures(self, session_id: int, limit: int = 50, offset: int = 0
                       ) -> tuple[list[FileFailure], int]:
        return [], 0

    async def report(self, session_id: int, now: datetime | None = None) -> ProgressReport:
        self.reports += 1
        progress = SessionProgress(10, self.ingested, 0, 0, 0, True, self.percent)
        return ProgressReport(progress, [])


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


async def _noop_wake(session_id: int, folder: Path) -> None:
    return None


def sessions(store: FakeSessionStore, clock: Clock, max_entries: int = 100) -> IngestSessions:
    cache = ProgressCache(ttl_s=2.0, finished_ttl_s=30.0, max_entries=max_entries, clock=clock)
    return IngestSessions(store, LibraryRoots([]), _noop_wake, cache)


async def test_a_second_read_within_the_ttl_does_not_query_and_a_pause_reads_again() -> None:
    store, clock = FakeSessionStore({1: record(1), 2: record(2)}), Clock()
    service = sessions(store, clock)
    assert (await service.get(1)).report.total.ingested == 0 and store.reports == 1
    store.ingested = 4
    clock.now += 1.0
    assert (await service.get(1)).report.total.ingested == 0 and store.reports == 1  # cached
    views, total = await service.list_sessions(None, 50, 0)
    assert total == 2 and store.reports == 2  # only session 2 was read
    assert [v.report.total.ingested for v in views] == [0, 4]

    clock.now += 0.5
    paused = await service.pause(1)  # a write: that session's entry goes
    assert (paused.record.state, paused.report.total.ingested, store.reports) == ("paused", 4, 3)
    store.ingested = 5
    clock.now += 1.0  # both fresh: session 2 read 1.5 s ago, session 1 1 s ago
    assert [v.report.total.ingested for v in (await service.list_sessions(None, 50, 0))[0]] == [4, 4]
    clock.now += 0.8  # session 2 expired (2.3 s), session 1 not (1.8 s)
    assert [v.report.total.ingested for v in (await service.list_sessions(None, 50, 0))[0]] == [4, 5]
    assert store.reports == 4

    await service.resume(1)
    await service.cancel(1)
    assert store.reports == 6


async def test_finished_and_through_sessions_are_kept_longer_and_the_cache_is_bounded() -> None:
    store, clock = FakeSessionStore({1: record(1, "done")}, percent=100.0), Clock()
    service = sessions(store, clock, max_entries=2)
    await service.get(1)
    clock.now += 20.0
    await service.get(1)
    assert store.reports == 1  # done and complete: 30 s
    store.percent = 90.0
    store.records[2] = record(2, "done")  # done, but embed/faces still going: the short ttl
    await service.get(2)
    clock.now += 3.0
    await service.get(2)
    assert store.reports == 3

    store.records[3] = record(3)
    await service.get(3)  # a third entry: the least recently used (session 1) goes
    assert len(service.progress._entries) == 2 and 1 not in service.progress._entries
