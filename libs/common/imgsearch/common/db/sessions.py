"""Ingest sessions in PostgreSQL: create, read, pause / resume / cancel, failures and progress.

The gateway, the CLI and the watcher use this; the ingest service claims and settles the files through
imgsearch.common.db.session_work. State is derived, never stored twice: cancelled, done, paused,
discovering (the folder walk has not finished), else running."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.session_records import (
    ORIGINS,
    PRIORITIES,
    RATE_WINDOW_S,
    STATES,
    FileFailure,
    ProgressReport,
    ScannedFileLike,
    SessionProgress,
    SessionRecord,
    StageCounts,
    priority_value,
    progress_of,
)
from imgsearch.common.errors import Conflict, InvalidInput, NotFound

STATE_SQL = """CASE WHEN s.cancelled_at IS NOT NULL THEN 'cancelled'
    WHEN s.finished_at IS NOT NULL THEN 'done' WHEN s.paused THEN 'paused'
    WHEN NOT s.discovery_complete THEN 'discovering' ELSE 'running' END"""
_COLUMNS = f"""s.id, s.root, s.subdirectories, s.include, s.exclude, s.priority, s.origin,
    ({STATE_SQL}) AS state, s.discovery_complete, s.created_at, s.updated_at,
    COALESCE(s.cancelled_at, s.finished_at) AS finished_at"""

# Files are new ('pending'), or known with the same size and mtime: settled at once from their files row.
# In a cancelled session (a folder walk that went on past the cancel) new files are cancelled at once.
INSERT_FILES = """
INSERT INTO session_files
    (session_id, path, subdirectory, size_bytes, mtime_ns, state, image_id, error, done_at)
SELECT s.id, n.path, n.sub, n.size, n.mtime,
       CASE WHEN f.path IS NOT NULL AND f.status = 'failed' THEN 'failed'
            WHEN f.path IS NOT NULL AND f.image_id IS NOT NULL THEN 'unchanged'
            WHEN s.cancelled_at IS NOT NULL THEN 'cancelled' ELSE 'pending' END,
       f.image_id, f.error,
       CASE WHEN f.path IS NULL OR (f.status <> 'failed' AND f.image_id IS NULL)
            THEN CASE WHEN s.cancelled_at IS NULL THEN NULL ELSE now() END ELSE now() END
FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[])
     WITH ORDINALITY AS n(path, sub, size, mtime, ord)
JOIN ingest_sessions s ON s.id = %s
LEFT JOIN files f ON f.path = n.path AND f.size_bytes = n.size AND f.mtime_ns = n.mtime
ORDER BY n.ord
ON CONFLICT (session_id, path) DO NOTHING
"""

FINISH_IF_DONE = """
UPDATE ingest_sessions s SET finished_at = now(), updated_at = now()
WHERE s.id = %(id)s AND s.discovery_complete AND s.finished_at IS NULL AND s.cancelled_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM session_files f
                  WHERE f.session_id = %(id)s AND f.state IN ('pending', 'working'))
"""

# Progress reads the per-session counts the triggers of migration 0007 keep (a few dozen rows whatever
# the session's size; the same numbers as counting its files joined with their images), then the files
# and images settled in the rate window through the done_at / embedded_at / faces_at indexes.
_COUNTS = """
SELECT subdirectory,
  sum(files)::bigint AS discovered,
  COALESCE(sum(files) FILTER (WHERE state = 'cancelled'), 0)::bigint AS cancelled,
  COALESCE(sum(files) FILTER (WHERE state IN ('ingested', 'unchanged')), 0)::bigint AS ingested,
  COALESCE(sum(files) FILTER (WHERE state = 'failed'), 0)::bigint AS ingest_failed,
  COALESCE(sum(files) FILTER (WHERE embed_status = 'embedded'), 0)::bigint AS embedded,
  COALESCE(sum(files) FILTER (WHERE embed_status = 'failed'), 0)::bigint AS embed_failed,
  COALESCE(sum(files) FILTER (WHERE faces_status = 'done'), 0)::bigint AS faces_done,
  COALESCE(sum(files) FILTER (WHERE faces_status = 'failed'), 0)::bigint AS faces_failed,
  COALESCE(sum(files) FILTER (WHERE state = 'failed' OR embed_status = 'failed'
                              OR faces_status = 'failed'), 0)::bigint AS failed,
  COALESCE(sum(files) FILTER (WHERE state = 'failed' OR (embed_status IN ('embedded', 'failed')
           AND (NOT %(faces)s OR faces_status IN ('done', 'failed')))), 0)::bigint AS complete
FROM session_counts WHERE session_id = %(id)s
GROUP BY subdirectory HAVING sum(files) > 0
"""

_RECENT = """
SELECT subdirectory, count(*) FILTER (WHERE stage = 0) AS recent_ingested,
  count(*) FILTER (WHERE stage = 1) AS recent_embedded, count(*) FILTER (WHERE stage = 2) AS recent_faces
FROM (
  SELECT sf.subdirectory, 0 AS stage FROM session_files sf
  WHERE sf.session_id = %(id)s AND sf.done_at > %(since)s AND sf.state IN ('ingested', 'unchanged')
  UNION ALL
  SELECT sf.subdirectory, 1 FROM images i JOIN session_files sf ON sf.image_id = i.id
  WHERE sf.session_id = %(id)s AND i.embedded_at > %(since)s AND i.embed_status = 'embedded'
  UNION ALL
  SELECT sf.subdirectory, 2 FROM images i JOIN session_files sf ON sf.image_id = i.id
  WHERE sf.session_id = %(id)s AND i.faces_at > %(since)s AND i.faces_status = 'done'
) recent GROUP BY subdirectory
"""

_FAILURES = """
SELECT path, stage, reason FROM (
  SELECT sf.path, 'ingest' AS stage, COALESCE(sf.error, 'failed') AS reason FROM session_files sf
  WHERE sf.session_id = %(id)s AND sf.state = 'failed'
  UNION ALL
  SELECT sf.path, 'embed', COALESCE(i.embed_error, 'failed')
  FROM session_files sf JOIN images i ON i.id = sf.image_id
  WHERE sf.session_id = %(id)s AND i.embed_status = 'failed'
  UNION ALL
  SELECT sf.path, 'faces', COALESCE(i.faces_error, 'failed')
  FROM session_files sf JOIN images i ON i.id = sf.image_id
  WHERE sf.session_id = %(id)s AND i.faces_status = 'failed'
) failures
"""


class SessionRepository:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(
        self, root: Path, subdirectories: Sequence[str], priority: str, include: Sequence[str],
        exclude: Sequence[str], origin: str = "user", files: Sequence[ScannedFileLike] | None = None,
        request_id: str | None = None,
    ) -> int:
        """A new session over root (absolute, already checked to lie under a library root).

        files given: the session holds exactly these, discovery complete (the watcher's way). request_id
        given: creating again with the same id returns the first session (a redelivered command)."""
        level = priority_value(priority)
        if origin not in ORIGINS:
            raise InvalidInput(f"origin {origin!r} is not one of {', '.join(ORIGINS)}")
        subs = [check_subdirectory(sub) for sub in subdirectories]
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO ingest_sessions (root, subdirectories, include, exclude, priority, origin,"
                " request_id, discovery_complete) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (request_id) DO NOTHING RETURNING id",
                (str(root), subs, list(include), list(exclude), level, origin, request_id, files is not None),
            )
            row = await cur.fetchone()
            if row is None:  # this request made a session before
                cur = await conn.execute(
                    "SELECT id FROM ingest_sessions WHERE request_id = %s", (request_id,)
                )
                existing = await cur.fetchone()
                assert existing is not None
                return int(existing[0])
            session_id = int(row[0])
            if files is not None:
                labels = [subdirectory_of(f.path, root, subs) for f in files]
                await insert_files(conn, session_id, files, labels)
                await conn.execute(FINISH_IF_DONE, {"id": session_id})
        return session_id

    async def get(self, session_id: int) -> SessionRecord | None:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM ingest_sessions s WHERE s.id = %s", (session_id,))
            row = await cur.fetchone()
        return _record(row) if row else None

    async def list_sessions(self, state: str | None = None, limit: int = 50, offset: int = 0
                   ) -> tuple[list[SessionRecord], int]:
        """Newest first, with the total count for the state filter."""
        if state is not None and state not in STATES:
            raise InvalidInput(f"state {state!r} is not one of {', '.join(STATES)}")
        where = f"WHERE ({STATE_SQL}) = %(state)s" if state else ""
        args = {"state": state, "limit": limit, "offset": offset}
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {_COLUMNS}, count(*) OVER () AS total FROM ingest_sessions s {where}"
                " ORDER BY s.id DESC LIMIT %(limit)s OFFSET %(offset)s", args,
            )
            rows = await cur.fetchall()
            if not rows and offset:
                await cur.execute(f"SELECT count(*) AS total FROM ingest_sessions s {where}", args)
                counted = await cur.fetchone()
                return [], int(counted["total"]) if counted else 0
        return [_record(row) for row in rows], int(rows[0]["total"]) if rows else 0

    async def pause(self, session_id: int) -> SessionRecord:
        return await self._change(session_id, "pause", "paused = true")

    async def resume(self, session_id: int) -> SessionRecord:
        return await self._change(session_id, "resume", "paused = false")

    async def cancel(self, session_id: int) -> SessionRecord:
        """Files not started are cancelled; files being read finish and are recorded."""
        record = await self._change(session_id, "cancel", "cancelled_at = COALESCE(cancelled_at, now())")
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE session_files SET state = 'cancelled', done_at = now()"
                " WHERE session_id = %s AND state = 'pending'", (session_id,),
            )
        return record

    async def _change(self, session_id: int, action: str, assignment: str) -> SessionRecord:
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT {STATE_SQL} FROM ingest_sessions s WHERE s.id = %s FOR UPDATE", (session_id,),
            )
            row = await cur.fetchone()
            if row is None:
                raise NotFound(f"no ingest session {session_id}")
            state = str(row[0])
            if state in ("done", "cancelled") and not (action == "cancel" and state == "cancelled"):
                raise Conflict(f"ingest session {session_id} is {state}: it cannot {action}")
            await conn.execute(
                f"UPDATE ingest_sessions SET {assignment}, updated_at = now() WHERE id = %s", (session_id,)
            )
        record = await self.get(session_id)
        assert record is not None
        return record

    async def failures(self, session_id: int, limit: int = 50, offset: int = 0
                       ) -> tuple[list[FileFailure], int]:
        args = {"id": session_id, "limit": limit, "offset": offset}
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"{_FAILURES} ORDER BY path, stage LIMIT %(limit)s OFFSET %(offset)s", args
            )
            rows = await cur.fetchall()
            total = await (await conn.execute(f"SELECT count(*) FROM ({_FAILURES}) page", args)).fetchone()
        return [FileFailure(str(p), str(s), str(r)) for p, s, r in rows], int(total[0]) if total else 0

    async def progress(self, session_id: int, now: datetime | None = None) -> SessionProgress:
        return (await self.report(session_id, now)).total

    async def report(self, session_id: int, now: datetime | None = None) -> ProgressReport:
        """Progress of the session and of each of its subdirectories. now: for tests (default: the clock)."""
        now = now or datetime.now(UTC)
        record = await self.get(session_id)
        if record is None:
            raise NotFound(f"no ingest session {session_id}")
        window_s = max(0.0, min(RATE_WINDOW_S, (now - record.created_at).total_seconds()))
        since = now.timestamp() - window_s
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute("SELECT EXISTS (SELECT 1 FROM face_backend) AS faces")
            faces_row = await cur.fetchone()
            faces = bool(faces_row and faces_row["faces"])
            args = {"id": session_id, "faces": faces, "since": datetime.fromtimestamp(since, UTC)}
            await cur.execute(_COUNTS, args)
            rows: dict[str, dict[str, Any]] = {
                str(row.pop("subdirectory")): row for row in await cur.fetchall()
            }
            await cur.execute(_RECENT, args)
            for recent in await cur.fetchall():
                rows.setdefault(str(recent.pop("subdirectory")), {}).update(recent)
        moving = record.state in ("discovering", "running")
        by_sub = {sub: StageCounts(**row) for sub, row in rows.items()}
        total = sum(by_sub.values(), StageCounts())
        done = record.discovery_complete

        def progress(counts: StageCounts) -> SessionProgress:
            return progress_of(counts, done, faces, window_s, moving)

        subs = [(sub, progress(by_sub.get(sub, StageCounts()))) for sub in record.subdirectories]
        return ProgressReport(progress(total), subs)


async def insert_files(conn: AsyncConnection[Any], session_id: int, files: Sequence[ScannedFileLike],
                       subdirectories: Sequence[str]) -> None:
    """Add files, each with the label of its subdirectory (ON CONFLICT DO NOTHING: a repeated
    discovery adds only what is new)."""
    if not files:
        return
    await conn.execute(INSERT_FILES, (
        [str(f.path) for f in files], list(subdirectories), [f.size for f in files],
        [f.mtime_ns for f in files], session_id,
    ))


def subdirectory_of(path: Path, root: Path, subdirectories: Sequence[str]) -> str:
    """The selected subdirectory holding path (the deepest), '' when none does."""
    try:
        relative = PurePosixPath(path.relative_to(root))
    except ValueError:
        return ""
    found = [sub for sub in subdirectories if relative.is_relative_to(sub)]
    return max(found, key=len, default="")


def check_subdirectory(raw: str) -> str:
    """A plain relative name inside the session root: no '..', not absolute, no empty parts."""
    sub = raw.rstrip("/")
    if not sub or sub.startswith("/") or "\x00" in sub:
        raise InvalidInput(f"subdirectory {raw!r} must be a relative path inside the folder")
    if any(part in ("", ".", "..") for part in sub.split("/")):
        raise InvalidInput(f"subdirectory {raw!r} must be a plain relative path (no '.', '..' or '//')")
    return sub


def _record(row: dict[str, Any]) -> SessionRecord:
    return SessionRecord(
        id=int(row["id"]), root=row["root"], subdirectories=list(row["subdirectories"]),
        include=list(row["include"]), exclude=list(row["exclude"]), priority=PRIORITIES[row["priority"]],
        origin=row["origin"], state=row["state"], discovery_complete=row["discovery_complete"],
        created_at=row["created_at"], updated_at=row["updated_at"], finished_at=row["finished_at"],
    )
