"""API keys for tests that run the gateway with authentication on."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from imgsearch.common.db.api_keys import ApiKeyRepository
from imgsearch.common.db.pool import open_pool


def create_api_key(pg_url: str, name: str) -> str:
    """A new key in the database at pg_url (migrated first if needed), as `imgsearch keys create` makes it.

    Synchronous, and safe to call from inside a running event loop (it runs on its own thread and loop)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, _create(pg_url, name)).result()


async def _create(pg_url: str, name: str) -> str:
    pool = await open_pool(pg_url, 1, 1)
    try:
        _, key = await ApiKeyRepository(pool).create(name)
        return key
    finally:
        await pool.close()
