"""The cameras of the library, with how many images each took (GET /api/v1/cameras)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.cameras import camera_name

# Images with at least one file still in the library; grouped by the raw EXIF pair, which camera_name
# then folds into the one name the payload and the filter use (two spellings may become one camera).
_COUNTS = """
SELECT i.camera_make, i.camera_model, count(*)
FROM images i
WHERE (i.camera_make IS NOT NULL OR i.camera_model IS NOT NULL)
  AND EXISTS (SELECT 1 FROM files f WHERE f.image_id = i.id AND f.status = 'ingested')
GROUP BY i.camera_make, i.camera_model
"""


@dataclass(frozen=True)
class CameraCount:
    camera: str  # "Make Model", as the camera search filter takes it
    images: int


class CameraRepository:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def counts(self) -> list[CameraCount]:
        """Most images first, then by name."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(_COUNTS)
            rows = await cur.fetchall()
        totals: Counter[str] = Counter()
        for make, model, images in rows:
            name = camera_name(make, model)
            if name:
                totals[name] += int(images)
        ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        return [CameraCount(name, images) for name, images in ranked]
