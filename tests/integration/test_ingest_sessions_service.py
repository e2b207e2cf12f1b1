"""The ingest service with sessions on real NATS and PostgreSQL: a small high-priority session made while
a bulk import runs finishes first, and a service stopped mid-session resumes after a restart with every
file ingested exactly once."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from imgsearch.common.settings import ConsumerSettings, IngestSettings, Settings, WatchSettings
from tests.support.ingest_service import IngestService, ingest_service, ingested_events
from tests.support.scanned_files import Scanned
from tests.support.session_waits import sessions_done

pytestmark = pytest.mark.integration


def _photos(folder: Path, count: int, seed: int) -> None:
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    for index in range(count):
        # noise: every picture distinct, also to the perceptual hash (no near-duplicate pairs to store)
        image = Image.frombytes("RGB", (8, 8), rng.randbytes(8 * 8 * 3)).resize((32, 32))
        image.save(folder / f"{index:04d}.jpg", quality=90)


@pytest.fixture
async def service(nats_url: str, pg_url: str, tmp_path: Path) -> AsyncIterator[IngestService]:
    library = tmp_path / "library"
    _photos(library / "bulk", 600, seed=1)
    _photos(library / "urgent", 12, seed=2)
    _photos(library / "resume", 150, seed=3)
    settings = Settings(
        data_dir=tmp_path / "data", library_roots=[library],
        consumer=ConsumerSettings(ack_wait_s=30.0, backoff_s=[0.2], max_deliver=2),
        ingest=IngestSettings(workers=2, exclude=[], claim_batch=2, discovery_chunk=50, worker_id="w1"),
        watch=WatchSettings(enabled=False),
    )
    async with ingest_service(nats_url, pg_url, settings, library, name="sessions-test",
                              max_connections=6) as service:
        yield service


async def _until(check: Any, timeout_s: float = 60.0) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


async def test_a_high_session_overtakes_a_running_bulk_import(service: IngestService) -> None:
    bulk = await service.session("bulk", "bulk")

    async def bulk_running() -> bool:
        return (await service.sessions.progress(bulk)).ingested >= 20

    await _until(bulk_running)
    high = await service.session("urgent", "high")
    await sessions_done(service.pool, 2, timeout_s=120)

    high_done = await service.scalar("SELECT finished_at FROM ingest_sessions WHERE id = %s", high)
    bulk_done = await service.scalar("SELECT finished_at FROM ingest_sessions WHERE id = %s", bulk)
    assert high_done < bulk_done
    # when the last urgent file was ingested, most of the bulk import was still waiting
    bulk_before = await service.scalar(
        "SELECT count(*) FROM session_files WHERE session_id = %s AND done_at < %s", bulk, high_done)
    assert bulk_before < 600 - 100
    for session_id, files in ((bulk, 600), (high, 12)):
        progress = await service.sessions.progress(session_id)
        assert (progress.discovered, progress.ingested, progress.failed) == (files, files, 0)
        record = await service.sessions.get(session_id)
        assert record is not None and record.state == "done"


async def test_a_restart_resumes_the_session_and_reads_each_file_once(service: IngestService) -> None:
    session = await service.session("resume", "normal")

    async def started() -> bool:
        return (await service.sessions.progress(session)).ingested >= 30

    await _until(started)
    await service.halt()  # SIGTERM: the files in flight finish, nothing new is claimed
    left = await service.scalar(
        "SELECT count(*) FROM session_files WHERE session_id = %s AND state NOT IN ('ingested')", session)
    discovered = await service.scalar("SELECT count(*) FROM session_files WHERE session_id = %s", session)
    assert left > 0 or discovered < 150, "the session ended before the stop: nothing to resume"
    assert await service.scalar("SELECT count(*) FROM session_files WHERE state = 'working'") == 0

    service.start()
    await sessions_done(service.pool, 1, timeout_s=120)
    states = await service.scalar(
        "SELECT array_agg(DISTINCT state) FROM session_files WHERE session_id = %s", session)
    assert states == ["ingested"]
    assert await service.scalar("SELECT count(*) FROM session_files WHERE session_id = %s", session) == 150
    assert await service.scalar("SELECT max(attempts) FROM session_files") == 1  # no file read twice
    assert await service.scalar("SELECT count(*) FROM files WHERE status = 'ingested'") == 150
    published = Counter(e.path for e in await ingested_events(service.bus))
    assert len(published) == 150 and set(published.values()) == {1}


async def test_files_of_a_dead_worker_come_back_and_a_file_that_kills_workers_fails(
    service: IngestService,
) -> None:
    await service.halt()
    files = sorted((service.library / "urgent").iterdir())[:3]
    scanned = [Scanned(p, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    session = await service.sessions.create(service.library / "urgent", [], "high", [], [], files=scanned)
    # another worker held two of them and died: one lease ran out, the other file killed it 3 times
    async with service.pool.connection() as conn:
        await conn.execute(
            "UPDATE session_files SET state = 'working', owner = 'dead',"
            " lease_until = now() - interval '1 s', attempts = CASE WHEN path = %s THEN 3 ELSE 1 END"
            " WHERE path = ANY(%s)",
            (str(files[0]), [str(files[0]), str(files[1])]),
        )
    service.start()
    await sessions_done(service.pool, 1)
    async with service.pool.connection() as conn:
        cur = await conn.execute("SELECT path, state, error FROM session_files ORDER BY path")
        rows = await cur.fetchall()
        cur = await conn.execute("SELECT status, error FROM files WHERE path = %s", (str(files[0]),))
        row = await cur.fetchone()
    assert [(Path(p).name, s) for p, s, _ in rows] == [(files[0].name, "failed"), (files[1].name, "ingested"),
                                                       (files[2].name, "ingested")]
    assert "never ended in 3 attempts" in rows[0][2]
    assert row is not None and row[0] == "failed" and "never ended" in row[1]  # its files row says why too
    progress = await service.sessions.progress(session)
    assert (progress.discovered, progress.ingested, progress.failed) == (3, 2, 1)

