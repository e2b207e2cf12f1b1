"""images.deleted message ids against the real PostgreSQL: a removal announced twice (the bus was away)
keeps its id, while the same path or image removed again after it came back (inside the bus's 24 h
duplicate window) gets a new one, for the removed image, for a path whose image stays, and for a move."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from google.protobuf.message import Message
from psycopg_pool import AsyncConnectionPool

from imgsearch.ingest.removals import announce
from imgsearch.ingest.scan import ScannedFile
from imgsearch.ingest.watch_repository import Removal, WatchRepository

pytestmark = pytest.mark.integration
ROOT = "/lib"


@dataclass
class Publisher:
    ids: list[str] = field(default_factory=list)

    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool:
        self.ids.append(msg_id)
        return True


async def ingest(pool: AsyncConnectionPool, image_id: str, *paths: str) -> None:
    """The rows an ingest makes (each in its own transaction, as the ingest does)."""
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO images (id, size_bytes) VALUES (%s, 10) ON CONFLICT DO NOTHING",
                           (image_id,))
    for path in paths:
        async with pool.connection() as conn:
            await conn.execute(
                "INSERT INTO files (path, library_root, image_id, size_bytes, mtime_ns, status)"
                " VALUES (%s, %s, %s, 10, 1, 'ingested')", (path, ROOT, image_id),
            )


async def removed(repo: WatchRepository, path: str) -> Removal:
    removal = await repo.remove(path)
    assert removal is not None
    return removal


async def test_a_removal_in_a_later_life_is_a_new_message(pool: AsyncConnectionPool, tmp_path: Path) -> None:
    repo, publisher = WatchRepository(pool), Publisher()
    await ingest(pool, "img", "/lib/a/x.jpg", "/lib/b/x.jpg")
    kept = await removed(repo, "/lib/a/x.jpg")
    await announce(publisher, kept, "deleted", tmp_path)
    await announce(publisher, kept, "deleted", tmp_path)  # announced again after a failed publish
    assert not kept.image_removed and publisher.ids[0] == publisher.ids[1]

    await ingest(pool, "img", "/lib/a/x.jpg")  # put back: the image stays, the path comes and goes again
    await announce(publisher, await removed(repo, "/lib/a/x.jpg"), "deleted", tmp_path)
    assert publisher.ids[2] != publisher.ids[1]

    first_life = await removed(repo, "/lib/b/x.jpg")
    await ingest(pool, "img", "/lib/b/x.jpg")  # the image was removed; it comes back at the same path
    second_life = await removed(repo, "/lib/b/x.jpg")
    assert first_life.image_removed and second_life.image_removed
    await announce(publisher, first_life, "deleted", tmp_path)
    await announce(publisher, second_life, "deleted", tmp_path)
    assert len(set(publisher.ids)) == 4


async def test_a_move_back_and_forth_is_a_new_message_each_time(pool: AsyncConnectionPool,
                                                                tmp_path: Path) -> None:
    repo, publisher = WatchRepository(pool), Publisher()
    await ingest(pool, "img", "/lib/a/x.jpg")
    for source, target in (("/lib/a/x.jpg", "/lib/b/x.jpg"), ("/lib/b/x.jpg", "/lib/a/x.jpg"),
                           ("/lib/a/x.jpg", "/lib/b/x.jpg")):
        row = (await repo.rows([source]))[source]
        assert await repo.move(source, ScannedFile(Path(target), 10, 1), Path(ROOT))
        await announce(publisher, Removal(source, "img", False, life=row.seen), "moved", tmp_path, target)
    assert len(set(publisher.ids)) == 3
