"""CameraRepository on the real PostgreSQL: cameras by images still in the library, and the counts kept
for ttl_s (every search page lists them; counting reads every image)."""

from __future__ import annotations

import hashlib

import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.cameras import CameraCount, CameraRepository

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def add_photo(pool: AsyncConnectionPool, name: str, make: str, model: str,
                    in_library: bool = True) -> None:
    image_id = hashlib.sha256(name.encode()).hexdigest()
    status = "ingested" if in_library else "failed"
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO images (id, size_bytes, camera_make, camera_model)"
                           " VALUES (%s, 1000, %s, %s)", (image_id, make, model))
        await conn.execute("INSERT INTO files (path, library_root, image_id, status)"
                           " VALUES (%s, '/l', %s, %s)", (f"/l/{name}.jpg", image_id, status))


async def test_counts_are_kept_for_ttl_then_counted_again(pool: AsyncConnectionPool) -> None:
    await add_photo(pool, "a", "Canon", "Canon EOS R6")
    await add_photo(pool, "b", "Canon", "Canon EOS R6")
    await add_photo(pool, "c", "Apple", "iPhone 12")
    await add_photo(pool, "gone", "NIKON CORPORATION", "NIKON D750", in_library=False)
    clock = Clock()
    cameras = CameraRepository(pool, ttl_s=30, clock=clock)
    first = [CameraCount("Canon EOS R6", 2), CameraCount("Apple iPhone 12", 1)]
    assert await cameras.counts() == first

    await add_photo(pool, "d", "Apple", "iPhone 12")
    await add_photo(pool, "e", "SONY", "ILCE-7M3")
    clock.now += 29
    assert await cameras.counts() == first  # kept
    clock.now += 1
    assert await cameras.counts() == [CameraCount("Apple iPhone 12", 2), CameraCount("Canon EOS R6", 2),
                                      CameraCount("SONY ILCE-7M3", 1)]
    uncached = CameraRepository(pool, ttl_s=0)  # counted on each call
    assert await uncached.counts() == await cameras.counts()
