"""What reconcile reads from and writes to PostgreSQL: keyset pages of images (also those without
perceptual hashes) and faces, the details an images.ingested event needs, and the embed status of
re-published images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.face_rows import known_face_uuids
from imgsearch.common.db.images import ImageDetails


@dataclass(frozen=True)
class ImageRow:
    id: str
    embed_status: str  # pending | embedded | failed


@dataclass(frozen=True)
class IngestedImage(ImageDetails):
    """An image as the ingest service describes it in images.ingested."""

    files: list[tuple[str, str]]  # (path, library root) of every ingested file holding it, by path


class ReconcileRepository:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def count_images(self) -> int:
        return await self._count("SELECT count(*) FROM images WHERE ingest_status = 'ingested'")

    async def image_page(self, after: str, limit: int) -> list[ImageRow]:
        """Ingested images with an id above ``after`` ('' for the first page), ordered by id."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, embed_status FROM images WHERE ingest_status = 'ingested' AND id > %s"
                " ORDER BY id LIMIT %s",
                (after, limit),
            )
            return [ImageRow(str(i), str(status)) for i, status in await cur.fetchall()]

    async def known_images(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT id FROM images WHERE id = ANY(%s)", (list(ids),))
            return {str(row[0]) for row in await cur.fetchall()}

    async def ingested_images(self, ids: Sequence[str]) -> list[IngestedImage]:
        if not ids:
            return []
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT i.id, i.size_bytes, i.width, i.height, i.format, i.taken_at, i.taken_at_source,"
                " i.gps_lat, i.gps_lon, i.camera_make, i.camera_model,"
                " COALESCE(array_agg(f.path ORDER BY f.path) FILTER (WHERE f.path IS NOT NULL), '{}'),"
                " COALESCE(array_agg(f.library_root ORDER BY f.path) FILTER (WHERE f.path IS NOT NULL), '{}')"
                " FROM images i LEFT JOIN files f ON f.image_id = i.id AND f.status = 'ingested'"
                " WHERE i.id = ANY(%s) GROUP BY i.id ORDER BY i.id",
                (list(ids),),
            )
            rows = await cur.fetchall()
        return [
            IngestedImage(
                id=str(i), size_bytes=int(size), width=width, height=height, format=fmt, taken_at=taken_at,
                taken_at_source=source, gps_lat=lat, gps_lon=lon, camera_make=make, camera_model=model,
                files=list(zip(paths, roots, strict=True)),
            )
            for i, size, width, height, fmt, taken_at, source, lat, lon, make, model, paths, roots in rows
        ]

    async def mark_pending(self, ids: Sequence[str]) -> None:
        """Re-published images wait for the embed worker again."""
        if not ids:
            return
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE images SET embed_status = 'pending', embed_error = NULL, updated_at = now()"
                " WHERE id = ANY(%s) AND embed_status <> 'pending'",
                (list(ids),),
            )

    async def unhashed_page(self, after: str, limit: int) -> list[tuple[str, str | None]]:
        """(id, thumbnail_path) of ingested images without perceptual hashes, id above ``after``, by id."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT i.id, i.thumbnail_path FROM images i WHERE i.ingest_status = 'ingested' AND i.id > %s"
                " AND NOT EXISTS (SELECT 1 FROM image_hashes h WHERE h.image_id = i.id)"
                " ORDER BY i.id LIMIT %s",
                (after, limit),
            )
            return [(str(i), None if thumb is None else str(thumb)) for i, thumb in await cur.fetchall()]

    async def count_faces(self) -> int:
        return await self._count("SELECT count(*) FROM faces")

    async def face_page(self, after: str | None, limit: int) -> list[str]:
        """Face ids above ``after`` (None for the first page), ordered by id."""
        async with self.pool.connection() as conn:
            if after is None:
                cur = await conn.execute("SELECT id::text FROM faces ORDER BY id LIMIT %s", (limit,))
            else:
                cur = await conn.execute(
                    "SELECT id::text FROM faces WHERE id > %s::uuid ORDER BY id LIMIT %s", (after, limit)
                )
            return [str(row[0]) for row in await cur.fetchall()]

    async def known_faces(self, ids: Sequence[str]) -> set[str]:
        uuids = known_face_uuids(ids)
        if not uuids:
            return set()
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT id::text FROM faces WHERE id = ANY(%s)", (uuids,))
            return {str(row[0]) for row in await cur.fetchall()}

    async def _count(self, query: str) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(query)
            row = await cur.fetchone()
        return int(row[0]) if row else 0
