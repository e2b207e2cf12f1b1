"""The ingest service's side of sessions: discovery writes, claims with leases, and settling files.

A claim takes a few pending files of one session with FOR UPDATE SKIP LOCKED (workers never wait on
each other) and leases them to this worker. A worker extends its leases while it works; a worker that
dies stops extending them, and when they run out the files are claimed again by whoever comes next.
A file claimed more than max_attempts times without being settled kept killing its worker: it fails."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.session_records import ScannedFileLike
from imgsearch.common.db.sessions import FINISH_IF_DONE, insert_files

OPEN = "s.finished_at IS NULL AND s.cancelled_at IS NULL"
_CLAIMABLE_FILE = "(f.state = 'pending' OR (f.state = 'working' AND f.lease_until < now()))"

_CLAIM = f"""
WITH picked AS (
  SELECT f.path FROM session_files f
  WHERE f.session_id = %(id)s AND {_CLAIMABLE_FILE}
  ORDER BY f.seq LIMIT %(n)s FOR UPDATE SKIP LOCKED
)
UPDATE session_files sf SET state = 'working', owner = %(owner)s, attempts = sf.attempts + 1,
    lease_until = now() + make_interval(secs => %(lease)s)
FROM picked WHERE sf.session_id = %(id)s AND sf.path = picked.path
RETURNING sf.path, sf.size_bytes, sf.mtime_ns, sf.attempts, sf.seq
"""

# Known with the same size and mtime (another session or an earlier run read it): settled from the files row.
_SETTLE_UNCHANGED = """
UPDATE session_files sf SET
    state = CASE WHEN f.status = 'failed' THEN 'failed' ELSE 'unchanged' END,
    image_id = f.image_id, error = f.error, done_at = now(), lease_until = NULL
FROM files f
WHERE sf.session_id = %s AND sf.path = ANY(%s) AND sf.state = 'working' AND f.path = sf.path
  AND f.size_bytes = sf.size_bytes AND f.mtime_ns = sf.mtime_ns
  AND (f.status = 'failed' OR f.image_id IS NOT NULL)
RETURNING sf.path
"""


# Whoever settles a file of a session takes the session row first: two workers settling its last two
# files at once would each still see the other's file open and neither would mark the session done.
_LOCK_SESSION = "SELECT 1 FROM ingest_sessions WHERE id = %s FOR UPDATE"

# A file given back waits to be claimed again, unless its session (s) was cancelled meanwhile.
_GIVEN_BACK = ("state = CASE WHEN s.cancelled_at IS NULL THEN 'pending' ELSE 'cancelled' END,"
               " done_at = CASE WHEN s.cancelled_at IS NULL THEN NULL ELSE now() END")

_FINISH_OPEN = f"""
UPDATE ingest_sessions s SET finished_at = now(), updated_at = now()
WHERE {OPEN} AND s.discovery_complete
  AND NOT EXISTS (SELECT 1 FROM session_files f
                  WHERE f.session_id = s.id AND f.state IN ('pending', 'working'))
"""


@dataclass(frozen=True)
class ClaimedFile:
    session_id: int
    path: Path
    size: int
    mtime_ns: int
    attempts: int


@dataclass(frozen=True)
class OpenSession:
    id: int
    priority: int  # 0 high .. 3 bulk


@dataclass(frozen=True)
class DiscoveryJob:
    id: int
    root: Path
    subdirectories: tuple[str, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]


class SessionWork:
    def __init__(self, pool: AsyncConnectionPool, owner: str, lease_s: float) -> None:
        self.pool, self.owner, self.lease_s = pool, owner, lease_s

    async def claimable(self) -> list[OpenSession]:
        """Sessions that have a file to claim now and are neither paused, cancelled nor done."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT s.id, s.priority FROM ingest_sessions s WHERE {OPEN} AND NOT s.paused"
                f" AND EXISTS (SELECT 1 FROM session_files f WHERE f.session_id = s.id AND {_CLAIMABLE_FILE})"
                " ORDER BY s.priority, s.id"
            )
            return [OpenSession(int(i), int(p)) for i, p in await cur.fetchall()]

    async def claim(self, session_id: int, n: int) -> list[ClaimedFile]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                _CLAIM, {"id": session_id, "n": n, "owner": self.owner, "lease": self.lease_s}
            )
            rows = sorted(await cur.fetchall(), key=lambda row: row[4])
        return [ClaimedFile(session_id, Path(p), int(s), int(m), int(a)) for p, s, m, a, _ in rows]

    async def settle_unchanged(self, session_id: int, paths: Sequence[Path]) -> set[Path]:
        async with self.pool.connection() as conn:
            await conn.execute(_LOCK_SESSION, (session_id,))
            cur = await conn.execute(_SETTLE_UNCHANGED, (session_id, [str(p) for p in paths]))
            settled = {Path(row[0]) for row in await cur.fetchall()}
            if settled:
                await conn.execute(FINISH_IF_DONE, {"id": session_id})
        return settled

    async def finish_file(self, session_id: int, path: Path, state: str, image_id: str | None = None,
                          error: str | None = None) -> None:
        """Record the outcome of a claimed file (ingested | failed); the session is done with its last."""
        async with self.pool.connection() as conn:
            await conn.execute(_LOCK_SESSION, (session_id,))
            await conn.execute(
                "UPDATE session_files SET state = %s, image_id = %s, error = %s, done_at = now(),"
                " lease_until = NULL WHERE session_id = %s AND path = %s AND state = 'working'",
                (state, image_id, error, session_id, str(path)),
            )
            await conn.execute(FINISH_IF_DONE, {"id": session_id})

    async def finish_open_sessions(self) -> int:
        """Mark done every open session with nothing left (a safety net; settling does it as it goes)."""
        async with self.pool.connection() as conn:
            return (await conn.execute(_FINISH_OPEN)).rowcount

    async def release(self, session_id: int, path: Path, count_attempt: bool = False) -> None:
        """Give a file back to be claimed again; after a transient failure the attempt does not count.
        In a cancelled session it is cancelled instead (the session lock orders this with a cancel)."""
        async with self.pool.connection() as conn:
            await conn.execute(_LOCK_SESSION, (session_id,))
            await conn.execute(
                f"UPDATE session_files sf SET {_GIVEN_BACK}, owner = NULL, lease_until = NULL,"
                " attempts = CASE WHEN %s THEN sf.attempts ELSE greatest(sf.attempts - 1, 0) END"
                " FROM ingest_sessions s WHERE s.id = sf.session_id"
                " AND sf.session_id = %s AND sf.path = %s AND sf.state = 'working' AND sf.owner = %s",
                (count_attempt, session_id, str(path), self.owner),
            )

    async def extend_leases(self, held: Sequence[tuple[int, Path]] | None = None) -> None:
        """Extend this worker's leases: of the files in held (session id, path), or of all it owns.

        A live worker passes what it is reading: a file it could not give back (the database was away
        at that moment) is then left to run out its lease and come back, not kept forever."""
        async with self.pool.connection() as conn:
            if held is None:
                await conn.execute(
                    "UPDATE session_files SET lease_until = now() + make_interval(secs => %s)"
                    " WHERE state = 'working' AND owner = %s", (self.lease_s, self.owner),
                )
                return
            if not held:
                return
            await conn.execute(
                "UPDATE session_files sf SET lease_until = now() + make_interval(secs => %s)"
                " FROM unnest(%s::bigint[], %s::text[]) AS h(session_id, path)"
                " WHERE sf.session_id = h.session_id AND sf.path = h.path"
                " AND sf.state = 'working' AND sf.owner = %s",
                (self.lease_s, [s for s, _ in held], [str(p) for _, p in held], self.owner),
            )

    async def release_own(self) -> int:
        """At start: files this worker (by name) held when it stopped go back to pending at once."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"UPDATE session_files sf SET {_GIVEN_BACK}, owner = NULL, lease_until = NULL"
                " FROM ingest_sessions s WHERE s.id = sf.session_id"
                " AND sf.state = 'working' AND sf.owner = %s", (self.owner,),
            )
            return cur.rowcount

    async def undiscovered(self) -> list[int]:
        """Open sessions whose folder walk has not finished (after a restart: walk them again)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT s.id FROM ingest_sessions s WHERE {OPEN} AND NOT s.discovery_complete"
                " AND s.origin <> 'watch' ORDER BY s.id"  # the watcher's pass is a watch session's walk
            )
            return [int(row[0]) for row in await cur.fetchall()]

    async def discovery_job(self, session_id: int) -> DiscoveryJob | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, root, subdirectories, include, exclude FROM ingest_sessions WHERE id = %s",
                (session_id,),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        return DiscoveryJob(int(row[0]), Path(row[1]), tuple(row[2]), tuple(row[3]), tuple(row[4]))

    async def discovery_state(self, session_id: int) -> str:
        """'go', 'paused' or 'stop' (cancelled, gone, already discovered, or the watcher's)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT cancelled_at IS NOT NULL OR discovery_complete OR origin = 'watch', paused"
                " FROM ingest_sessions"
                " WHERE id = %s", (session_id,),
            )
            row = await cur.fetchone()
        if row is None or row[0]:
            return "stop"
        return "paused" if row[1] else "go"

    async def add_files(self, session_id: int, files: Sequence[ScannedFileLike], subdirectory: str) -> None:
        """Files found by the walk; in a session cancelled meanwhile they are cancelled at once (the
        session lock orders this with a cancel, which cancels the pending files it sees)."""
        async with self.pool.connection() as conn:
            await conn.execute(_LOCK_SESSION, (session_id,))
            await insert_files(conn, session_id, files, [subdirectory] * len(files))
            await conn.execute("UPDATE ingest_sessions SET updated_at = now() WHERE id = %s", (session_id,))

    async def complete_discovery(self, session_id: int) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(_LOCK_SESSION, (session_id,))
            await conn.execute(
                "UPDATE ingest_sessions SET discovery_complete = true, updated_at = now() WHERE id = %s",
                (session_id,),
            )
            await conn.execute(FINISH_IF_DONE, {"id": session_id})
