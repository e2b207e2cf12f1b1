"""Image metadata in PostgreSQL: the read side every service uses, and the stage-status writes.

The ingest-specific writes (files, upsert of a probed image) live in imgsearch.ingest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool


@dataclass(frozen=True)
class ImageDetails:
    """What an image row says about the image itself (read by ingest from the file), by the image's id."""

    id: str
    size_bytes: int
    width: int | None
    height: int | None
    format: str | None
    taken_at: datetime | None
    taken_at_source: str | None
    gps_lat: float | None
    gps_lon: float | None
    camera_make: str | None
    camera_model: str | None


@dataclass(frozen=True)
class ImageRecord(ImageDetails):
    paths: list[str]
    gps_alt: float | None
    orientation: int | None
    thumbnail_path: str | None
    ingest_status: str
    embed_status: str
    embed_error: str | None


_SELECT = """
SELECT i.id, i.size_bytes, i.width, i.height, i.format, i.taken_at, i.taken_at_source,
       i.gps_lat, i.gps_lon, i.gps_alt, i.camera_make, i.camera_model, i.orientation,
       i.thumbnail_path, i.ingest_status, i.embed_status, i.embed_error,
       COALESCE(array_agg(f.path ORDER BY f.path) FILTER (WHERE f.path IS NOT NULL), '{}') AS paths
FROM images i LEFT JOIN files f ON f.image_id = i.id
WHERE i.id = ANY(%s)
GROUP BY i.id
"""


class ImageRepository:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def get(self, image_id: str) -> ImageRecord | None:
        return (await self.get_many([image_id])).get(image_id)

    async def get_many(self, ids: Sequence[str]) -> dict[str, ImageRecord]:
        if not ids:
            return {}
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_SELECT, (list(ids),))
            rows = await cur.fetchall()
        return {row["id"]: ImageRecord(**row) for row in rows}

    async def mark_embedded(self, ids: Sequence[str], model: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE images SET embed_status = 'embedded', embed_error = NULL, embed_model = %s,"
                " embedded_at = now(), updated_at = now() WHERE id = ANY(%s)",
                (model, list(ids)),
            )

    async def mark_failed(self, image_id: str, stage: str, reason: str) -> None:
        """A stage gave up on an image: the row says why (stage 'embed' → embed_status)."""
        if stage != "embed":
            raise ValueError(f"unknown stage {stage!r}")
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE images SET embed_status = 'failed', embed_error = %s, updated_at = now()"
                " WHERE id = %s",
                (reason[:2000], image_id),
            )

    async def record_dead_letter(
        self, stream: str, consumer: str, subject: str, stream_seq: int, deliveries: int,
        reason: str, payload: bytes,
    ) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO dead_letters"
                " (stream, consumer, subject, stream_seq, deliveries, reason, payload)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (stream, consumer, stream_seq) DO UPDATE SET reason = EXCLUDED.reason,"
                " deliveries = EXCLUDED.deliveries",
                (stream, consumer, subject, stream_seq, deliveries, reason[:2000], payload),
            )

    async def count_by_embed_status(self) -> dict[str, int]:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT embed_status, count(*) FROM images GROUP BY embed_status")
            return {str(status): int(n) for status, n in await cur.fetchall()}
