"""Async connection pool, opened with migrations applied."""

from __future__ import annotations

import psycopg
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.migrations import migrate
from imgsearch.common.errors import Unavailable


async def open_pool(url: str, min_size: int = 1, max_size: int = 8, run_migrations: bool = True
                    ) -> AsyncConnectionPool:
    if run_migrations:
        try:
            async with await psycopg.AsyncConnection.connect(url) as conn:
                await migrate(conn)  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            raise Unavailable(f"PostgreSQL at {url!r} is not reachable: {exc}") from exc
    pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False)
    await pool.open(wait=True, timeout=30)
    return pool
