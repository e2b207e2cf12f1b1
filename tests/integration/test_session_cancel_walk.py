"""A cancel while the folder walk and the workers are still going, in a real PostgreSQL: files the walk
adds afterwards, and files a worker gives back afterwards, are cancelled, never left pending forever
(a pending file of a cancelled session is never claimed, and the watcher would take it as queued)."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.session_work import SessionWork
from imgsearch.common.db.sessions import SessionRepository
from tests.support.scanned_files import ROOT, Scanned

pytestmark = pytest.mark.integration


async def _states(pool: AsyncConnectionPool, session: int) -> dict[str, str]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT path, state FROM session_files WHERE session_id = %s", (session,))
        return {Path(str(p)).name: str(s) for p, s in await cur.fetchall()}


async def test_files_added_or_given_back_after_a_cancel_are_cancelled(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO images (id, size_bytes) VALUES ('img1', 10)")
        await conn.execute("INSERT INTO files (path, library_root, image_id, size_bytes, mtime_ns, status)"
                           " VALUES ('/lib/known.jpg', '/lib', 'img1', 10, 1, 'ingested')")
    repo = SessionRepository(pool)
    work, other = SessionWork(pool, "w1", 30.0), SessionWork(pool, "w2", 30.0)
    session = await repo.create(ROOT, [], "normal", [], [])  # discovering: the walk adds the files
    await work.add_files(session, [Scanned(ROOT / name) for name in ("1.jpg", "2.jpg", "3.jpg")], "")
    held = await work.claim(session, 1)
    held_by_other = await other.claim(session, 1)
    assert (await repo.cancel(session)).state == "cancelled"

    # The walk had checked the session before the cancel, and goes on adding what it found.
    await work.add_files(session, [Scanned(ROOT / "4.jpg"), Scanned(ROOT / "known.jpg")], "")
    await work.release(session, held[0].path)  # a transient failure after the cancel
    assert await other.release_own() == 1  # the other worker restarted after the cancel

    states = await _states(pool, session)
    assert states == {"1.jpg": "cancelled", "2.jpg": "cancelled", "3.jpg": "cancelled",
                      "4.jpg": "cancelled", "known.jpg": "unchanged"}
    assert {held[0].path.name, held_by_other[0].path.name} == {"1.jpg", "2.jpg"}
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM session_files WHERE done_at IS NULL")
        assert await cur.fetchone() == (0,)


async def test_an_open_session_still_gets_its_files_back_pending(pool: AsyncConnectionPool) -> None:
    repo = SessionRepository(pool)
    work = SessionWork(pool, "w1", 30.0)
    session = await repo.create(ROOT, [], "normal", [], [])
    await work.add_files(session, [Scanned(ROOT / "1.jpg"), Scanned(ROOT / "2.jpg")], "")
    held = await work.claim(session, 2)
    await work.release(session, held[0].path)
    assert await work.release_own() == 1
    assert await _states(pool, session) == {"1.jpg": "pending", "2.jpg": "pending"}
    assert len(await work.claim(session, 5)) == 2
