"""One watcher pass per library root at a time, across processes (several ingest replicas watch the same
library): a PostgreSQL session-level advisory lock per root, taken with pg_try_advisory_lock on one
dedicated connection (outside the pool) for the whole pass and released after it. A root whose lock another
process holds is skipped by this pass. Should the connection die, PostgreSQL releases the locks with it."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import psycopg
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)


def root_lock_key(root: Path) -> int:
    """A stable signed 64-bit key for the root (pg_advisory_lock's bigint), the same in every process."""
    digest = hashlib.blake2b(b"imgsearch.watch:" + str(root).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class RootLocks:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    @contextlib.asynccontextmanager
    async def hold(self, roots: Sequence[Path]) -> AsyncIterator[set[Path]]:
        """Yield the roots whose lock this pass got (the others are another process's now)."""
        if not roots:
            yield set()
            return
        conn = await psycopg.AsyncConnection.connect(await self._conninfo(), autocommit=True)
        held: set[Path] = set()
        try:
            for root in roots:
                cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (root_lock_key(root),))
                row = await cur.fetchone()
                if row is not None and row[0]:
                    held.add(root)
            yield held
        finally:
            try:
                if held and not conn.closed:
                    await conn.execute("SELECT pg_advisory_unlock_all()")
            except Exception as exc:  # closing the connection below releases them all the same
                log.debug("watch locks not released by query (%r): closing their connection", exc)
            finally:
                await conn.close()

    async def _conninfo(self) -> str:
        """The pool's own connection string (psycopg_pool also takes a function giving it)."""
        info = self.pool.conninfo
        if not callable(info):
            return str(info)
        got = info()
        return str(await got) if inspect.isawaitable(got) else str(got)
