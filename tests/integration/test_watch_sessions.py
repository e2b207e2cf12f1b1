"""The watcher's chunked sessions against the real PostgreSQL: a watch session cannot finish between two
chunks (its files all read), finishes once closed, is left alone by the discovery walker, and one an
interrupted pass left open is closed by the next; a real pass over more files than its chunk fills one
session and still finds moves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from google.protobuf.message import Message
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.session_work import SessionWork
from imgsearch.common.db.sessions import SessionRepository
from imgsearch.common.ids import content_hash
from imgsearch.ingest.rescan import LibraryRescan
from imgsearch.ingest.scan import PathFilter, ScannedFile
from imgsearch.ingest.watch_repository import WatchRepository
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
