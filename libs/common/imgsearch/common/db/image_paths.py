"""Where an image lives now, as PostgreSQL says: what the images.deleted consumers check before acting."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool


class ImagePaths:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def of(self, image_id: str) -> list[tuple[str, str]] | None:
        """(path, library root) of the image's ingested files; None when the image row is gone."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT f.path, f.library_root FROM images i"
                " LEFT JOIN files f ON f.image_id = i.id AND f.status = 'ingested'"
                " WHERE i.id = %s ORDER BY f.path",
                (image_id,),
            )
            rows = await cur.fetchall()
        if not rows:
            return None
        return [(str(path), str(root)) for path, root in rows if path is not None]
