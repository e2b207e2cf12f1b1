"""The library watcher with the real services (ingest, embed with the tiny CLIP, faces with dlib) on
nats-server, PostgreSQL and qdrant-edge: a deleted file takes its vector, faces and crops with it; a moved
file keeps its image and is found under its new folder; a new file is picked up through inotify while the
periodic rescan is an hour away. Every wait polls a condition with a generous limit."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from imgsearch.common.deps import Deps
from imgsearch.common.ids import point_id
from imgsearch.common.settings import (
    ClusteringSettings,
    FacesSettings,
    Settings,
)
from imgsearch.common.vectors.port import FACES_COLLECTION, IMAGES_COLLECTION, SearchFilter
from imgsearch.ingest.commands import request_ingest
from tests.support.faces_stack import wait_for
from tests.support.services_running import query_rows, services_running, watched_library_settings
from tests.support.tiny_clip import TinyClip

pytestmark = pytest.mark.integration
TIMEOUT_S = 120.0


@dataclass
class Library:
    root: Path
    settings: Settings
    deps: Deps

    async def rows(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        return await query_rows(self.deps, sql, *args)

    async def image_of(self, path: Path) -> str | None:
        rows = await self.rows(
            "SELECT image_id FROM files WHERE path = %s AND status = 'ingested'", str(path)
        )
        return str(rows[0][0]) if rows else None


def build_library(tmp_path: Path, shared_data: Path) -> Path:
    root = tmp_path.resolve() / "library"
    scenes = shared_data / "scenes" / "photoprism"
    (root / "2023").mkdir(parents=True)
    (root / "people").mkdir()
    for name in ("beach_sand.jpg", "cat_black.jpg"):
        shutil.copy2(scenes / name, root / "2023" / name)
    shutil.copy2(shared_data / "faces" / "lfw" / "Harrison_Ford" / "Harrison_Ford_0001.jpg",
                 root / "people" / "ford.jpg")
    return root


@pytest.fixture
async def library(nats_url: str, pg_url: str, tiny_clip: TinyClip, tmp_path: Path, shared_data: Path
                  ) -> AsyncIterator[Library]:
    import imgsearch.embed.bootstrap as embed_service
    import imgsearch.faces.bootstrap as faces_service
    import imgsearch.ingest.bootstrap as ingest_service

    root = await asyncio.to_thread(build_library, tmp_path, shared_data)
    settings = watched_library_settings(tmp_path / "data", root, tiny_clip,
                                        faces=FacesSettings(backend="dlib", workers=2),
                                        clustering=ClusteringSettings(interval_s=0))
    async with services_running(settings, nats_url, pg_url, "test-watch",
                                [ingest_service.serve, embed_service.serve, faces_service.serve]) as deps:
        running = Library(root, settings, deps)
        await request_ingest(deps.bus, root)
        await wait_for(lambda: _all_done(running, 3), TIMEOUT_S, "the library's 3 images embedded with faces")
        yield running


async def _all_done(library: Library, images: int) -> bool:
    [(done,)] = await library.rows(
        "SELECT count(*) FROM images WHERE embed_status = 'embedded' AND faces_status = 'done'"
    )
    return done == images


async def test_a_deleted_file_takes_its_vector_faces_and_crops(library: Library) -> None:
    path = library.root / "people" / "ford.jpg"
    image_id = await library.image_of(path)
    assert image_id is not None
    rows = await library.rows("SELECT id::text FROM faces WHERE image_id = %s", image_id)
    faces = [str(r[0]) for r in rows]
    assert faces, "dlib finds Harrison Ford's face"
    assert len(await library.deps.vectors.retrieve(FACES_COLLECTION, faces)) == len(faces)
    derived = [library.settings.face_crops_dir / str(r[0])
             for r in await library.rows("SELECT crop_path FROM faces WHERE image_id = %s", image_id)]
    [(thumbnail_path,)] = await library.rows("SELECT thumbnail_path FROM images WHERE id = %s", image_id)
    derived.append(Path(str(thumbnail_path)))  # crops and thumbnail go with the image
    assert all(file.is_file() for file in derived)

    await asyncio.to_thread(path.unlink)

    async def gone() -> bool:
        vectors = library.deps.vectors
        return (
            not await library.rows("SELECT 1 FROM images WHERE id = %s", image_id)
            and not await library.rows("SELECT 1 FROM faces WHERE image_id = %s", image_id)
            and not await vectors.retrieve(IMAGES_COLLECTION, [point_id(image_id)])
            and not await vectors.retrieve(FACES_COLLECTION, faces)
            and not any(file.exists() for file in derived)
        )

    await wait_for(gone, TIMEOUT_S, "the deleted image's rows, vector, face points and crops to go")
    assert await library.deps.vectors.count(IMAGES_COLLECTION) == 2  # the others stay


async def test_a_moved_file_keeps_its_image_and_is_found_under_its_new_folder(library: Library) -> None:
    old = library.root / "2023" / "cat_black.jpg"
    new_folder = library.root / "people" / "pets"
    new = new_folder / "cat.jpg"
    image_id = await library.image_of(old)
    assert image_id is not None

    def move() -> None:
        new_folder.mkdir()
        os.rename(old, new)

    await asyncio.to_thread(move)

    async def moved() -> bool:
        if await library.image_of(new) != image_id or await library.image_of(old) is not None:
            return False
        points = await library.deps.vectors.retrieve(IMAGES_COLLECTION, [point_id(image_id)])
        return bool(points) and str(new_folder) in points[0].payload["folders"]

    await wait_for(moved, TIMEOUT_S, "the moved file's row and vector folders to follow it")
    [point] = await library.deps.vectors.retrieve(IMAGES_COLLECTION, [point_id(image_id)])
    assert str(library.root / "2023") not in point.payload["folders"]
    hits = await library.deps.vectors.search(IMAGES_COLLECTION, list(point.vector), limit=5,
                                             filter=SearchFilter(folder=str(new_folder)))
    assert [hit.id for hit in hits] == [point_id(image_id)]
    assert await library.rows("SELECT 1 FROM images WHERE id = %s", image_id)


async def test_a_new_file_is_picked_up_by_file_system_events(library: Library, shared_data: Path) -> None:
    new = library.root / "2023" / "bitcoin_gold.jpg"
    await asyncio.to_thread(shutil.copy2, shared_data / "scenes" / "photoprism" / "bitcoin_gold.jpg", new)

    async def ingested() -> bool:
        return await library.image_of(new) is not None

    await wait_for(ingested, TIMEOUT_S, "the new file to be ingested by a watch session")
    [(origin,)] = await library.rows(
        "SELECT s.origin FROM ingest_sessions s JOIN session_files f ON f.session_id = s.id"
        " WHERE f.path = %s",
        str(new),
    )
    assert origin == "watch"
    await wait_for(lambda: _all_done(library, 4), TIMEOUT_S, "the new image embedded with faces")
