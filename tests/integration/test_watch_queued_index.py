"""The watcher's "already queued?" check (WatchRepository.queued) is served by the partial index of
migration 0006 (session_files_open_path), not by reading every session file ever recorded."""

from __future__ import annotations

import json

import pytest

from imgsearch.common.db.pool import open_pool
from imgsearch.ingest.watch_repository import QUEUED_SQL, WatchRepository

pytestmark = pytest.mark.integration


async def test_queued_files_are_found_through_the_open_path_index(pg_url: str) -> None:
    pool = await open_pool(pg_url, 1, 2)
    try:
        async with pool.connection() as conn:
            await conn.execute("INSERT INTO ingest_sessions (root)"
                               " SELECT '/library' FROM generate_series(1, 200)")
            # 20 000 files of earlier sessions, half of them settled, half waiting (a bulk import)
            await conn.execute(
                "INSERT INTO session_files (session_id, path, size_bytes, mtime_ns, state)"
                " SELECT 1 + n % 200, '/library/old/' || n || '.jpg', n, n,"
                "        CASE WHEN n % 2 = 0 THEN 'pending' ELSE 'ingested' END"
                " FROM generate_series(1, 20000) n"
            )
            await conn.execute(
                "INSERT INTO session_files (session_id, path, size_bytes, mtime_ns, state) VALUES"
                " (200, '/library/new/a.jpg', 1, 2, 'pending'), (200, '/library/new/b.jpg', 3, 4, 'working'),"
                " (199, '/library/new/c.jpg', 5, 6, 'failed')"
            )
            await conn.execute("ANALYZE session_files")
            paths = ["/library/new/a.jpg", "/library/new/b.jpg", "/library/new/c.jpg", "/library/old/7.jpg"]
            cur = await conn.execute(f"EXPLAIN (FORMAT JSON) {QUEUED_SQL}", (paths,))
            row = await cur.fetchone()
        assert row is not None
        plan = json.dumps(row[0])
        assert "session_files_open_path" in plan, plan
        assert await WatchRepository(pool).queued(paths) == {("/library/new/a.jpg", 1, 2),
                                                             ("/library/new/b.jpg", 3, 4)}
        assert await WatchRepository(pool).queued(["/library/old/8.jpg"]) == {("/library/old/8.jpg", 8, 8)}
    finally:
        await pool.close()

