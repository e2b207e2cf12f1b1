"""The watcher's ingest sessions (origin "watch"), filled chunk by chunk while a pass walks.

A pass opens its root's session with the first chunk to ingest, adds the next chunks as it finds them and
closes it after the walk. Until closed the session is "discovering", so the ingest service cannot mark it
done between two chunks; the discovery walker leaves watch sessions alone (the pass is their walk). A
pass cut short (PostgreSQL or the bus away, a restart) leaves its session open: the next pass over that root
closes it first (holding the root's lock, imgsearch.ingest.watch_locks: no other process's pass is filling
it), and walks again for the files it had not reached. An ingest service started with watching off closes
them all once; one started with roots closes those of roots no longer configured."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.session_records import ScannedFileLike, priority_value
from imgsearch.common.db.sessions import FINISH_IF_DONE, insert_files

ORIGIN = "watch"
_OPEN_WALK = ("origin = 'watch' AND NOT discovery_complete AND finished_at IS NULL"
              " AND cancelled_at IS NULL")


class WatchSessions:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def open(self, root: Path, priority: str, files: Sequence[ScannedFileLike]) -> int:
        """A new watch session over root holding these files, still discovering."""
        level = priority_value(priority)
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO ingest_sessions (root, priority, origin, discovery_complete)"
                " VALUES (%s, %s, %s, false) RETURNING id", (str(root), level, ORIGIN),
            )
            row = await cur.fetchone()
            assert row is not None
            session_id = int(row[0])
            await insert_files(conn, session_id, files, [""] * len(files))
        return session_id

    async def add(self, session_id: int, files: Sequence[ScannedFileLike]) -> bool:
        """Add files to a session this pass opened; False (nothing added) when it is no longer open for
        files (closed as left open by another watcher): the caller opens a new one."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT 1 FROM ingest_sessions WHERE id = %s AND NOT discovery_complete FOR UPDATE",
                (session_id,),
            )
            if await cur.fetchone() is None:
                return False
            await insert_files(conn, session_id, files, [""] * len(files))
            await conn.execute("UPDATE ingest_sessions SET updated_at = now() WHERE id = %s", (session_id,))
        return True

    async def close(self, session_id: int) -> None:
        """The pass has added its last chunk: discovery complete (done at once when nothing is left)."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "UPDATE ingest_sessions SET discovery_complete = true, updated_at = now() WHERE id = %s",
                (session_id,),
            )
            await conn.execute(FINISH_IF_DONE, {"id": session_id})

    async def close_left_open(self, roots: Sequence[Path] | None = None) -> list[int]:
        """Close the watch sessions an interrupted pass left discovering over these roots (None: any
        root). Only with those roots' locks held: another process's pass may be filling one."""
        return await self._close_where("", [] if roots is None else [str(r) for r in roots], roots is None)

    async def close_outside(self, roots: Sequence[Path]) -> list[int]:
        """Close the watch sessions left discovering over roots not among these (no longer watched)."""
        return await self._close_where("NOT ", [str(r) for r in roots], False)

    async def _close_where(self, negate: str, roots: list[str], every: bool) -> list[int]:
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"UPDATE ingest_sessions SET discovery_complete = true, updated_at = now()"
                f" WHERE {_OPEN_WALK} AND (%s OR {negate}(root = ANY(%s))) RETURNING id",
                (every, roots),
            )
            ids = [int(row[0]) for row in await cur.fetchall()]
            for session_id in ids:
                await conn.execute(FINISH_IF_DONE, {"id": session_id})
        return ids
