"""FaceStore over PostgreSQL: the faces service's detection writes, matching and prototypes (clustering in
imgsearch.common.db.clusters)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.clusters import FaceClustering
from imgsearch.common.db.face_records import AutoAssignment, BackendRecord, NewFace, Prototype, StoredFace
from imgsearch.common.db.face_rows import (
    STORED_FACE_SELECT,
    face_uuid,
    known_face_uuids,
    refresh_clusters,
    stored_face,
)
from imgsearch.common.db.people_records import ERA_STARTS, ERAS
from imgsearch.common.db.person_chain import in_transaction, resolve_people
from imgsearch.common.errors import InvalidInput, NotFound

MAX_ERROR = 2000

_UPSERT_FACE = """
INSERT INTO faces (id, image_id, x1, y1, x2, y2, det_score, quality, sharpness, yaw, pitch, roll,
                   landmarks, age, sex, embedding, crop_path, taken_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET
    x1 = EXCLUDED.x1, y1 = EXCLUDED.y1, x2 = EXCLUDED.x2, y2 = EXCLUDED.y2, det_score = EXCLUDED.det_score,
    quality = EXCLUDED.quality, sharpness = EXCLUDED.sharpness, yaw = EXCLUDED.yaw, pitch = EXCLUDED.pitch,
    roll = EXCLUDED.roll, landmarks = EXCLUDED.landmarks, age = EXCLUDED.age, sex = EXCLUDED.sex,
    embedding = EXCLUDED.embedding, crop_path = EXCLUDED.crop_path, taken_at = EXCLUDED.taken_at,
    updated_at = CASE WHEN faces.embedding = EXCLUDED.embedding THEN faces.updated_at ELSE now() END
WHERE faces.image_id = EXCLUDED.image_id
"""

# Applied only where still valid under the locks: the face unassigned, not rejected for the person, the
# person not merged away, nobody in the photo with that person; one person per face and one face per
# (photo, person), the most confident.
_AUTO_ASSIGN = """
WITH wanted AS (
    SELECT DISTINCT ON (w.face_id) w.face_id, w.person_id, w.confidence, f.image_id
    FROM unnest(%(faces)s::uuid[], %(people)s::bigint[], %(confidences)s::real[])
         AS w (face_id, person_id, confidence)
    JOIN faces f ON f.id = w.face_id
    JOIN people p ON p.id = w.person_id AND p.merged_into IS NULL
    WHERE f.person_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM face_rejections r
                      WHERE r.face_id = w.face_id AND r.person_id = w.person_id)
      AND NOT EXISTS (SELECT 1 FROM faces g WHERE g.image_id = f.image_id AND g.person_id = w.person_id)
    ORDER BY w.face_id, w.confidence DESC, w.person_id
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY image_id, person_id ORDER BY confidence DESC, face_id) AS rank
    FROM wanted
)
UPDATE faces f SET person_id = r.person_id, assigned_by = 'auto', confidence = r.confidence,
    assigned_at = now(), cluster_id = NULL, cluster_excluded = false, updated_at = now()
FROM ranked r WHERE f.id = r.face_id AND r.rank = 1
RETURNING f.id::text, f.person_id
"""


def _era_case(years: str) -> str:
    """SQL CASE giving the era of an age in years (ERA_STARTS, the one definition); ``years`` >= 0."""
    branches = " ".join(f"WHEN {years} >= {ERA_STARTS[era]} THEN '{era}'" for era in reversed(ERAS))
    return f"CASE {branches} END"


# Era of each face of these people: from the estimated age, else from the photo date and the birth date.
_SET_ERAS = f"""
UPDATE faces f SET era = e.era, updated_at = now()
FROM (
    SELECT g.id, CASE
        WHEN g.age >= 0 AND g.age <> 'NaN' THEN {_era_case("g.age")}
        WHEN g.taken_at::date >= p.birth_date THEN {_era_case("(g.taken_at::date - p.birth_date) / 365.2425")}
    END AS era
    FROM faces g JOIN people p ON p.id = g.person_id
    WHERE g.person_id = ANY(%(people)s)
) e
WHERE f.id = e.id AND f.era IS DISTINCT FROM e.era
"""

# Per person and era (NULL era is a pool of its own): the per_era best faces by quality among the
# user-assigned ones, or among the automatic ones where the era has no user-assigned face; plus pinned.
_SET_PROTOTYPES = """
WITH pool AS (
    SELECT id, person_id, era, quality, pinned, assigned_by,
           bool_or(assigned_by = 'user') OVER (PARTITION BY person_id, era) AS has_user
    FROM faces WHERE person_id = ANY(%(people)s)
), ranked AS (
    SELECT id, row_number() OVER (PARTITION BY person_id, era ORDER BY quality DESC, id) AS rank
    FROM pool WHERE assigned_by = 'user' OR NOT has_user
), chosen AS (
    SELECT pool.id, pool.pinned OR coalesce(ranked.rank <= %(per_era)s, false) AS prototype
    FROM pool LEFT JOIN ranked ON ranked.id = pool.id
)
UPDATE faces f SET prototype = c.prototype, updated_at = now()
FROM chosen c WHERE f.id = c.id AND f.prototype <> c.prototype
"""


class FaceRepository(FaceClustering):
    """FaceRepository(pool) implements imgsearch.common.db.face_records.FaceStore."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def recorded_backend(self) -> BackendRecord | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT backend, model, dim, reason FROM face_backend")
            row = await cur.fetchone()
        return BackendRecord(*row) if row else None

    async def record_backend(self, record: BackendRecord) -> None:
        async with self.pool.connection() as conn:
            await _record_backend(conn, record)

    async def reset_faces(self, record: BackendRecord) -> int:
        async def work(conn: AsyncConnection[Any]) -> int:
            cur = await conn.execute("DELETE FROM faces")
            deleted = cur.rowcount
            await conn.execute("DELETE FROM face_clusters")
            await conn.execute(
                "UPDATE images SET faces_status = 'pending', faces_error = NULL, faces_count = NULL,"
                " faces_at = NULL, updated_at = now()"
            )
            await _record_backend(conn, record)
            return deleted

        return await in_transaction(self.pool, work)

    async def replace_image_faces(self, image_id: str, faces: Sequence[NewFace]) -> list[str]:
        ids = [face_uuid(face.id) for face in faces]
        if len(set(ids)) != len(ids):
            raise InvalidInput(f"duplicate face ids for image {image_id}")

        async def work(conn: AsyncConnection[Any]) -> list[str]:
            # A file time is not when the photo was taken: eras must not be derived from it.
            cur = await conn.execute(
                "SELECT CASE WHEN taken_at_source LIKE 'file:%%' THEN NULL ELSE taken_at END"
                " FROM images WHERE id = %s FOR UPDATE", (image_id,))
            image = await cur.fetchone()
            if image is None:
                raise NotFound(f"no image {image_id!r}")
            await conn.execute("SELECT id FROM faces WHERE image_id = %s ORDER BY id FOR UPDATE", (image_id,))
            cur = await conn.execute(
                "DELETE FROM faces WHERE image_id = %s AND id <> ALL(%s) RETURNING id::text, cluster_id",
                (image_id, ids),
            )
            deleted = await cur.fetchall()
            async with conn.cursor() as upsert:
                await upsert.executemany(_UPSERT_FACE, [_face_row(image_id, image[0], f) for f in faces])
            await refresh_clusters(conn, [row[1] for row in deleted])
            await conn.execute(
                "UPDATE images SET faces_status = 'done', faces_error = NULL, faces_count = %s,"
                " faces_at = now(), updated_at = now() WHERE id = %s", (len(faces), image_id),
            )
            return sorted(str(row[0]) for row in deleted)

        return await in_transaction(self.pool, work)

    async def faces_done(self, image_id: str) -> bool:
        async with self.pool.connection() as conn:
            row = await (await conn.execute("SELECT faces_status FROM images WHERE id = %s",
                                            (image_id,))).fetchone()
        return row is not None and row[0] == "done"

    async def mark_faces_failed(self, image_id: str, reason: str) -> None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE images SET faces_status = 'failed', faces_error = %s, faces_at = now(),"
                " updated_at = now() WHERE id = %s RETURNING id", (reason[:MAX_ERROR], image_id),
            )
            if await cur.fetchone() is None:
                raise NotFound(f"no image {image_id!r}")

    async def faces(self, face_ids: Sequence[str]) -> list[StoredFace]:
        """The known faces among these, in the order given (unknown ids are left out)."""
        ids = known_face_uuids(face_ids)
        if not ids:
            return []
        async with self.pool.connection() as conn:
            cur = await conn.execute(f"{STORED_FACE_SELECT} WHERE f.id = ANY(%s)", (ids,))
            found = {face.id: face for face in map(stored_face, await cur.fetchall())}
        return [found[str(i)] for i in ids if str(i) in found]

    async def unassigned_faces(self, after_id: str | None = None, limit: int = 10_000) -> list[StoredFace]:
        if limit < 1:
            raise InvalidInput(f"limit must be >= 1, got {limit}")
        after = face_uuid(after_id) if after_id is not None else None
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"{STORED_FACE_SELECT} WHERE f.person_id IS NULL AND (%(after)s::uuid IS NULL"
                " OR f.id > %(after)s::uuid) ORDER BY f.id LIMIT %(limit)s", {"after": after, "limit": limit},
            )
            return [stored_face(row) for row in await cur.fetchall()]

    async def prototypes(self) -> list[Prototype]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT f.person_id, f.id::text, f.image_id, f.embedding, f.era, f.quality, f.pinned"
                " FROM faces f JOIN people p ON p.id = f.person_id"
                " WHERE (f.prototype OR f.pinned) AND p.merged_into IS NULL ORDER BY f.person_id, f.id"
            )
            rows = await cur.fetchall()
        return [Prototype(pid, fid, image, bytes(emb), era, quality, pinned)
                for pid, fid, image, emb, era, quality, pinned in rows]

    async def cluster_representatives(self, per_cluster: int) -> dict[int, list[bytes]]:
        """The ``per_cluster`` best faces (by quality) of every unlabeled cluster: competitors in matching."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT cluster_id, embedding FROM (SELECT cluster_id, embedding, row_number() OVER"
                " (PARTITION BY cluster_id ORDER BY quality DESC, id) AS rank FROM faces"
                " WHERE cluster_id IS NOT NULL AND person_id IS NULL) ranked WHERE rank <= %s",
                (per_cluster,),
            )
            found: dict[int, list[bytes]] = {}
            for cluster, embedding in await cur.fetchall():
                found.setdefault(int(cluster), []).append(bytes(embedding))
        return found

    async def people_in_images(self, image_ids: Sequence[str]) -> dict[str, set[int]]:
        """Every given image → the people in it (an empty set for none)."""
        found: dict[str, set[int]] = {image: set() for image in image_ids}
        if not found:
            return found
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT image_id, person_id FROM faces WHERE image_id = ANY(%s) AND person_id IS NOT NULL",
                (list(found),),
            )
            for image, person in await cur.fetchall():
                found[image].add(int(person))
        return found

    async def auto_assign(self, assignments: Sequence[AutoAssignment]) -> list[AutoAssignment]:
        wanted = [(a, fid) for a in assignments for fid in known_face_uuids([a.face_id])]
        if not wanted:
            return []

        async def work(conn: AsyncConnection[Any]) -> list[AutoAssignment]:
            # Lock the people first (the order every writer keeps): nobody can give them a face meanwhile.
            await conn.execute(
                "SELECT id FROM people WHERE id = ANY(%s) AND merged_into IS NULL ORDER BY id FOR UPDATE",
                (sorted({a.person_id for a, _ in wanted}),),
            )
            cur = await conn.execute(
                "SELECT id, cluster_id FROM faces WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                (sorted({fid for _, fid in wanted}),),
            )
            clusters = [row[1] for row in await cur.fetchall()]
            cur = await conn.execute(_AUTO_ASSIGN, {
                "faces": [fid for _, fid in wanted], "people": [a.person_id for a, _ in wanted],
                "confidences": [a.confidence for a, _ in wanted],
            })
            applied = {(str(fid), int(pid)) for fid, pid in await cur.fetchall()}
            await refresh_clusters(conn, clusters)
            return [a for a, fid in wanted if (str(fid), a.person_id) in applied]

        return await in_transaction(self.pool, work)

    async def refresh_prototypes(self, person_ids: Sequence[int], per_era: int) -> None:
        if per_era < 0:
            raise InvalidInput(f"per_era must be >= 0, got {per_era}")
        async def work(conn: AsyncConnection[Any]) -> None:
            people = sorted(set((await resolve_people(conn, person_ids, strict=False)).values()))
            if not people:
                return
            await conn.execute(_SET_ERAS, {"people": people})
            await conn.execute(_SET_PROTOTYPES, {"people": people, "per_era": per_era})

        await in_transaction(self.pool, work)


async def _record_backend(conn: AsyncConnection[Any], record: BackendRecord) -> None:
    await conn.execute(
        "INSERT INTO face_backend (id, backend, model, dim, reason) VALUES (true, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET backend = EXCLUDED.backend, model = EXCLUDED.model,"
        " dim = EXCLUDED.dim, reason = EXCLUDED.reason, recorded_at = now()",
        (record.backend, record.model, record.dim, record.reason),
    )


def _face_row(image_id: str, taken_at: object, face: NewFace) -> tuple[object, ...]:
    x1, y1, x2, y2 = face.box
    return (face_uuid(face.id), image_id, x1, y1, x2, y2, face.det_score, face.quality, face.sharpness,
            face.yaw, face.pitch, face.roll, list(face.landmarks), face.age, face.sex, face.embedding,
            face.crop_path, taken_at)
