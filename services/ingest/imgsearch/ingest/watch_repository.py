"""The watcher's reads and writes of the files and images tables.

A removal runs in one transaction with the image row locked: the files row goes; when it was the image's
last ingested path, the image row goes too (its faces, rejections and prototypes cascade), after its face
ids and people are read for the event that tells the vector consumers what to drop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.ids import life_of
from imgsearch.ingest.scan import ScannedFile


@dataclass(frozen=True)
class FileRow:
    path: str
    size: int | None
    mtime_ns: int | None
    image_id: str | None  # None: a failed file
    # life_of(seen_at): tells this row from one made again at the same path later (not compared)
    seen: str = field(default="", compare=False)


@dataclass(frozen=True)
class Removal:
    path: str
    image_id: str
    image_removed: bool
    thumbnail: str | None = None
    face_ids: tuple[str, ...] = ()
    person_ids: tuple[int, ...] = ()
    remaining: tuple[tuple[str, str], ...] = field(default=())  # (path, root) left, when not removed
    # The removed files row's and image row's lives (imgsearch.common.ids.life_of): part of the event's
    # message id, so the same path or image removed again in a later life is not dropped as a repeat.
    life: str = ""


class WatchStore(Protocol):
    """The port the rescan works through (a fake in unit tests)."""

    async def rows(self, paths: Sequence[str]) -> dict[str, FileRow]: ...
    async def queued(self, paths: Sequence[str]) -> set[tuple[str, int, int]]: ...
    def rows_under(self, root: str, folder: str, batch: int) -> AsyncIterator[list[FileRow]]: ...
    async def imported_folders(self, root: str) -> set[str]: ...
    async def image_sizes(self, image_ids: Sequence[str]) -> dict[str, int]: ...
    async def rows_of_size(self, scopes: Sequence[tuple[str, str]], sizes: Sequence[int]
                           ) -> list[tuple[int, FileRow]]: ...
    async def move(self, old_path: str, file: ScannedFile, root: Path) -> bool: ...
    async def touch(self, file: ScannedFile) -> None: ...
    async def remove(self, path: str) -> Removal | None: ...


# Served by the partial index session_files_open_path (migration 0006): keep the predicate identical.
QUEUED_SQL = ("SELECT path, size_bytes, mtime_ns FROM session_files"
              " WHERE path = ANY(%s) AND state IN ('pending', 'working')")


class WatchRepository:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def rows(self, paths: Sequence[str]) -> dict[str, FileRow]:
        if not paths:
            return {}
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT path, size_bytes, mtime_ns, image_id, seen_at FROM files WHERE path = ANY(%s)",
                (list(paths),),
            )
            return {str(r[0]): _row(r) for r in await cur.fetchall()}

    async def queued(self, paths: Sequence[str]) -> set[tuple[str, int, int]]:
        """(path, size, mtime) of these files waiting in an open ingest session: not to be queued again."""
        if not paths:
            return set()
        async with self.pool.connection() as conn:
            cur = await conn.execute(QUEUED_SQL, (list(paths),))
            return {(str(r[0]), int(r[1]), int(r[2])) for r in await cur.fetchall()}

    async def rows_under(self, root: str, folder: str, batch: int) -> AsyncIterator[list[FileRow]]:
        """Rows of this root below folder, in batches from a server-side cursor (nothing held per file)."""
        pattern = _escape_like(folder.rstrip("/") + "/") + "%"
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor(name="rows_under") as cur:
            await cur.execute(
                "SELECT path, size_bytes, mtime_ns, image_id, seen_at FROM files"
                " WHERE path LIKE %s AND library_root = %s",
                (pattern, root),
            )
            while rows := await cur.fetchmany(batch):
                yield [_row(r) for r in rows]

    async def imported_folders(self, root: str) -> set[str]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT DISTINCT regexp_replace(path, '/[^/]*$', '') FROM files WHERE library_root = %s",
                (root,),
            )
            return {str(r[0]) for r in await cur.fetchall()}

    async def image_sizes(self, image_ids: Sequence[str]) -> dict[str, int]:
        if not image_ids:
            return {}
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, size_bytes FROM images WHERE id = ANY(%s)", (list(image_ids),)
            )
            return {str(r[0]): int(r[1]) for r in await cur.fetchall()}

    async def rows_of_size(self, scopes: Sequence[tuple[str, str]], sizes: Sequence[int]
                           ) -> list[tuple[int, FileRow]]:
        """(image size, row) of the ingested rows under these (root, folder) scopes whose image has one of
        these sizes: where a new file of that size may have come from."""
        if not scopes or not sizes:
            return []
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT i.size_bytes, f.path, f.size_bytes, f.mtime_ns, f.image_id, f.seen_at"
                " FROM unnest(%s::text[], %s::text[]) AS s(root, pattern)"
                " JOIN files f ON f.library_root = s.root AND f.path LIKE s.pattern"
                " JOIN images i ON i.id = f.image_id"
                " WHERE f.status = 'ingested' AND i.size_bytes = ANY(%s) ORDER BY f.path",
                ([r for r, _ in scopes], [_escape_like(f.rstrip("/") + "/") + "%" for _, f in scopes],
                 list(sizes)),
            )
            return [(int(r[0]), _row(r[1:])) for r in await cur.fetchall()]

    async def move(self, old_path: str, file: ScannedFile, root: Path) -> bool:
        """The old row becomes the new path's (same image); False when the old row is gone already."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "DELETE FROM files WHERE path = %s AND status = 'ingested' RETURNING image_id", (old_path,)
            )
            row = await cur.fetchone()
            if row is None:
                return False
            await conn.execute(
                "INSERT INTO files (path, library_root, image_id, size_bytes, mtime_ns, status, seen_at)"
                " VALUES (%s, %s, %s, %s, %s, 'ingested', now()) ON CONFLICT (path) DO UPDATE SET"
                " library_root = EXCLUDED.library_root, image_id = EXCLUDED.image_id,"
                " size_bytes = EXCLUDED.size_bytes, mtime_ns = EXCLUDED.mtime_ns, status = 'ingested',"
                " error = NULL, seen_at = now()",
                (str(file.path), str(root), row[0], file.size, file.mtime_ns),
            )
            return True

    async def touch(self, file: ScannedFile) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE files SET size_bytes = %s, mtime_ns = %s, seen_at = now() WHERE path = %s",
                (file.size, file.mtime_ns, str(file.path)),
            )

    async def remove(self, path: str) -> Removal | None:
        """Drop the path's row, and the image with it when no other path holds it. None: no image row
        was involved (a failed file, or the row is gone already)."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT image_id, seen_at FROM files WHERE path = %s", (path,))
            found = await cur.fetchone()
            if found is None or found[0] is None:
                await conn.execute("DELETE FROM files WHERE path = %s", (path,))
                return None
            image_id, seen = str(found[0]), life_of(found[1])
            # Lock the image first: an ingest of another copy, or another removal, waits for us.
            cur = await conn.execute(
                "SELECT thumbnail_path, created_at FROM images WHERE id = %s FOR UPDATE", (image_id,)
            )
            image = await cur.fetchone()
            await conn.execute("DELETE FROM files WHERE path = %s", (path,))
            if image is None:
                return None
            cur = await conn.execute(
                "SELECT path, library_root FROM files WHERE image_id = %s AND status = 'ingested'"
                " ORDER BY path",
                (image_id,),
            )
            remaining = tuple((str(p), str(r)) for p, r in await cur.fetchall())
            life = f"{seen}/{life_of(image[1])}"
            if remaining:
                return Removal(path, image_id, False, remaining=remaining, life=life)
            cur = await conn.execute(
                "SELECT id::text, person_id FROM faces WHERE image_id = %s ORDER BY id", (image_id,)
            )
            faces = await cur.fetchall()
            await conn.execute("DELETE FROM images WHERE id = %s", (image_id,))
            return Removal(
                path, image_id, True, thumbnail=image[0],
                face_ids=tuple(str(f[0]) for f in faces),
                person_ids=tuple(sorted({int(f[1]) for f in faces if f[1] is not None})), life=life,
            )


def _row(r: Sequence[Any]) -> FileRow:
    return FileRow(str(r[0]), r[1], r[2], r[3], life_of(r[4]))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
