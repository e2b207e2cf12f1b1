"""IngestRequested commands → sessions, with a fake session store: paths outside the roots are refused,
a command without a session makes one per request id, one with a session starts it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from imgsearch.common.bus import Delivery
from imgsearch.common.db.session_records import SessionRecord
from imgsearch.common.errors import InvalidInput, NotFound, OutsideLibrary
from imgsearch.events.v1.events_pb2 import IngestRequested
from imgsearch.ingest import command_handler, domain
from imgsearch.ingest.command_handler import IngestCommandHandler


@dataclass
class FakeSessions:
    made: dict[str, int] = field(default_factory=dict)
    records: dict[int, SessionRecord] = field(default_factory=dict)

    async def create(self, root: Path, subdirectories: Sequence[str], priority: str, include: Sequence[str],
                     exclude: Sequence[str], origin: str = "user", files: None = None,
                     request_id: str | None = None) -> int:
        if request_id in self.made:
            return self.made[request_id]
        session_id = len(self.records) + 1
        now = datetime.now(UTC)
        self.records[session_id] = SessionRecord(
            session_id, str(root), list(subdirectories), list(include), list(exclude), priority, origin,
            "discovering", False, now, now, None,
        )
        if request_id:
            self.made[request_id] = session_id
        return session_id

    async def get(self, session_id: int) -> SessionRecord | None:
        return self.records.get(session_id)


@dataclass
class World:
    handler: IngestCommandHandler
    sessions: FakeSessions
    started: list[int]
    woken: list[bool]
    library: Path


@pytest.fixture
def world(tmp_path: Path) -> World:
    library = tmp_path / "lib"
    (library / "a").mkdir(parents=True)
    sessions, started, woken = FakeSessions(), list[int](), list[bool]()
    handler = IngestCommandHandler(sessions, (library.resolve(),), started.append, lambda: woken.append(True))
    return World(handler, sessions, started, woken, library)


async def test_a_command_makes_one_session_per_request_and_starts_it(world: World) -> None:
    request = IngestRequested(
        path=str(world.library / "a"), request_id="r1", priority="bulk", include=["*.jpg"]
    )
    first = await world.handler.accept(request)
    assert await world.handler.accept(request) == first  # redelivered: the same session
    record = world.sessions.records[first]
    assert (record.root, record.priority, record.include) == (str(world.library / "a"), "bulk", ["*.jpg"])
    assert world.started == [first, first] and world.woken == [True, True]
    default = await world.handler.accept(IngestRequested(path=str(world.library), request_id="r2"))
    assert world.sessions.records[default].priority == "normal"
    # a command naming a session made by the gateway starts that one
    assert await world.handler.accept(IngestRequested(path=str(world.library), session_id=first)) == first
    with pytest.raises(NotFound):
        await world.handler.accept(IngestRequested(path=str(world.library), session_id=99))


async def test_paths_outside_the_roots_or_odd_are_refused(world: World, tmp_path: Path) -> None:
    library = world.library
    for path, error in ((tmp_path, OutsideLibrary), (library / ".." / "nowhere" / "..", OutsideLibrary),
                        (library / "missing", NotFound), (Path("relative/path"), InvalidInput)):
        with pytest.raises(error):
            await world.handler.accept(IngestRequested(path=str(path), request_id="x"))
    (library / "escape").symlink_to(tmp_path)
    with pytest.raises(OutsideLibrary):
        await world.handler.accept(IngestRequested(path=str(library / "escape")))
    assert world.sessions.records == {} and world.started == []


async def test_request_is_resolved_off_the_event_loop(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []

    def recording(raw_path: str, roots: Sequence[Path]) -> tuple[Path, Path]:
        threads.append(threading.get_ident())
        return domain.resolve_request(raw_path, roots)

    monkeypatch.setattr(command_handler, "resolve_request", recording)
    await world.handler.accept(IngestRequested(path=str(world.library)))
    assert threads and threads[0] != threading.get_ident()


async def test_batch_outcomes(world: World, tmp_path: Path) -> None:
    def delivery(data: bytes) -> Delivery:
        return Delivery("imgsearch.v1.commands.ingest", data, 1, 1, cast(Any, None))

    outcomes = await world.handler([
        delivery(IngestRequested(path=str(world.library), request_id="a").SerializeToString()),
        delivery(IngestRequested(path=str(tmp_path), request_id="b").SerializeToString()),
        delivery(b"\xff\xff\xff"),
    ])
    assert outcomes[0] is None
    assert isinstance(outcomes[1], OutsideLibrary) and isinstance(outcomes[2], InvalidInput)
