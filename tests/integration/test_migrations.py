from __future__ import annotations

import asyncio

import psycopg
import pytest

from imgsearch.common.db.migrations import load_migrations, migrate

pytestmark = pytest.mark.integration


async def test_migrations_apply_once_even_when_started_concurrently(pg_url: str) -> None:
    async def run() -> list[str]:
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            return await migrate(conn)  # type: ignore[arg-type]

    results = await asyncio.gather(run(), run(), run())
    names = [m.name for m in load_migrations()]
    assert sorted(results, key=len)[-1] == names  # one starter applied everything
    assert sum(len(r) for r in results) == len(names)  # the others applied nothing
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM schema_migrations")
        assert (await cur.fetchone()) == (len(names),)
        cur = await conn.execute("SELECT to_regclass('images'), to_regclass('files')")
        assert (await cur.fetchone()) == ("images", "files")
