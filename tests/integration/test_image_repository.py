"""ImageRepository reads on the real PostgreSQL: get_many answers a page of ids in one query, with each
image's paths, and leaves out ids it does not know."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.images import ImageRepository

pytestmark = pytest.mark.integration

TAKEN = datetime(2019, 7, 14, 9, 30, tzinfo=UTC)


def image_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


async def add_image(pool: AsyncConnectionPool, name: str, paths: list[str], taken_at: datetime | None = None,
                    camera: tuple[str, str] | None = None, embed_status: str = "pending") -> str:
    found = image_id(name)
    make, model = camera or (None, None)
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO images (id, size_bytes, taken_at, camera_make, camera_model, embed_status)"
            " VALUES (%s, 1000, %s, %s, %s, %s)", (found, taken_at, make, model, embed_status))
        for path in paths:
            await conn.execute("INSERT INTO files (path, library_root, image_id, status)"
                               " VALUES (%s, '/library', %s, 'ingested')", (path, found))
    return found


async def test_get_many_reads_each_known_image_with_its_paths(pool: AsyncConnectionPool) -> None:
    beach = await add_image(pool, "beach", ["/library/b/beach.jpg", "/library/a/beach-copy.jpg"],
                            TAKEN, ("Canon", "EOS R6"))
    street = await add_image(pool, "street", ["/library/street.jpg"], embed_status="embedded")
    orphan = await add_image(pool, "orphan", [])  # its files went away: no paths, still an image
    await add_image(pool, "other", ["/library/other.jpg"])
    repo = ImageRepository(pool)

    found = await repo.get_many([street, image_id("never-ingested"), beach, orphan, beach])

    assert set(found) == {beach, street, orphan}  # unknown ids left out, a repeated id once
    assert found[beach].paths == ["/library/a/beach-copy.jpg", "/library/b/beach.jpg"]  # sorted
    assert found[beach].taken_at == TAKEN
    assert (found[beach].camera_make, found[beach].camera_model) == ("Canon", "EOS R6")
    assert found[street].paths == ["/library/street.jpg"] and found[street].embed_status == "embedded"
    assert found[orphan].paths == [] and found[orphan].taken_at is None
    assert found[beach] == await repo.get(beach)  # the same record as the single read


async def test_get_many_of_nothing_or_unknown_ids_is_empty(pool: AsyncConnectionPool) -> None:
    await add_image(pool, "beach", ["/library/beach.jpg"])
    repo = ImageRepository(pool)
    assert await repo.get_many([]) == {}
    assert await repo.get_many([image_id("missing"), "not even a hash"]) == {}
    assert await repo.get(image_id("missing")) is None
