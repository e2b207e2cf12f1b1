"""The watcher's chunked sessions against the real PostgreSQL: a watch session cannot finish between two
chunks (its files all read), finishes once closed, is left alone by the discovery walker, and one an
interrupted pass left open is closed by the next; a real pass over more files than its chunk fills one
session and still finds moves; two watchers (ingest replicas) never run a pass over one root at once; a
session left open over a root no longer watched is closed at start."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

import pytest
from google.protobuf.message import Message
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.session_work import SessionWork
from imgsearch.common.db.sessions import SessionRepository
from imgsearch.common.deps import Deps
from imgsearch.common.ids import content_hash
from imgsearch.common.settings import Settings, WatchSettings
from imgsearch.ingest.rescan import LibraryRescan
from imgsearch.ingest.scan import PathFilter, ScannedFile
from imgsearch.ingest.watch_bootstrap import watch_library
from imgsearch.ingest.watch_locks import RootLocks
from imgsearch.ingest.watch_repository import FileRow, WatchRepository
from imgsearch.ingest.watch_sessions import WatchSessions

pytestmark = pytest.mark.integration


def files(*names: str) -> list[ScannedFile]:
    return [ScannedFile(Path(f"/lib/{name}"), 10, 1) for name in names]


async def read_all(work: SessionWork, session_id: int) -> None:
    for claimed in await work.claim(session_id, 100):
        await work.finish_file(session_id, claimed.path, "failed", error="not an image")


async def test_a_watch_session_finishes_only_once_closed(pool: AsyncConnectionPool) -> None:
    sessions, repo, work = WatchSessions(pool), SessionRepository(pool), SessionWork(pool, "w1", 60)
    session_id = await sessions.open(Path("/lib"), "low", files("a.jpg", "b.jpg"))
    record = await repo.get(session_id)
    assert record is not None and (record.origin, record.priority, record.state) == ("watch", "low",
                                                                                     "discovering")
    assert await work.undiscovered() == [] and await work.discovery_state(session_id) == "stop"
    await read_all(work, session_id)
    assert (await work.finish_open_sessions(), (await repo.progress(session_id)).discovered) == (0, 2)
    assert await sessions.add(session_id, files("c.jpg"))
    await sessions.close(session_id)
    record = await repo.get(session_id)
    assert record is not None and record.state == "running"  # c.jpg is still to read
    await read_all(work, session_id)
    record = await repo.get(session_id)
    assert record is not None and record.state == "done" and (await repo.progress(session_id)).discovered == 3
    assert not await sessions.add(session_id, files("d.jpg"))  # closed: the pass opens another


async def test_a_session_left_open_is_closed_by_the_next_pass(pool: AsyncConnectionPool) -> None:
    sessions, repo = WatchSessions(pool), SessionRepository(pool)
    left = await sessions.open(Path("/lib"), "normal", files("a.jpg"))
    empty = await sessions.open(Path("/lib"), "normal", [])
    user = await repo.create(Path("/lib"), [], "normal", [], [])  # a user's walk is not the watcher's
    assert await sessions.close_left_open() == [left, empty]
    states = [(await repo.get(i)) for i in (left, empty, user)]
    assert [s.state if s else None for s in states] == ["running", "done", "discovering"]
    assert await sessions.close_left_open() == []


class NoBus:
    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool:
        return True


async def test_a_pass_larger_than_its_chunk_fills_one_session(pool: AsyncConnectionPool, tmp_path: Path
                                                             ) -> None:
    root = (tmp_path / "library").resolve()
    (root / "old").mkdir(parents=True)
    moved = root / "old" / "moved.jpg"
    moved.write_bytes(b"moved content")
    stat = moved.stat()
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO images (id, size_bytes) VALUES (%s, %s)",
                           (content_hash(moved), stat.st_size))
        await conn.execute(
            "INSERT INTO files (path, library_root, image_id, size_bytes, mtime_ns, status)"
            " VALUES (%s, %s, %s, %s, %s, 'ingested')",
            (str(moved), str(root), content_hash(moved), stat.st_size, stat.st_mtime_ns),
        )
    new = [root / "old" / f"n{i:02}.jpg" for i in range(12)]
    for i, path in enumerate(new):
        path.write_bytes(b"new %d" % i)
    (root / "new").mkdir()
    os.rename(moved, root / "new" / "moved.jpg")
    rescan = LibraryRescan([root], PathFilter(), WatchRepository(pool), WatchSessions(pool), NoBus(),
                           tmp_path / "thumbnails", chunk=5)
    report = await rescan.run()
    assert (report.new, report.moved, report.removed) == (12, 1, 0)
    [session_id] = report.sessions
    record = await SessionRepository(pool).get(session_id)
    assert record is not None and record.state == "running" and record.origin == "watch"
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT path FROM session_files WHERE session_id = %s ORDER BY seq",
                                 (session_id,))
        assert [Path(r[0]) for r in await cur.fetchall()] == new
        cur = await conn.execute("SELECT path FROM files")
        assert await cur.fetchall() == [(str(root / "new" / "moved.jpg"),)]


class PausedStore(WatchRepository):
    """The real files table; the walk waits before its second chunk until let go (a pass in progress)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        super().__init__(pool)
        self.chunks = 0
        self.paused, self.go = asyncio.Event(), asyncio.Event()

    async def rows(self, paths: Sequence[str]) -> dict[str, FileRow]:
        self.chunks += 1
        if self.chunks == 2:
            self.paused.set()
            await self.go.wait()
        return await super().rows(paths)


async def test_one_pass_per_root_at_a_time_across_watchers(pool: AsyncConnectionPool, tmp_path: Path) -> None:
    root = (tmp_path / "library").resolve()
    root.mkdir()
    new = [root / f"n{i}.jpg" for i in range(4)]
    for i, path in enumerate(new):
        path.write_bytes(b"new %d" % i)
    first_store = PausedStore(pool)

    def watcher(store: WatchRepository) -> LibraryRescan:  # as in another ingest replica
        return LibraryRescan([root], PathFilter(), store, WatchSessions(pool), NoBus(), tmp_path / "thumbs",
                             import_new_folders=True, chunk=2, locks=RootLocks(pool))

    first = asyncio.create_task(watcher(first_store).run())
    await first_store.paused.wait()  # its session holds the first chunk, the walk goes on
    report = await watcher(WatchRepository(pool)).run()
    assert (report.skipped, report.sessions, report.scanned) == ([root], [], 0)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id, discovery_complete FROM ingest_sessions")
        [(session_id, complete)] = await cur.fetchall()
        cur = await conn.execute("SELECT count(*) FROM session_files")
        assert (complete, await cur.fetchone()) == (False, (2,))
    first_store.go.set()
    done = await first
    assert (done.sessions, done.new, done.skipped) == ([session_id], 4, [])
    record = await SessionRepository(pool).get(session_id)
    assert record is not None and record.state == "running" and (
        await SessionRepository(pool).progress(session_id)).discovered == 4
    assert (await watcher(WatchRepository(pool)).run()).skipped == []  # released after the pass


async def test_watch_sessions_left_open_are_closed_at_start_when_not_watched(
        pool: AsyncConnectionPool, tmp_path: Path) -> None:
    sessions, repo = WatchSessions(pool), SessionRepository(pool)
    watched, dropped = (tmp_path / "watched").resolve(), (tmp_path / "dropped").resolve()
    watched.mkdir()
    kept = await sessions.open(watched, "normal", files("a.jpg"))
    gone = await sessions.open(dropped, "normal", files("b.jpg"))
    deps = Deps(bus=NoBus(), pool=pool, vectors=None)  # type: ignore[arg-type]
    stop = asyncio.Event()
    stop.set()
    on = Settings(data_dir=tmp_path / "data", library_roots=[watched], watch=WatchSettings(inotify=False))
    await watch_library(on, deps, stop)  # the root left the config: its session is nobody's
    states = [(await repo.get(i)) for i in (kept, gone)]
    assert [s.state if s else None for s in states] == ["discovering", "running"]
    off = Settings(data_dir=tmp_path / "data", library_roots=[watched], watch=WatchSettings(enabled=False))
    await watch_library(off, deps, stop)
    record = await repo.get(kept)
    assert record is not None and record.state == "running"
