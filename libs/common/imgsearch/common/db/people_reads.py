"""The read half of PeopleStore: people, their faces and photos, clusters, and the people filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.face_rows import (
    FACE_COLUMNS,
    FACE_FROM,
    check_page,
    face_record,
    face_uuid,
    scalar,
)
from imgsearch.common.db.people_records import (
    ERAS,
    ClusterRecord,
    FaceRecord,
    Page,
    PeopleImageFilter,
    PersonRecord,
)
from imgsearch.common.db.person_chain import resolve_people
from imgsearch.common.errors import InvalidInput, NotFound

MAX_SAMPLES = 50

# A person is on a photo at most once (index faces_person_once_per_image), so their photos are as many as
# their faces: one count from the person's index entries, not a DISTINCT over their photos. Cover and eras
# read the first entry of faces_person_best and the person's entries of faces_person_prototypes.
_PERSON_SELECT = """
SELECT p.id, p.name, p.hidden, p.birth_date, s.face_count, s.face_count, cover.id::text, e.eras
FROM people p
CROSS JOIN LATERAL (SELECT count(*) AS face_count FROM faces f WHERE f.person_id = p.id) s
LEFT JOIN LATERAL (SELECT f.id FROM faces f WHERE f.person_id = p.id
                   ORDER BY f.pinned DESC, f.prototype DESC, f.quality DESC, f.id LIMIT 1) cover ON true
CROSS JOIN LATERAL (SELECT coalesce(array_agg(DISTINCT f.era), '{}') AS eras FROM faces f
                    WHERE f.person_id = p.id AND (f.prototype OR f.pinned) AND f.era IS NOT NULL) e
WHERE p.id = ANY(%s)
"""

# Faces of a person, best first: the pinned, the prototypes, then by quality.
_PERSON_FACE_ORDER = "f.pinned DESC, f.prototype DESC, f.quality DESC, f.id"


async def person_records(conn: AsyncConnection[Any], person_ids: Sequence[int]) -> list[PersonRecord]:
    """Records of these people, in the order given (the ids must exist)."""
    cur = await conn.execute(_PERSON_SELECT, (list(person_ids),))
    by_id = {}
    for pid, name, hidden, birth_date, faces, photos, cover, eras in await cur.fetchall():
        by_id[pid] = PersonRecord(
            id=pid, name=name, hidden=hidden, birth_date=birth_date, face_count=faces, photo_count=photos,
            cover_face_id=cover, eras=tuple(era for era in ERAS if era in set(eras)),
        )
    return [by_id[pid] for pid in person_ids]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class PeopleReads:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def list_people(self, limit: int, offset: int, include_hidden: bool = False,
                          name_query: str = "") -> Page[PersonRecord]:
        check_page(limit, offset)
        where = "p.merged_into IS NULL"
        params: list[object] = []
        if not include_hidden:
            where += " AND NOT p.hidden"
        if name_query.strip():
            where += " AND p.name ILIKE %s"
            params.append(_like_pattern(name_query.strip()))
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT p.id FROM people p LEFT JOIN (SELECT person_id, count(*) AS n FROM faces"
                " WHERE person_id IS NOT NULL GROUP BY person_id) c ON c.person_id = p.id"
                f" WHERE {where} ORDER BY coalesce(c.n, 0) DESC, lower(p.name), p.name, p.id"
                " LIMIT %s OFFSET %s", [*params, limit, offset],
            )
            ids = [int(row[0]) for row in await cur.fetchall()]
            total = int(await scalar(conn, f"SELECT count(*) FROM people p WHERE {where}", params))
            return Page(await person_records(conn, ids), total)

    async def get_person(self, person_id: int) -> PersonRecord:
        async with self.pool.connection() as conn:
            final = (await resolve_people(conn, [person_id]))[person_id]
            return (await person_records(conn, [final]))[0]

    async def person_faces(self, person_id: int, limit: int, offset: int) -> Page[FaceRecord]:
        check_page(limit, offset)
        async with self.pool.connection() as conn:
            final = (await resolve_people(conn, [person_id]))[person_id]
            cur = await conn.execute(
                f"SELECT {FACE_COLUMNS} FROM {FACE_FROM} WHERE f.person_id = %s"
                f" ORDER BY {_PERSON_FACE_ORDER} LIMIT %s OFFSET %s", (final, limit, offset),
            )
            faces = [face_record(row) for row in await cur.fetchall()]
            total = int(await scalar(conn, "SELECT count(*) FROM faces WHERE person_id = %s", (final,)))
        return Page(faces, total)

    async def person_photos(self, person_id: int, limit: int, offset: int) -> Page[str]:
        check_page(limit, offset)
        async with self.pool.connection() as conn:
            final = (await resolve_people(conn, [person_id]))[person_id]
            # Newest first by the face's copy of the photo's date (the EXIF date; a date guessed from
            # the file's mtime counts as none, as for eras): a range of index faces_person_photos, where
            # joining images and sorting them would read every photo of the person on each page.
            cur = await conn.execute(
                "SELECT f.image_id FROM faces f WHERE f.person_id = %s"
                " ORDER BY f.taken_at DESC NULLS LAST, f.image_id LIMIT %s OFFSET %s",
                (final, limit, offset),
            )
            ids = [str(row[0]) for row in await cur.fetchall()]
            total = int(await scalar(  # one face per photo and person: count the faces
                conn, "SELECT count(*) FROM faces WHERE person_id = %s", (final,)))
        return Page(ids, total)

    async def list_clusters(self, limit: int, offset: int, min_size: int = 2, include_hidden: bool = False,
                            samples: int = 6) -> Page[ClusterRecord]:
        check_page(limit, offset)
        _check_samples(samples)
        members = ("(SELECT cluster_id, count(*) AS n FROM faces WHERE cluster_id IS NOT NULL"
                   " GROUP BY cluster_id) s")
        where = "s.n >= %s" + ("" if include_hidden else " AND NOT c.hidden")
        floor = max(min_size, 1)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT c.id, s.n, c.hidden FROM face_clusters c JOIN {members} ON s.cluster_id = c.id"
                f" WHERE {where} ORDER BY s.n DESC, c.id LIMIT %s OFFSET %s", (floor, limit, offset),
            )
            rows = await cur.fetchall()
            total = int(await scalar(
                conn, f"SELECT count(*) FROM face_clusters c JOIN {members} ON s.cluster_id = c.id"
                f" WHERE {where}", (floor,)))
            best = await _cluster_samples(conn, [row[0] for row in rows], samples)
        clusters = [ClusterRecord(cid, size, hidden, best.get(cid, [])) for cid, size, hidden in rows]
        return Page(clusters, total)

    async def get_cluster(self, cluster_id: int, limit: int,
                          offset: int) -> tuple[ClusterRecord, Page[FaceRecord]]:
        check_page(limit, offset)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT c.hidden, (SELECT count(*) FROM faces f WHERE f.cluster_id = c.id)"
                " FROM face_clusters c WHERE c.id = %s", (cluster_id,),
            )
            row = await cur.fetchone()
            if row is None:
                raise NotFound(f"no cluster {cluster_id}")
            hidden, size = row
            cur = await conn.execute(
                f"SELECT {FACE_COLUMNS} FROM {FACE_FROM} WHERE f.cluster_id = %s"
                " ORDER BY f.quality DESC, f.id LIMIT %s OFFSET %s", (cluster_id, limit, offset),
            )
            faces = [face_record(r) for r in await cur.fetchall()]
            best = await _cluster_samples(conn, [cluster_id], 6)
        return ClusterRecord(cluster_id, size, hidden, best.get(cluster_id, [])), Page(faces, size)

    async def get_face(self, face_id: str) -> FaceRecord:
        async with self.pool.connection() as conn:
            cur = await conn.execute(f"SELECT {FACE_COLUMNS} FROM {FACE_FROM} WHERE f.id = %s",
                                     (face_uuid(face_id),))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no face {face_id!r}")
        return face_record(row)

    async def image_faces(self, image_id: str) -> list[FaceRecord]:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT 1 FROM images WHERE id = %s", (image_id,))
            if await cur.fetchone() is None:
                raise NotFound(f"no image {image_id!r}")
            cur = await conn.execute(
                f"SELECT {FACE_COLUMNS} FROM {FACE_FROM} WHERE f.image_id = %s ORDER BY f.x1, f.y1, f.id",
                (image_id,),
            )
            return [face_record(row) for row in await cur.fetchall()]

    async def images_for_people(self, all_of: Sequence[int], any_of: Sequence[int],
                                none_of: Sequence[int]) -> PeopleImageFilter:
        async with self.pool.connection() as conn:
            final = await resolve_people(conn, [*all_of, *any_of, *none_of])
            every = sorted({final[p] for p in all_of})
            some = sorted({final[p] for p in any_of})
            never = sorted({final[p] for p in none_of})
            include: frozenset[str] | None = None
            if every or some:
                parts: list[str] = []
                params: list[object] = []
                if every:
                    parts.append("SELECT image_id FROM faces WHERE person_id = ANY(%s) GROUP BY image_id"
                                 " HAVING count(DISTINCT person_id) = %s")
                    params += [every, len(every)]
                if some:
                    parts.append("SELECT image_id FROM faces WHERE person_id = ANY(%s)")
                    params.append(some)
                cur = await conn.execute(" INTERSECT ".join(parts), params)
                include = frozenset(str(row[0]) for row in await cur.fetchall())
            exclude: frozenset[str] = frozenset()
            if never:
                cur = await conn.execute("SELECT DISTINCT image_id FROM faces WHERE person_id = ANY(%s)",
                                         (never,))
                exclude = frozenset(str(row[0]) for row in await cur.fetchall())
        return PeopleImageFilter(include=include, exclude=exclude)


def _check_samples(samples: int) -> None:
    if not 0 <= samples <= MAX_SAMPLES:
        raise InvalidInput(f"samples must be 0..{MAX_SAMPLES}, got {samples}")


async def _cluster_samples(conn: AsyncConnection[Any], cluster_ids: Sequence[int],
                           samples: int) -> dict[int, list[FaceRecord]]:
    """The ``samples`` best faces by quality of each cluster."""
    if not cluster_ids or samples == 0:
        return {}
    cur = await conn.execute(
        f"SELECT {FACE_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY cluster_id"
        " ORDER BY quality DESC, id) AS rank FROM faces WHERE cluster_id = ANY(%s)) f"
        " LEFT JOIN people p ON p.id = f.person_id WHERE f.rank <= %s ORDER BY f.cluster_id, f.rank",
        (list(cluster_ids), samples),
    )
    found: dict[int, list[FaceRecord]] = {}
    for row in await cur.fetchall():
        face = face_record(row)
        found.setdefault(face.cluster_id or 0, []).append(face)
    return found
