"""WatchRepository against the real PostgreSQL: a removal drops the image only with its last path (faces
cascade, their people reported), a move keeps the image, and folder listings escape LIKE wildcards."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.image_paths import ImagePaths
from imgsearch.ingest.scan import ScannedFile
from imgsearch.ingest.watch_repository import FileRow, WatchRepository

pytestmark = pytest.mark.integration
ROOT = "/lib"


async def add(pool: AsyncConnectionPool, image_id: str, *paths: str, faces: tuple[int | None, ...] = ()
              ) -> None:
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO images (id, size_bytes, thumbnail_path) VALUES (%s, 10, %s)"
                           " ON CONFLICT DO NOTHING", (image_id, f"/thumbs/{image_id}.webp"))
        for path in paths:
            await conn.execute(
                "INSERT INTO files (path, library_root, image_id, size_bytes, mtime_ns, status)"
                " VALUES (%s, %s, %s, 10, 1, 'ingested')", (path, ROOT, image_id),
            )
        for index, person in enumerate(faces):
            if person is not None:
                await conn.execute("INSERT INTO people (id, name) VALUES (%s, 'p') ON CONFLICT DO NOTHING",
                                   (person,))
            await conn.execute(
                "INSERT INTO faces (id, image_id, x1, y1, x2, y2, det_score, quality, embedding, person_id)"
                " VALUES (%s, %s, %s, 0, %s, 10, 0.9, 0.8, '\\x00', %s)",
                (uuid.uuid4(), image_id, index * 20, index * 20 + 10, person),
            )


async def test_the_last_path_takes_the_image_and_its_faces(pool: AsyncConnectionPool) -> None:
    repo, paths = WatchRepository(pool), ImagePaths(pool)
    await add(pool, "img", "/lib/a/x.jpg", "/lib/b/x.jpg", faces=(7, None))
    first = await repo.remove("/lib/a/x.jpg")
    assert first is not None and not first.image_removed and first.remaining == (("/lib/b/x.jpg", ROOT),)
    assert await paths.of("img") == [("/lib/b/x.jpg", ROOT)]
    last = await repo.remove("/lib/b/x.jpg")
    assert last is not None and last.image_removed and last.thumbnail == "/thumbs/img.webp"
    assert len(last.face_ids) == 2 and last.person_ids == (7,)
    assert await paths.of("img") is None
    async with pool.connection() as conn:
        assert await (await conn.execute("SELECT count(*) FROM faces")).fetchone() == (0,)
    assert await repo.remove("/lib/b/x.jpg") is None  # again: nothing left to do


async def test_a_failed_file_row_just_goes(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO files (path, library_root, status, error) VALUES"
                           " ('/lib/bad.jpg', '/lib', 'failed', 'truncated')")
    repo = WatchRepository(pool)
    assert await repo.remove("/lib/bad.jpg") is None
    assert await repo.rows(["/lib/bad.jpg"]) == {}


async def test_a_move_keeps_the_image_under_the_new_path(pool: AsyncConnectionPool) -> None:
    repo = WatchRepository(pool)
    await add(pool, "img", "/lib/a/x.jpg")
    assert await repo.move("/lib/a/x.jpg", ScannedFile(Path("/lib/c/y.jpg"), 10, 5), Path(ROOT))
    rows = await repo.rows(["/lib/a/x.jpg", "/lib/c/y.jpg"])
    assert rows == {"/lib/c/y.jpg": FileRow("/lib/c/y.jpg", 10, 5, "img")}
    assert not await repo.move("/lib/a/x.jpg", ScannedFile(Path("/lib/d/z.jpg"), 10, 5), Path(ROOT))
    assert await repo.imported_folders(ROOT) == {"/lib/c"}


async def test_rows_under_a_folder_are_its_own_only(pool: AsyncConnectionPool) -> None:
    repo = WatchRepository(pool)
    await add(pool, "one", "/lib/a_b/1.jpg", "/lib/a_b/deep/2.jpg", "/lib/axb/3.jpg", "/lib/a_bc/4.jpg")
    batches = [batch async for batch in repo.rows_under(ROOT, "/lib/a_b", 1)]
    assert [row.path for batch in batches for row in batch] == ["/lib/a_b/1.jpg", "/lib/a_b/deep/2.jpg"]
    assert all(len(batch) == 1 for batch in batches)
