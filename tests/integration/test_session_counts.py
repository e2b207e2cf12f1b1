"""The per-session counts that progress reads (migration 0007, kept by triggers) always equal counting the
session's files joined with their images, whatever writes the files or the images: discovery, known files,
claims and settling, leases, image statuses, a faces reset, images appearing and going, cancel, deletes,
and writers racing each other."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.images import ImageRepository
from imgsearch.common.db.session_work import SessionWork
from imgsearch.common.db.sessions import SessionRepository
from tests.support.scanned_files import ROOT, Scanned

pytestmark = pytest.mark.integration

_COUNTED = """
SELECT session_id, subdirectory, state, embed_status, faces_status, files FROM session_counts
WHERE files <> 0 ORDER BY 1, 2, 3, 4, 5
"""
_NAIVE = """
SELECT sf.session_id, sf.subdirectory, sf.state, COALESCE(i.embed_status, ''), COALESCE(i.faces_status, ''),
       count(*)
FROM session_files sf LEFT JOIN images i ON i.id = sf.image_id
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
"""


async def _execute(pool: AsyncConnectionPool, sql: str, *args: object) -> None:
    async with pool.connection() as conn:
        await conn.execute(sql, args or None)


async def _assert_counts_hold(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        counted = await (await conn.execute(_COUNTED)).fetchall()
        naive = await (await conn.execute(_NAIVE)).fetchall()
    assert counted == naive


async def _image(pool: AsyncConnectionPool, image_id: str, path: str | None = None) -> None:
    await _execute(pool, "INSERT INTO images (id, size_bytes) VALUES (%s, 1)", image_id)
    if path:
        await _execute(pool, "INSERT INTO files (path, library_root, image_id, size_bytes, mtime_ns, status)"
                             " VALUES (%s, '/lib', %s, 10, 1, 'ingested')", path, image_id)


def _files(*names: str) -> list[Scanned]:
    return [Scanned(ROOT / name) for name in names]


async def test_counts_follow_every_write_to_files_and_images(pool: AsyncConnectionPool) -> None:
    repo, images = SessionRepository(pool), ImageRepository(pool)
    work = SessionWork(pool, "worker", 30.0)
    await _image(pool, "known", "/lib/a/known.jpg")
    first = await repo.create(ROOT, ["a", "b"], "normal", [], [])
    await work.add_files(first, _files("a/known.jpg", "a/1.jpg", "a/2.jpg", "a/3.jpg"), "a")
    await work.add_files(first, _files("b/1.jpg", "b/2.jpg"), "b")
    second = await repo.create(ROOT, [], "bulk", [], [], files=_files("a/known.jpg", "c/1.jpg"))
    await _assert_counts_hold(pool)  # 'unchanged' at once with the known image, pending otherwise

    claimed = await work.claim(first, 4)
    await work.extend_leases()
    await _assert_counts_hold(pool)
    await _image(pool, "one")
    await work.finish_file(first, claimed[0].path, "ingested", "one")
    await work.finish_file(first, claimed[1].path, "failed", error="bad")
    await work.release(first, claimed[2].path)
    await _assert_counts_hold(pool)

    await images.mark_embedded(["one", "known"], "m")
    await images.mark_failed("known", "embed", "boom")
    await _execute(pool, "UPDATE images SET faces_status = 'done', faces_at = now() WHERE id = 'one'")
    await _execute(pool, "UPDATE images SET updated_at = now()")  # statuses unchanged: counts unchanged
    await _assert_counts_hold(pool)
    await _execute(pool, "UPDATE images SET faces_status = 'pending', faces_at = NULL")  # a faces reset
    await _assert_counts_hold(pool)

    # A file that names an image not written yet, which then appears; an image that goes.
    await _execute(pool, "UPDATE session_files SET state = 'ingested', image_id = 'late', done_at = now()"
                         " WHERE path = '/lib/b/1.jpg'")
    await _image(pool, "late")
    await _execute(pool, "UPDATE images SET embed_status = 'embedded' WHERE id = 'late'")
    await _assert_counts_hold(pool)
    await _execute(pool, "DELETE FROM images WHERE id = 'one'")
    await _assert_counts_hold(pool)

    await repo.cancel(second)
    await _execute(pool, "DELETE FROM session_files WHERE path = '/lib/b/2.jpg'")
    await _assert_counts_hold(pool)
    report = await repo.report(first)
    # ingested: known (unchanged), a/1 (its image went since), b/1; embedded: b/1
    assert (report.total.discovered, report.total.ingested, report.total.embedded) == (5, 3, 1)


async def test_counts_hold_while_settling_and_image_updates_race(pool: AsyncConnectionPool) -> None:
    repo, images = SessionRepository(pool), ImageRepository(pool)
    names = [f"a/{n}.jpg" for n in range(40)]
    for n, name in enumerate(names):
        await _image(pool, f"img{n}", str(ROOT / name))
    await _execute(pool, "UPDATE files SET image_id = NULL WHERE path LIKE '/lib/a/1%%'")  # read again
    sessions = [await repo.create(ROOT, [], "normal", [], [], files=_files(*names)) for _ in range(3)]
    workers = [SessionWork(pool, f"worker-{n}", 30.0) for n in range(3)]

    async def settle(work: SessionWork, session: int) -> None:
        for claimed in await work.claim(session, 40):
            if not await work.settle_unchanged(session, [claimed.path]):
                await work.finish_file(session, claimed.path, "ingested", f"img{claimed.path.stem}")

    async def mark(step: int) -> None:
        for n in range(step, 40, 4):
            await images.mark_embedded([f"img{n}", f"img{(n + 1) % 40}"], "m")
            await _execute(pool, "UPDATE images SET faces_status = 'done' WHERE id = %s", f"img{n}")

    await asyncio.gather(*(settle(w, s) for w, s in zip(workers, sessions, strict=True)),
                         *(mark(step) for step in range(4)))
    await _assert_counts_hold(pool)
    progress = await repo.progress(sessions[0])
    assert (progress.discovered, progress.ingested, progress.embedded) == (40, 40, 40)


async def _blocked_on_lock(pool: AsyncConnectionPool, pid: int) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                                 (pid,))
        row = await cur.fetchone()
    return bool(row and row[0])


async def _until_blocked_or_done(pool: AsyncConnectionPool, pid: int, task: asyncio.Task[Any]) -> None:
    """Until the statement running on ``pid`` waits on a lock, or ``task`` (running it) finished."""
    while True:
        if task.done() or await _blocked_on_lock(pool, pid):
            return
        await asyncio.sleep(0.01)


async def test_file_writer_and_image_writer_in_opposite_orders_both_commit(pool: AsyncConnectionPool) -> None:
    # A chunk of known files names images x and y (read in key order) while one status update reaches y
    # first, then x: neither waits on the other in a cycle (row share locks on the images did).
    session = await SessionRepository(pool).create(ROOT, [], "normal", [], [])
    for image_id in ("y", "x"):  # y first in the table, so the update below locks y, then x
        await _image(pool, image_id)
    marked = asyncio.Event()
    async with pool.connection() as blocker, pool.connection() as files, pool.connection() as marker:
        await blocker.execute("UPDATE images SET updated_at = now() WHERE id = 'y'")  # holds y's row

        async def mark() -> None:
            async with marker.transaction():
                await marker.execute("UPDATE images SET embed_status = 'embedded' WHERE id IN ('y', 'x')")
                await marked.wait()

        marking = asyncio.create_task(mark())
        await _until_blocked_or_done(pool, marker.info.backend_pid, marking)  # on y
        async with files.transaction():
            writing = asyncio.create_task(files.execute(
                "INSERT INTO session_files (session_id, path, size_bytes, mtime_ns, state, image_id)"
                " VALUES (%s, '/lib/x.jpg', 1, 1, 'unchanged', 'x'),"
                " (%s, '/lib/y.jpg', 1, 1, 'unchanged', 'y')", (session, session)))
            await _until_blocked_or_done(pool, files.info.backend_pid, writing)
            await blocker.commit()  # y goes to the marking, which then reaches x
            await writing
        marked.set()
        await marking
    await _assert_counts_hold(pool)
    assert (await SessionRepository(pool).progress(session)).embedded == 2


async def test_file_naming_an_image_being_inserted_is_counted_under_it(pool: AsyncConnectionPool) -> None:
    # The image's insert is not committed when the file naming it is written; the file commits after.
    session = await SessionRepository(pool).create(ROOT, [], "normal", [], [])
    async with pool.connection() as inserter, pool.connection() as files:
        await inserter.execute("INSERT INTO images (id, size_bytes, embed_status)"
                               " VALUES ('new', 1, 'embedded')")
        async with files.transaction():
            writing = asyncio.create_task(files.execute(
                "INSERT INTO session_files (session_id, path, size_bytes, mtime_ns, state, image_id, done_at)"
                " VALUES (%s, '/lib/new.jpg', 1, 1, 'ingested', 'new', now())", (session,)))
            await _until_blocked_or_done(pool, files.info.backend_pid, writing)
            await inserter.commit()
            await writing
    await _assert_counts_hold(pool)
    assert (await SessionRepository(pool).progress(session)).embedded == 1


async def test_counts_hold_for_big_statements_deleted_sessions_truncate(pool: AsyncConnectionPool) -> None:
    # Over 1000 images in one statement takes the table-wide locks instead of one per image.
    session = await SessionRepository(pool).create(ROOT, [], "normal", [], [])
    other = await SessionRepository(pool).create(ROOT, [], "normal", [], [])
    await _execute(pool, "INSERT INTO images (id, size_bytes)"
                         " SELECT 'big' || n, 1 FROM generate_series(1, 1200) n")
    for sid in (session, other):
        await _execute(pool, "INSERT INTO session_files (session_id, path, size_bytes, mtime_ns, state,"
                             " image_id) SELECT %s, '/lib/' || n || '.jpg', 1, 1, 'unchanged', 'big' || n"
                             " FROM generate_series(1, 1200) n", sid)
    await _execute(pool, "UPDATE images SET embed_status = 'embedded'")
    await _assert_counts_hold(pool)
    await _execute(pool, "DELETE FROM ingest_sessions WHERE id = %s", other)
    await _assert_counts_hold(pool)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM session_counts WHERE session_id = %s", (other,))
        assert await cur.fetchone() == (0,)
    await _execute(pool, "TRUNCATE images CASCADE")
    await _assert_counts_hold(pool)
    await _execute(pool, "TRUNCATE session_files")
    await _assert_counts_hold(pool)
