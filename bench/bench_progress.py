"""What a session progress read costs at archive scale. Run by `make bench-progress`.

Embedded PostgreSQL (a fresh data dir), migrations applied, one session of N files (default 1,000,000) in
4 subdirectories with their images, made in SQL with generate_series: 88% ingested or unchanged (the rest
failed, cancelled or pending); 78% of the files embedded (2% failed), 60% with faces done (2% failed),
settled over the last ~55 minutes (~300 files/s, so ~1.8% of them fall in the 60 s rate window); the faces
service has run (a face_backend row), so percent and ETA go over the faces stage. Then, on a warm cache,
the median of BENCH_READS reads of:

- read: ``SessionRepository.report`` (what the gateway and the CLI ask, every poll);
- naive: the progress query as first shipped (every session_files row of the session joined with its image
  and aggregated per subdirectory on each call), kept here for comparison.

Both give the same numbers (checked). Last line: ``progress: N files read=Xs naive=Ys ratio=Rx``."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.pool import open_pool
from imgsearch.common.db.session_records import (
    RATE_WINDOW_S,
    ProgressReport,
    SessionProgress,
    StageCounts,
    progress_of,
)
from imgsearch.common.db.sessions import SessionRepository
from imgsearch.common.infra.postgres import EmbeddedPostgres

# The progress query as first shipped (sessions.py before per-session counters), for comparison.
NAIVE_COUNTS = """
SELECT sf.subdirectory,
  count(*) AS discovered,
  count(*) FILTER (WHERE sf.state = 'cancelled') AS cancelled,
  count(*) FILTER (WHERE sf.state IN ('ingested', 'unchanged')) AS ingested,
  count(*) FILTER (WHERE sf.state = 'failed') AS ingest_failed,
  count(*) FILTER (WHERE i.embed_status = 'embedded') AS embedded,
  count(*) FILTER (WHERE i.embed_status = 'failed') AS embed_failed,
  count(*) FILTER (WHERE i.faces_status = 'done') AS faces_done,
  count(*) FILTER (WHERE i.faces_status = 'failed') AS faces_failed,
  count(*) FILTER (WHERE sf.state = 'failed' OR i.embed_status = 'failed'
                   OR i.faces_status = 'failed') AS failed,
  count(*) FILTER (WHERE sf.state = 'failed' OR (i.embed_status IN ('embedded', 'failed')
                   AND (NOT %(faces)s OR i.faces_status IN ('done', 'failed')))) AS complete,
  count(*) FILTER (WHERE sf.state IN ('ingested', 'unchanged') AND sf.done_at > %(since)s) AS recent_ingested,
  count(*) FILTER (WHERE i.embed_status = 'embedded' AND i.embedded_at > %(since)s) AS recent_embedded,
  count(*) FILTER (WHERE i.faces_status = 'done' AND i.faces_at > %(since)s) AS recent_faces
FROM session_files sf LEFT JOIN images i ON i.id = sf.image_id
WHERE sf.session_id = %(id)s
GROUP BY sf.subdirectory ORDER BY sf.subdirectory
"""

_SUBDIRECTORIES = ["a", "b", "c", "d"]

# g: 1..N. Per file: state by g %% 100; its image (one per ingested/unchanged/failed-later file) by g %% 50.
_IMAGES = """
INSERT INTO images (id, size_bytes, embed_status, embedded_at, faces_status, faces_at)
SELECT 'img' || g, 1000,
  CASE WHEN g %% 50 < 40 THEN 'embedded' WHEN g %% 50 = 40 THEN 'failed' ELSE 'pending' END,
  CASE WHEN g %% 50 < 40 THEN now() - make_interval(secs => g %% 3331) END,
  CASE WHEN g %% 50 < 30 THEN 'done' WHEN g %% 50 = 30 THEN 'failed' ELSE 'pending' END,
  CASE WHEN g %% 50 < 30 THEN now() - make_interval(secs => g %% 3329) END
FROM generate_series(1, %(n)s) g WHERE g %% 100 < 88
"""

_FILES = """
INSERT INTO session_files
  (session_id, path, subdirectory, size_bytes, mtime_ns, state, image_id, error, done_at)
SELECT %(id)s, '/library/' || (ARRAY['a','b','c','d'])[1 + g %% 4] || '/' || g || '.jpg',
  (ARRAY['a','b','c','d'])[1 + g %% 4], 1000, g,
  CASE WHEN g %% 100 < 80 THEN 'ingested' WHEN g %% 100 < 88 THEN 'unchanged'
       WHEN g %% 100 < 90 THEN 'failed' WHEN g %% 100 < 91 THEN 'cancelled' ELSE 'pending' END,
  CASE WHEN g %% 100 < 88 THEN 'img' || g END,
  CASE WHEN g %% 100 BETWEEN 88 AND 89 THEN 'unreadable' END,
  CASE WHEN g %% 100 < 91 THEN now() - make_interval(secs => g %% 3343) END
FROM generate_series(1, %(n)s) g
"""


async def _fill(pool: AsyncConnectionPool, repo: SessionRepository, n: int) -> int:
    session_id = await repo.create(Path("/library"), _SUBDIRECTORIES, "bulk", [], [])
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE ingest_sessions SET discovery_complete = true, created_at = now() - interval '1 hour'"
            " WHERE id = %s", (session_id,))
        await conn.execute("INSERT INTO face_backend (backend, model, dim) VALUES ('dlib', 'bench', 128)"
                           " ON CONFLICT DO NOTHING")
        await conn.execute(_IMAGES, {"n": n})
        await conn.execute(_FILES, {"n": n, "id": session_id})
        await conn.execute("ANALYZE")
    return session_id


async def _naive(pool: AsyncConnectionPool, session_id: int, now: datetime) -> ProgressReport:
    """report() over the old query (the session: created an hour ago, discovered, running, faces on)."""
    since = datetime.fromtimestamp(now.timestamp() - RATE_WINDOW_S, UTC)
    async with pool.connection() as conn:
        await conn.execute("SELECT EXISTS (SELECT 1 FROM face_backend)")
        cur = await conn.execute(NAIVE_COUNTS, {"id": session_id, "faces": True, "since": since})
        by_sub = {str(row[0]): StageCounts(*row[1:]) for row in await cur.fetchall()}

    def progress(counts: StageCounts) -> SessionProgress:
        return progress_of(counts, True, True, RATE_WINDOW_S, True)

    total = progress(sum(by_sub.values(), StageCounts()))
    return ProgressReport(total, [(sub, progress(by_sub.get(sub, StageCounts()))) for sub in _SUBDIRECTORIES])


async def _median(reads: int, call: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(reads):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def run(url: str, n: int, reads: int) -> None:
    pool = await open_pool(url, max_size=2)
    try:
        repo = SessionRepository(pool)
        start = time.perf_counter()
        session_id = await _fill(pool, repo, n)
        print(f"filled {n} files in {time.perf_counter() - start:.1f}s", flush=True)
        now = datetime.now(UTC)
        report = await repo.report(session_id, now)
        naive = await _naive(pool, session_id, now)
        print(f"read:  {report.total}", flush=True)
        if report != naive:
            print(f"naive: {naive}", flush=True)
            raise SystemExit("the read and the naive query disagree")
        read_s = await _median(reads, lambda: repo.report(session_id, now))
        naive_s = await _median(reads, lambda: _naive(pool, session_id, now))
    finally:
        await pool.close()
    print(f"progress: {n} files read={read_s:.3f}s naive={naive_s:.3f}s ratio={naive_s / read_s:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=int(os.environ.get("BENCH_FILES", "1000000")))
    parser.add_argument("--reads", type=int, default=int(os.environ.get("BENCH_READS", "5")))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bp-", dir="/tmp"))
    server = EmbeddedPostgres(folder / "pg")
    try:
        url = server.start()
        asyncio.run(run(url, args.files, args.reads))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
