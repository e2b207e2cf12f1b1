"""Ingest sessions in a real PostgreSQL: create / list / pause / resume / cancel, claims with leases that
run out and come back, and progress per session and subdirectory with rates and ETA at a fixed clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.session_work import SessionWork
from imgsearch.common.db.sessions import SessionRepository
from imgsearch.common.errors import Conflict, InvalidInput, NotFound
from tests.support.scanned_files import ROOT, Scanned

pytestmark = pytest.mark.integration


def _files(*names: str) -> list[Scanned]:
    return [Scanned(ROOT / name) for name in names]


async def _execute(pool: AsyncConnectionPool, sql: str, *args: object) -> None:
    async with pool.connection() as conn:
        await conn.execute(sql, args or None)


async def test_create_get_list_and_the_same_request_twice(pool: AsyncConnectionPool) -> None:
    repo = SessionRepository(pool)
    first = await repo.create(ROOT, ["a", "b/c"], "high", ["*.jpg"], [], request_id="r1")
    assert await repo.create(ROOT, [], "normal", [], [], request_id="r1") == first  # a redelivered command
    second = await repo.create(ROOT, [], "bulk", [], [], origin="watch", files=[])
    record = await repo.get(first)
    assert record is not None
    assert (record.root, record.subdirectories, record.priority, record.state, record.origin) == (
        "/lib", ["a", "b/c"], "high", "discovering", "user")
    watch = await repo.get(second)
    assert watch is not None and (watch.state, watch.priority, watch.origin) == ("done", "bulk", "watch")
    assert watch.finished_at is not None  # no files: done at once
    page, total = await repo.list_sessions()
    assert [r.id for r in page] == [second, first] and total == 2
    page, total = await repo.list_sessions(state="discovering")
    assert [r.id for r in page] == [first] and total == 1
    assert await repo.list_sessions(limit=1, offset=5) == ([], 2)
    assert await repo.get(999) is None
    for bad in ({"priority": "urgent"}, {"subdirectories": ["../x"]}, {"subdirectories": ["/abs"]},
                {"subdirectories": ["a//b"]}, {"origin": "robot"}):
        args = {"root": ROOT, "subdirectories": [], "priority": "normal", "include": [], "exclude": [], **bad}
        with pytest.raises(InvalidInput):
            await repo.create(**args)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await repo.list_sessions(state="sleeping")


async def test_claims_lease_and_come_back_when_the_lease_runs_out(pool: AsyncConnectionPool) -> None:
    repo = SessionRepository(pool)
    session = await repo.create(ROOT, [], "normal", [], [], files=_files("1.jpg", "2.jpg", "3.jpg", "4.jpg"))
    one, two = SessionWork(pool, "worker-1", 30.0), SessionWork(pool, "worker-2", 30.0)
    assert [(s.id, s.priority) for s in await one.claimable()] == [(session, 1)]

    first = await one.claim(session, 2)
    second = await two.claim(session, 5)
    assert [f.path.name for f in first] == ["1.jpg", "2.jpg"]  # discovery order
    assert [f.path.name for f in second] == ["3.jpg", "4.jpg"]  # never the files another worker holds
    assert await one.claimable() == []  # everything leased

    # worker-2 dies: its leases run out and worker-1 takes its files (a second attempt each)
    await _execute(pool, "UPDATE session_files SET lease_until = now() - interval '1 second'"
                         " WHERE owner = 'worker-2'")
    await one.extend_leases()  # extends only worker-1's leases
    again = await one.claim(session, 5)
    assert [(f.path.name, f.attempts) for f in again] == [("3.jpg", 2), ("4.jpg", 2)]

    await one.finish_file(session, ROOT / "1.jpg", "ingested", None)
    await one.finish_file(session, ROOT / "2.jpg", "failed", None, "not an image")
    await one.release(session, ROOT / "3.jpg")  # a transient failure: pending again, attempt not counted
    assert [(f.path.name, f.attempts) for f in await two.claim(session, 5)] == [("3.jpg", 2)]
    # a restarted worker-2 gives back what it held at once, without waiting for the lease
    assert await two.release_own() == 1
    record = await repo.get(session)
    assert record is not None and record.state == "running"
    assert [f.path.name for f in await one.claim(session, 5)] == ["3.jpg"]  # 4.jpg: still worker-1's
    for path in ("3.jpg", "4.jpg"):
        await one.finish_file(session, ROOT / path, "ingested", None)
    record = await repo.get(session)
    assert record is not None and record.state == "done" and record.finished_at is not None


async def test_a_live_worker_extends_only_the_leases_it_names(pool: AsyncConnectionPool) -> None:
    session = await SessionRepository(pool).create(ROOT, [], "normal", [], [], files=_files("1.jpg", "2.jpg"))
    work = SessionWork(pool, "worker-1", 30.0)
    assert len(await work.claim(session, 2)) == 2
    await _execute(pool, "UPDATE session_files SET lease_until = now() - interval '1 second'")
    await work.extend_leases([(session, ROOT / "1.jpg")])  # 2.jpg: could not be given back, left to expire
    await work.extend_leases([])
    again = await SessionWork(pool, "worker-2", 30.0).claim(session, 2)
    assert [(f.path.name, f.attempts) for f in again] == [("2.jpg", 2)]


async def test_known_files_are_settled_when_added(pool: AsyncConnectionPool) -> None:
    await _execute(pool, "INSERT INTO images (id, size_bytes) VALUES ('img1', 10)")
    await _execute(pool, "INSERT INTO files (path, library_root, image_id, size_bytes, mtime_ns, status)"
                         " VALUES ('/lib/same.jpg', '/lib', 'img1', 10, 1, 'ingested'),"
                         " ('/lib/changed.jpg', '/lib', 'img1', 10, 1, 'ingested')")
    await _execute(pool, "INSERT INTO files (path, library_root, size_bytes, mtime_ns, status, error)"
                         " VALUES ('/lib/bad.jpg', '/lib', 10, 1, 'failed', 'not an image')")
    repo = SessionRepository(pool)
    files = [Scanned(ROOT / "same.jpg"), Scanned(ROOT / "changed.jpg", mtime_ns=2), Scanned(ROOT / "bad.jpg"),
             Scanned(ROOT / "new.jpg")]
    session = await repo.create(ROOT, [], "low", [], [], files=files)
    work = SessionWork(pool, "w", 30.0)
    assert sorted(f.path.name for f in await work.claim(session, 10)) == ["changed.jpg", "new.jpg"]
    failures, total = await repo.failures(session)
    assert total == 1 and (failures[0].path, failures[0].stage, failures[0].reason) == (
        "/lib/bad.jpg", "ingest", "not an image")
    progress = await repo.progress(session)
    assert (progress.discovered, progress.ingested, progress.failed) == (4, 1, 1)


async def test_pause_resume_cancel(pool: AsyncConnectionPool) -> None:
    repo = SessionRepository(pool)
    work = SessionWork(pool, "w", 30.0)
    session = await repo.create(ROOT, [], "normal", [], [], files=_files("1.jpg", "2.jpg", "3.jpg"))
    assert (await repo.pause(session)).state == "paused"
    assert (await repo.pause(session)).state == "paused"  # again: no change, no error
    assert await work.claimable() == []
    assert (await repo.resume(session)).state == "running"
    claimed = await work.claim(session, 1)
    cancelled = await repo.cancel(session)
    assert cancelled.state == "cancelled" and cancelled.finished_at is not None
    assert await work.claimable() == []
    await work.finish_file(session, claimed[0].path, "ingested", None)  # the file being read still lands
    with pytest.raises(Conflict):
        await repo.resume(session)
    with pytest.raises(Conflict):
        await repo.pause(session)
    assert (await repo.cancel(session)).state == "cancelled"
    with pytest.raises(NotFound):
        await repo.pause(12345)
    progress = await repo.progress(session)
    assert (progress.discovered, progress.ingested, progress.eta_s) == (3, 1, None)
    assert progress.percent == 0.0  # nothing embedded yet; cancelled files are out of the total
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT state, count(*) FROM session_files GROUP BY state ORDER BY state")
        assert await cur.fetchall() == [("cancelled", 2), ("ingested", 1)]


async def test_progress_per_subdirectory_with_rates_and_eta(pool: AsyncConnectionPool) -> None:
    repo = SessionRepository(pool)
    files = _files(*(f"a/{i}.jpg" for i in range(6)), *(f"b/{i}.jpg" for i in range(4)))
    session = await repo.create(ROOT, ["a", "b"], "normal", [], [], files=files)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT created_at FROM ingest_sessions WHERE id = %s", (session,))
        row = await cur.fetchone()
    assert row is not None
    now: datetime = row[0] + timedelta(minutes=10)
    recent, old = now - timedelta(seconds=30), now - timedelta(minutes=5)
    # a/0..a/4 ingested (a/0, a/1 long ago), a/5 failed; i0..i2 embedded (i2 recently), i3 embed failed;
    # i0 faces done recently, i1 faces failed; b: nothing yet.
    images = [("i0", "embedded", old, "done", recent), ("i1", "embedded", old, "failed", recent),
              ("i2", "embedded", recent, "pending", None), ("i3", "failed", None, "pending", None),
              ("i4", "pending", None, "pending", None)]
    for image_id, embed, embedded_at, faces, faces_at in images:
        await _execute(pool, "INSERT INTO images (id, size_bytes, embed_status, embedded_at, faces_status,"
                             " faces_at, embed_error) VALUES (%s, 1, %s, %s, %s, %s, 'boom')",
                       image_id, embed, embedded_at, faces, faces_at)
    for index in range(5):
        done_at = old if index < 2 else recent
        await _execute(pool, "UPDATE session_files SET state = 'ingested', image_id = %s, done_at = %s"
                             " WHERE path = %s", f"i{index}", done_at, f"/lib/a/{index}.jpg")
    await _execute(pool, "UPDATE session_files SET state = 'failed', error = 'bad', done_at = %s"
                         " WHERE path = '/lib/a/5.jpg'", recent)
    await _execute(pool, "UPDATE ingest_sessions SET discovery_complete = true WHERE id = %s", session)

    report = await repo.report(session, now=now)
    total = report.total
    counts = (total.discovered, total.ingested, total.embedded, total.faces_done, total.failed)
    assert counts == (10, 5, 3, 1, 3)
    # no faces service has run (no face_backend row): percent is over embed; complete = a/5 (failed at ingest)
    # + i0, i1, i2 embedded + i3 embed failed = 5 of 10
    assert total.percent == 50.0
    assert total.rates.ingested == pytest.approx(3 / 60)  # a/2, a/3, a/4 in the last minute
    assert total.rates.embedded == pytest.approx(1 / 60)  # i2
    # left: ingest 4 files at 3/60 per s = 80 s; embed 10 - 1 - 3 - 1 = 5 at 1/60 = 300 s: the slower
    assert total.eta_s == pytest.approx(300.0)
    subs = dict(report.subdirectories)
    assert list(subs) == ["a", "b"]
    assert (subs["a"].discovered, subs["a"].ingested, subs["a"].failed) == (6, 5, 3)
    assert subs["a"].percent == pytest.approx(83.33)
    assert (subs["b"].discovered, subs["b"].ingested, subs["b"].percent, subs["b"].eta_s) == (4, 0, 0.0, None)

    await _execute(pool, "INSERT INTO face_backend (backend, model, dim) VALUES ('dlib', 'm', 128)")
    over_faces = await repo.progress(session, now=now)
    assert over_faces.percent == 30.0  # over faces: a/5 failed at ingest, i0 faces done, i1 faces failed
    assert over_faces.rates.faces_done == pytest.approx(1 / 60)
    failures, count = await repo.failures(session)
    assert count == 3 and [(f.path, f.stage) for f in failures] == [
        ("/lib/a/1.jpg", "faces"), ("/lib/a/3.jpg", "embed"), ("/lib/a/5.jpg", "ingest")]
