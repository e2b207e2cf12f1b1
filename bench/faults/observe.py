"""What the fault run reads to time its faults and judge the end state: PostgreSQL rows, the JetStream
consumers' backlog, and (with the writers stopped) the qdrant-edge shards."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from nats.js import JetStreamContext

from imgsearch.common.errors import NotFound
from imgsearch.common.ids import point_id
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.common.vectors.port import FACES_COLLECTION, IMAGES_COLLECTION

CONSUMERS = (("IMGSEARCH_COMMANDS", "ingest"), ("IMGSEARCH_EVENTS", "embed"), ("IMGSEARCH_EVENTS", "faces"))
_CHUNK = 256


@dataclass(frozen=True)
class Progress:
    files: int  # files rows for the wanted paths
    embedded: int  # wanted images no longer pending embed
    faces: int  # wanted images no longer pending faces

    def settled(self, paths: int, images: int) -> bool:
        return self.files >= paths and self.embedded >= images and self.faces >= images


async def progress(conn: psycopg.AsyncConnection, paths: Sequence[str], ids: Sequence[str]) -> Progress:
    files = await (await conn.execute("SELECT count(*) FROM files WHERE path = ANY(%s)", [list(paths)])
                   ).fetchone()
    images = await (await conn.execute(
        "SELECT count(*) FILTER (WHERE embed_status <> 'pending'),"
        " count(*) FILTER (WHERE faces_status <> 'pending') FROM images WHERE id = ANY(%s)", [list(ids)],
    )).fetchone()
    assert files is not None and images is not None
    return Progress(int(files[0]), int(images[0]), int(images[1]))


async def backlog(js: JetStreamContext, stream: str, durable: str) -> int | None:
    """Messages not yet delivered plus delivered but not yet acked; None when NATS can't say."""
    try:
        info = await js.consumer_info(stream, durable, timeout=2.0)
    except Exception:  # down, reconnecting, or not created yet
        return None
    return int(info.num_pending or 0) + int(info.num_ack_pending or 0)


async def in_flight(js: JetStreamContext, stream: str, durable: str) -> int:
    """Delivered and not yet acked: a worker holds them mid-batch."""
    try:
        info = await js.consumer_info(stream, durable, timeout=2.0)
    except Exception:
        return 0
    return int(info.num_ack_pending or 0)


@dataclass(frozen=True)
class FileState:
    status: str
    error: str | None
    image_id: str | None
    embed_status: str | None
    faces_status: str | None

    @property
    def definite(self) -> bool:
        """Failed with a reason, or ingested and through every later stage (embedded or failed there)."""
        if self.status == "failed":
            return bool(self.error)
        return self.status == "ingested" and self.embed_status not in (None, "pending") \
            and self.faces_status not in (None, "pending")


async def file_states(conn: psycopg.AsyncConnection, paths: Sequence[str]) -> dict[str, FileState]:
    rows = await (await conn.execute(
        "SELECT f.path, f.status, f.error, f.image_id, i.embed_status, i.faces_status"
        " FROM files f LEFT JOIN images i ON i.id = f.image_id WHERE f.path = ANY(%s)", [list(paths)],
    )).fetchall()
    return {r[0]: FileState(r[1], r[2], r[3], r[4], r[5]) for r in rows}


@dataclass
class Accounting:
    """lost: wanted images not fully present; duplicated: anything present more than once or orphaned."""

    lost: int = 0
    duplicated: int = 0
    notes: list[str] = field(default_factory=list)


async def account(conn: psycopg.AsyncConnection, vectors_dir: Path, wanted: dict[str, str]) -> Accounting:
    """wanted: path → image id (distinct ids). Call with every writer of the vectors folder stopped."""
    result = Accounting()
    paths, ids = list(wanted), sorted(set(wanted.values()))
    states = await file_states(conn, paths)
    path_rows = await (await conn.execute("SELECT count(*) - count(DISTINCT path) FROM files")).fetchone()
    images = {r[0]: (r[1], r[2]) for r in await (await conn.execute(
        "SELECT id, embed_status, faces_status FROM images WHERE id = ANY(%s)", [ids])).fetchall()}
    embedded = [r[0] for r in await (await conn.execute(
        "SELECT id FROM images WHERE embed_status = 'embedded'")).fetchall()]
    totals = await (await conn.execute(
        "SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM faces),"
        " (SELECT count(*) - count(DISTINCT (image_id, x1, y1, x2, y2)) FROM faces)")).fetchone()
    face_rows = await (await conn.execute("SELECT id::text, image_id FROM faces")).fetchall()
    faces = [(str(r[0]), str(r[1])) for r in face_rows]
    letters = await (await conn.execute(
        "SELECT consumer, count(*) FROM dead_letters GROUP BY consumer ORDER BY consumer")).fetchall()
    assert path_rows is not None and totals is not None

    store = QdrantEdgeStore(vectors_dir, background_optimize=False)
    try:
        image_points = await _count(store, IMAGES_COLLECTION)
        have_point = await _present(store, IMAGES_COLLECTION, {point_id(i): i for i in embedded})
        face_points = await _count(store, FACES_COLLECTION)
        have_face = await _present(store, FACES_COLLECTION, {f: f for f, _ in faces})
    finally:
        await store.close()

    missing_face_point = {image for face, image in faces if face not in have_face}
    for image_id in ids:
        embed_status, faces_status = images.get(image_id, (None, None))
        whole = (embed_status == "embedded" and faces_status == "done" and point_id(image_id) in have_point
                 and image_id not in missing_face_point)
        result.lost += not whole
    bad_files = [p for p in paths if (s := states.get(p)) is None or s.status != "ingested"
                 or s.image_id != wanted[p]]
    result.lost = max(result.lost, len(bad_files))  # a path without its row loses its image's path
    extra_image_points = image_points - len(have_point)
    extra_face_points = face_points - len(have_face)
    result.duplicated = int(path_rows[0]) + int(totals[2]) + max(0, extra_image_points) \
        + max(0, extra_face_points)
    result.notes += [
        f"distinct files {len(ids)} ({len(paths)} paths): images rows {len(images)}, embedded "
        f"{sum(1 for e, _ in images.values() if e == 'embedded')}, faces done "
        f"{sum(1 for _, f in images.values() if f == 'done')}, vectors "
        f"{sum(point_id(i) in have_point for i in ids)}",
        f"whole database: images {totals[0]}, embedded {len(embedded)}, vectors in '{IMAGES_COLLECTION}' "
        f"{image_points}; faces rows {totals[1]}, vectors in '{FACES_COLLECTION}' {face_points}",
        f"duplicates: file rows per path {path_rows[0]}, faces per (image, box) {totals[2]}, "
        f"image points without an embedded image {max(0, extra_image_points)}, "
        f"face points without a face row {max(0, extra_face_points)}",
        f"missing: files rows {len(bad_files)}, image points {len(embedded) - len(have_point)}, "
        f"face points {len(faces) - len(have_face)}",
        "dead letters: " + (", ".join(f"{c} {n}" for c, n in letters) or "none"),
    ]
    return result


async def _count(store: QdrantEdgeStore, name: str) -> int:
    with contextlib.suppress(NotFound):
        return await store.count(name)
    return 0


async def _present(store: QdrantEdgeStore, name: str, ids: dict[str, str]) -> set[str]:
    """The point ids of ``ids`` that the collection holds."""
    found: set[str] = set()
    wanted = list(ids)
    for start in range(0, len(wanted), _CHUNK):
        with contextlib.suppress(NotFound):
            found.update(p.id for p in await store.retrieve(name, wanted[start:start + _CHUNK]))
    return found
