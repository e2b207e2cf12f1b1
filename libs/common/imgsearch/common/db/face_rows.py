"""What the people and faces repositories share: face row → record mapping, the SQL fragments that keep
faces consistent (unassigning, cluster bookkeeping) and argument checks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from psycopg import AsyncConnection

from imgsearch.common.db.face_records import StoredFace
from imgsearch.common.db.people_records import FaceRecord
from imgsearch.common.errors import InvalidInput, NotFound

MAX_PAGE = 500

# Face columns for FaceRecord, over "faces f LEFT JOIN people p ON p.id = f.person_id".
FACE_COLUMNS = (
    "f.id::text, f.image_id, f.x1, f.y1, f.x2, f.y2, f.det_score, f.quality, f.age, f.sex, f.person_id,"
    " p.name, f.assigned_by, f.confidence, f.cluster_id, f.era, f.prototype, f.pinned, f.taken_at,"
    " f.crop_path"
)
FACE_FROM = "faces f LEFT JOIN people p ON p.id = f.person_id"

STORED_FACE_SELECT = (
    "SELECT f.id::text, f.image_id, f.embedding, f.quality, f.person_id, f.assigned_by, f.cluster_id,"
    " coalesce((SELECT array_agg(r.person_id) FROM face_rejections r WHERE r.face_id = f.id), '{}'),"
    " f.taken_at FROM faces f"
)

# SET list that makes a face unassigned. Prototype and pin belong to the assignment, so they go with it;
# an unassigned face starts afresh, clustering included (cluster_excluded cleared); updated_at tells the
# next clustering run that the face is back among the unassigned.
UNASSIGN = (
    "person_id = NULL, assigned_by = NULL, confidence = NULL, assigned_at = NULL,"
    " prototype = false, pinned = false, cluster_excluded = false, updated_at = now()"
)


def face_record(row: Sequence[Any]) -> FaceRecord:
    (face_id, image_id, x1, y1, x2, y2, det_score, quality, age, sex, person_id, person_name,
     assigned_by, confidence, cluster_id, era, prototype, pinned, taken_at, crop_path) = row
    return FaceRecord(
        id=face_id, image_id=image_id, box=(x1, y1, x2, y2), det_score=det_score, quality=quality,
        age=age, sex=sex, person_id=person_id, person_name=person_name, assigned_by=assigned_by,
        confidence=confidence, cluster_id=cluster_id, era=era, prototype=prototype, pinned=pinned,
        taken_at=taken_at, crop_path=crop_path,
    )


def stored_face(row: Sequence[Any]) -> StoredFace:
    face_id, image_id, embedding, quality, person_id, assigned_by, cluster_id, rejected, taken_at = row
    return StoredFace(
        id=face_id, image_id=image_id, embedding=bytes(embedding), quality=quality, person_id=person_id,
        assigned_by=assigned_by, cluster_id=cluster_id, rejected=frozenset(rejected), taken_at=taken_at,
    )


def face_uuid(face_id: str) -> uuid.UUID:
    """A face id from outside; one that is not even a UUID names no face."""
    try:
        return uuid.UUID(face_id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise NotFound(f"no face {face_id!r}") from exc


def known_face_uuids(face_ids: Iterable[str]) -> list[uuid.UUID]:
    """The well-formed ids among these, deduplicated, in order (for lenient batch reads)."""
    found: dict[uuid.UUID, None] = {}
    for face_id in face_ids:
        try:
            found[uuid.UUID(face_id)] = None
        except (ValueError, TypeError, AttributeError):
            continue
    return list(found)


async def scalar(conn: AsyncConnection[Any], query: str, params: Sequence[object] | Mapping[str, object] = ()
                 ) -> Any:
    """The first column of the one row a statement returns (a count, a RETURNING id)."""
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    if row is None:
        raise RuntimeError(f"no row from {query[:60]!r}")
    return row[0]


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE}, got {limit}")
    if offset < 0:
        raise InvalidInput(f"offset must be >= 0, got {offset}")


async def refresh_clusters(conn: AsyncConnection[Any], cluster_ids: Iterable[int | None] | None) -> None:
    """Delete clusters left without members and store the size of the rest (None: every cluster).

    Reads count members live; the size column is kept for humans and the clustering service."""
    scope = ""
    params: tuple[object, ...] = ()
    if cluster_ids is not None:
        ids = sorted({c for c in cluster_ids if c is not None})
        if not ids:
            return
        scope, params = " AND c.id = ANY(%s)", (ids,)
    await conn.execute(
        "DELETE FROM face_clusters c WHERE NOT EXISTS (SELECT 1 FROM faces f WHERE f.cluster_id = c.id)"
        + scope, params,
    )
    await conn.execute(
        "UPDATE face_clusters c SET size = n.members, updated_at = now()"
        " FROM (SELECT cluster_id, count(*) AS members FROM faces WHERE cluster_id IS NOT NULL"
        " GROUP BY cluster_id) n WHERE n.cluster_id = c.id AND c.size <> n.members" + scope, params,
    )
