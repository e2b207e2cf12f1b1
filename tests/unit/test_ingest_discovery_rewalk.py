"""Discovery.keep_walking: an open session whose walk is not running (its command was lost while the bus
was away, or PostgreSQL interrupted the walk) is walked without a restart; an outage is only logged."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from imgsearch.common.db.session_work import DiscoveryJob
from imgsearch.common.errors import Unavailable
from imgsearch.ingest.discovery import Discovery
from imgsearch.ingest.scan import ScannedFile


@dataclass
class FakeSessions:
    root: Path
    lookups: int = 0
    failing_adds: int = 1  # the first walk is cut by an outage
    added: list[str] = field(default_factory=list)
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    async def undiscovered(self) -> list[int]:
        self.lookups += 1
        if self.lookups == 1:
            raise Unavailable("the database is unavailable")
        return [] if self.complete.is_set() else [7]

    async def discovery_job(self, session_id: int) -> DiscoveryJob | None:
        return DiscoveryJob(session_id, self.root, (), (), ())

    async def discovery_state(self, session_id: int) -> str:
        return "stop" if self.complete.is_set() else "go"

    async def add_files(self, session_id: int, files: Sequence[ScannedFile], subdirectory: str) -> None:
        if self.failing_adds:
            self.failing_adds -= 1
            raise Unavailable("the database is unavailable")
        self.added.extend(f.path.name for f in files)

    async def complete_discovery(self, session_id: int) -> None:
        self.complete.set()


@pytest.fixture
def library(tmp_path: Path) -> Path:
    (tmp_path / "a.jpg").write_bytes(b"a")
    return tmp_path.resolve()


async def test_a_walk_cut_by_an_outage_is_walked_again(library: Path) -> None:
    sessions, stop = FakeSessions(library), asyncio.Event()
    discovery = Discovery(sessions, [library], [], [], chunk=10, stop=stop)
    walking = asyncio.create_task(discovery.keep_walking(interval_s=0.01))
    await sessions.complete.wait()
    stop.set()
    await walking
    await discovery.close()
    assert sessions.added == ["a.jpg"] and sessions.lookups >= 3
