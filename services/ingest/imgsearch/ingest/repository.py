"""The ingest service's writes to PostgreSQL: images (by content hash) and files (by path).

A files row remembers (size, mtime_ns) of what was read, so a rescan skips unchanged files
without hashing them; failed files keep their row and reason and are skipped the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.duplicates import DuplicatesRepository
from imgsearch.common.ids import life_of
from imgsearch.common.perceptual import PerceptualHashes
from imgsearch.ingest.probe import ImageInfo
from imgsearch.ingest.scan import ScannedFile


@dataclass(frozen=True)
class KnownPath:
    path: str
    library_root: str


class IngestStore(Protocol):
    """The port the handler writes through (a fake in unit tests)."""

    async def unchanged(self, files: Sequence[ScannedFile]) -> set[Path]: ...
    async def upsert_image(self, image_id: str, size: int, image: ImageInfo, thumbnail: Path) -> str: ...
    async def record_hashes(self, image_id: str, hashes: PerceptualHashes) -> None: ...
    async def paths_of(self, image_id: str) -> list[KnownPath]: ...
    async def record_ingested(self, file: ScannedFile, library_root: Path, image_id: str) -> None: ...
    async def record_failed(self, file: ScannedFile, library_root: Path, reason: str) -> None: ...


_UPSERT_IMAGE = """
INSERT INTO images (id, size_bytes, width, height, format, taken_at, taken_at_source, gps_lat, gps_lon,
                    gps_alt, camera_make, camera_model, orientation, thumbnail_path, ingest_status)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'ingested')
ON CONFLICT (id) DO UPDATE SET
    width = EXCLUDED.width, height = EXCLUDED.height, format = EXCLUDED.format,
    taken_at = EXCLUDED.taken_at, taken_at_source = EXCLUDED.taken_at_source,
    gps_lat = EXCLUDED.gps_lat, gps_lon = EXCLUDED.gps_lon, gps_alt = EXCLUDED.gps_alt,
    camera_make = EXCLUDED.camera_make, camera_model = EXCLUDED.camera_model,
    orientation = EXCLUDED.orientation, thumbnail_path = EXCLUDED.thumbnail_path,
    ingest_status = 'ingested', updated_at = now()
RETURNING created_at
"""

_UPSERT_FILE = """
INSERT INTO files (path, library_root, image_id, size_bytes, mtime_ns, status, error, seen_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, now())
ON CONFLICT (path) DO UPDATE SET
    library_root = EXCLUDED.library_root, image_id = EXCLUDED.image_id, size_bytes = EXCLUDED.size_bytes,
    mtime_ns = EXCLUDED.mtime_ns, status = EXCLUDED.status, error = EXCLUDED.error, seen_at = now()
"""


class IngestRepository:
    def __init__(self, pool: AsyncConnectionPool, near_threshold: int = 6) -> None:
        self.pool = pool
        self.near_threshold = near_threshold  # settings.duplicates.near_threshold
        self.duplicates = DuplicatesRepository(pool)

    async def unchanged(self, files: Sequence[ScannedFile]) -> set[Path]:
        """The paths whose row matches the file's size and mtime: nothing to read again."""
        if not files:
            return set()
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT path, size_bytes, mtime_ns FROM files WHERE path = ANY(%s)",
                ([str(f.path) for f in files],),
            )
            known = {str(path): (size, mtime) for path, size, mtime in await cur.fetchall()}
        return {f.path for f in files if known.get(str(f.path)) == (f.size, f.mtime_ns)}

    async def upsert_image(self, image_id: str, size: int, image: ImageInfo, thumbnail: Path) -> str:
        """Insert or update the image row; its life (imgsearch.common.ids.life_of its created_at): the
        same while the row lives, another once it was deleted and made again."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(_UPSERT_IMAGE, (
                image_id, size, image.width, image.height, image.format, image.taken_at,
                image.taken_at_source, image.gps_lat, image.gps_lon, image.gps_alt, image.camera_make,
                image.camera_model, image.orientation, str(thumbnail),
            ))
            row = await cur.fetchone()
        assert row is not None  # an upsert returns its row
        return life_of(row[0])

    async def record_hashes(self, image_id: str, hashes: PerceptualHashes) -> None:
        """Perceptual hashes, and the near-duplicate pairs they make with images stored before."""
        await self.duplicates.record_hashes(image_id, hashes, self.near_threshold)

    async def paths_of(self, image_id: str) -> list[KnownPath]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT path, library_root FROM files WHERE image_id = %s AND status = 'ingested'"
                " ORDER BY path",
                (image_id,),
            )
            return [KnownPath(str(path), str(root)) for path, root in await cur.fetchall()]

    async def record_ingested(self, file: ScannedFile, library_root: Path, image_id: str) -> None:
        await self._record(file, library_root, image_id, "ingested", None)

    async def record_failed(self, file: ScannedFile, library_root: Path, reason: str) -> None:
        await self._record(file, library_root, None, "failed", reason.replace("\x00", "")[:2000] or "failed")

    async def _record(self, file: ScannedFile, library_root: Path, image_id: str | None, status: str,
                      error: str | None) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(_UPSERT_FILE, (
                str(file.path), str(library_root), image_id, file.size, file.mtime_ns, status, error,
            ))
