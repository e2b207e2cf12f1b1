"""A photo deleted and put back (unchanged, same mtime) inside the bus's 24 h duplicate window, with the
ingest (and its watcher) and embed services on nats-server, PostgreSQL and qdrant-edge: the second
images.ingested and the second images.deleted are new facts, not repeats to drop, so the image is embedded
again and then removed again. Every wait polls a condition with a generous limit."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from imgsearch.common.deps import Deps
from imgsearch.common.errors import NotFound
from imgsearch.common.ids import point_id
from imgsearch.common.vectors.port import IMAGES_COLLECTION
from imgsearch.ingest.commands import request_ingest
from tests.support.faces_stack import wait_for
from tests.support.services_running import query_rows, services_running, watched_library_settings
from tests.support.tiny_clip import TinyClip

pytestmark = pytest.mark.integration
TIMEOUT_S = 90.0


@dataclass
class Library:
    root: Path
    deps: Deps

    async def rows(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        return await query_rows(self.deps, sql, *args)

    async def vector(self, image_id: str) -> bool:
        try:
            return bool(await self.deps.vectors.retrieve(IMAGES_COLLECTION, [point_id(image_id)]))
        except NotFound:  # the collection is made with the first vector
            return False

    async def embedded(self, image_id: str) -> bool:
        return await self.vector(image_id) and bool(
            await self.rows("SELECT 1 FROM images WHERE id = %s AND embed_status = 'embedded'", image_id))

    async def gone(self, image_id: str) -> bool:
        return not await self.rows("SELECT 1 FROM images WHERE id = %s", image_id) and not (
            await self.vector(image_id))


def build_library(tmp_path: Path, shared_data: Path) -> Path:
    root = tmp_path.resolve() / "library"
    (root / "2023").mkdir(parents=True)
    for name in ("beach_sand.jpg", "cat_black.jpg"):  # two: the folder stays known after one is deleted
        shutil.copy2(shared_data / "scenes" / "photoprism" / name, root / "2023" / name)
    return root


@pytest.fixture
async def library(nats_url: str, pg_url: str, tiny_clip: TinyClip, tmp_path: Path, shared_data: Path
                  ) -> AsyncIterator[Library]:
    import imgsearch.embed.bootstrap as embed_service
    import imgsearch.ingest.bootstrap as ingest_service

    root = await asyncio.to_thread(build_library, tmp_path, shared_data)
    settings = watched_library_settings(tmp_path / "data", root, tiny_clip)
    async with services_running(settings, nats_url, pg_url, "test-comes-back",
                                [ingest_service.serve, embed_service.serve]) as deps:
        await request_ingest(deps.bus, root)
        running = Library(root, deps)

        async def both_embedded() -> bool:
            ids = [str(r[0]) for r in await running.rows("SELECT id FROM images")]
            return len(ids) == 2 and all([await running.embedded(i) for i in ids])

        await wait_for(both_embedded, TIMEOUT_S, "the library's 2 images embedded")
        yield running


async def test_a_file_deleted_and_put_back_is_embedded_again_and_removed_again(
    library: Library, tmp_path: Path
) -> None:
    path = library.root / "2023" / "beach_sand.jpg"
    [(image_id,)] = await library.rows("SELECT image_id FROM files WHERE path = %s", str(path))
    image_id = str(image_id)
    kept = tmp_path / "kept.jpg"
    await asyncio.to_thread(shutil.copy2, path, kept)

    await asyncio.to_thread(path.unlink)
    await wait_for(lambda: library.gone(image_id), TIMEOUT_S, "the deleted image's row and vector to go")

    await asyncio.to_thread(shutil.copy2, kept, path)  # the same bytes and mtime, at the same path
    await wait_for(lambda: library.embedded(image_id), TIMEOUT_S, "the file put back to be embedded again")

    await asyncio.to_thread(path.unlink)
    await wait_for(lambda: library.gone(image_id), TIMEOUT_S, "the image deleted again to go again")
    [(left,)] = await library.rows("SELECT count(*) FROM images")
    assert left == 1  # the other photo stays
