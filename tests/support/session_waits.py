"""Waiting on ingest sessions in tests: until a number of sessions exist and every one has ended."""

from __future__ import annotations

import asyncio

from psycopg_pool import AsyncConnectionPool


async def open_sessions(pool: AsyncConnectionPool) -> tuple[int, int]:
    """(sessions, sessions not yet done or cancelled)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE finished_at IS NULL AND cancelled_at IS NULL)"
            " FROM ingest_sessions"
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def sessions_done(pool: AsyncConnectionPool, at_least: int = 1, timeout_s: float = 120.0) -> None:
    """Until at least ``at_least`` sessions exist and none is open (the ingest stage is over)."""
    async with asyncio.timeout(timeout_s):
        while True:
            total, still_open = await open_sessions(pool)
            if total >= at_least and still_open == 0:
                return
            await asyncio.sleep(0.05)
