"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.pool import open_pool


@pytest.fixture
async def pool(pg_url: str) -> AsyncIterator[AsyncConnectionPool]:
    """A pool on the test's own database, migrated."""
    opened = await open_pool(pg_url)
    try:
        yield opened
    finally:
        await opened.close()
