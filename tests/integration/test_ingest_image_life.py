"""The image row's life from IngestRepository.upsert_image against the real PostgreSQL: the same while the
row lives (a re-read after a crash republishes under the same message id), another once the row was
deleted and made again (the file put back is a new images.ingested, not a repeat)."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.ingest.probe import ImageInfo
from imgsearch.ingest.repository import IngestRepository

pytestmark = pytest.mark.integration
INFO = ImageInfo("JPEG", 4, 3, 1, None, None, None, None, None, None, None)


async def test_an_image_row_keeps_its_life_until_it_is_made_again(pool: AsyncConnectionPool) -> None:
    repo = IngestRepository(pool)
    first = await repo.upsert_image("img", 10, INFO, Path("/thumbs/img.jpg"))
    assert await repo.upsert_image("img", 10, INFO, Path("/thumbs/img.jpg")) == first
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM images WHERE id = 'img'")
    again = await repo.upsert_image("img", 10, INFO, Path("/thumbs/img.jpg"))
    assert again != first
    assert await repo.upsert_image("img", 10, INFO, Path("/thumbs/img.jpg")) == again
