"""The cameras of the library, with how many images each took (GET /api/v1/cameras, the search page's
camera filter).

The counts aggregate every image of the library (~100 ms at 100k photos, bench/bench_ui.py), and every
search page lists the cameras: they are kept COUNTS_TTL_S, so a camera that a running import adds shows
up within that."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
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
COUNTS_TTL_S = 30.0


@dataclass(frozen=True)
class CameraCount:
    camera: str  # "Make Model", as the camera search filter takes it
    images: int


class CameraRepository:
    def __init__(self, pool: AsyncConnectionPool, ttl_s: float = COUNTS_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.pool = pool
        self.ttl_s, self.clock = ttl_s, clock
        self._kept: tuple[float, list[CameraCount]] | None = None  # (until, counts)

    async def counts(self) -> list[CameraCount]:
        """Most images first, then by name (as counted at most ttl_s ago)."""
        if self._kept is not None and self._kept[0] > self.clock():
            return list(self._kept[1])
        counts = await self._count()
        if self.ttl_s > 0:
            self._kept = (self.clock() + self.ttl_s, counts)
        return list(counts)

    async def _count(self) -> list[CameraCount]:
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
