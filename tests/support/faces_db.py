"""Rows for tests of the people and faces repositories: images inserted directly (as ingest would), faces
through FaceRepository.replace_image_faces (as detection would), clusters through a clustering run."""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.face_records import ClusteringRun, NewFace
from imgsearch.common.db.faces import FaceRepository
from imgsearch.common.db.people import PeopleRepository
from imgsearch.common.db.pool import open_pool
from imgsearch.common.ids import face_id

DIM = 4


def embedding(seed: int) -> bytes:
    """A unit float32 vector, different for each seed."""
    values = [math.sin(seed * 1.7 + k) + 1.5 for k in range(DIM)]
    norm = math.sqrt(sum(v * v for v in values))
    return struct.pack(f"<{DIM}f", *(v / norm for v in values))


def new_face(image_id: str, slot: int, quality: float = 0.8, age: float | None = None,
             seed: int | None = None) -> NewFace:
    """The face in position ``slot`` of a photo (its box, hence its id, depends on the slot only)."""
    box = (10 + 100 * slot, 10, 90 + 100 * slot, 90)
    return NewFace(
        id=face_id(image_id, "test", box), box=box, det_score=0.9, quality=quality, sharpness=0.5,
        yaw=0.0, pitch=0.0, roll=0.0, landmarks=tuple(float(k) for k in range(10)), age=age, sex=None,
        embedding=embedding(slot if seed is None else seed), crop_path=f"{image_id[:8]}/{slot}.jpg",
    )


@dataclass
class FacesDb:
    pool: AsyncConnectionPool
    people: PeopleRepository
    faces: FaceRepository

    @classmethod
    @asynccontextmanager
    async def open(cls, pg_url: str) -> AsyncIterator[FacesDb]:
        """A pool over a fresh database (open_pool applies the migrations) and both repositories."""
        pool = await open_pool(pg_url, 1, 6)
        try:
            yield cls(pool, PeopleRepository(pool), FaceRepository(pool))
        finally:
            await pool.close()

    async def image(self, name: str, taken_at: datetime | None = None) -> str:
        image_id = hashlib.sha256(name.encode()).hexdigest()
        async with self.pool.connection() as conn:
            await conn.execute("INSERT INTO images (id, size_bytes, taken_at) VALUES (%s, 1000, %s)",
                               (image_id, taken_at))
        return image_id

    async def photo(self, name: str, count: int = 1, taken_at: datetime | None = None,
                    qualities: Sequence[float] | None = None,
                    ages: Sequence[float | None] | None = None) -> tuple[str, list[str]]:
        """A photo with ``count`` detected faces; returns its id and the face ids (by slot)."""
        image_id = await self.image(name, taken_at)
        faces = [new_face(image_id, slot, quality=(qualities or [0.8] * count)[slot],
                          age=(ages or [None] * count)[slot]) for slot in range(count)]
        await self.faces.replace_image_faces(image_id, faces)
        return image_id, [f.id for f in faces]

    async def cluster(self, face_ids: list[str]) -> int:
        """Put these faces in one new cluster, the way a clustering run does."""
        [cluster_id] = await self.faces.new_cluster_ids(1)
        run = await self.faces.start_run(ClusteringRun(full=False, reason="test", params={}))
        await self.faces.save_clusters(run, dict.fromkeys(face_ids, cluster_id), new_clusters=1, noise=0)
        return cluster_id

    async def row(self, face_id: str) -> dict[str, Any]:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute("SELECT * FROM faces WHERE id = %s", (face_id,))
            row = await cur.fetchone()
        assert row is not None, face_id
        return row

    async def people_of(self, face_ids: list[str]) -> list[int | None]:
        return [(await self.row(f))["person_id"] for f in face_ids]

    async def rejections(self) -> set[tuple[str, int]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT face_id::text, person_id FROM face_rejections")
            return {(str(f), int(p)) for f, p in await cur.fetchall()}

    async def scalar(self, query: str, *params: object) -> Any:
        async with self.pool.connection() as conn:
            cur = await conn.execute(query, params)
            row = await cur.fetchone()
        assert row is not None
        return row[0]
