"""Propagation: after people change (a cluster labeled, faces moved, people merged), unassigned faces are
matched again against the updated prototypes — without running detection again.

Faces in an unlabeled cluster are judged as a cluster; faces in no cluster one by one (the same rule as a new
face in phase 1). Assignments are applied by the store, which re-checks every rule at commit time."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable

from imgsearch.common.db.face_records import AutoAssignment, FaceStore, Prototype, StoredFace
from imgsearch.faces.calibration import Calibration
from imgsearch.faces.embeddings import Matrix, stack
from imgsearch.faces.matching import (
    Candidate,
    PersonIndex,
    match_clusters,
    match_faces,
    representatives,
    resolve,
)

log = logging.getLogger(__name__)
PAGE = 10_000


async def all_unassigned(store: FaceStore) -> list[StoredFace]:
    faces: list[StoredFace] = []
    after: str | None = None
    while True:
        page = await store.unassigned_faces(after_id=after, limit=PAGE)
        faces.extend(page)
        if len(page) < PAGE:
            return faces
        after = page[-1].id


async def propagate(
    store: FaceStore, dim: int, cal: Calibration, people: Iterable[int] | None = None
) -> list[AutoAssignment]:
    """Match every unassigned face; ``people``: accept only matches to these (whose prototypes changed).
    The matching itself runs on a worker thread: at 100k faces it is seconds of numpy."""
    prototypes = await store.prototypes()
    if not prototypes:
        return []
    faces = await all_unassigned(store)
    if not faces:
        return []
    only = frozenset(people) if people is not None else None
    x, candidates = await asyncio.to_thread(_cluster_pass, prototypes, faces, dim, cal, only)
    applied = await _apply(store, candidates)
    # Then the faces in no cluster, one by one. A cluster just given to a person no longer competes with
    # that person (it was the same person, and would otherwise block its own loose faces).
    taken = {a.face_id for a in applied}
    candidates = await asyncio.to_thread(_face_pass, prototypes, faces, x, taken, dim, cal, only)
    applied += await _apply(store, candidates)
    log.info("propagation: %d unassigned faces, %d prototypes → %d assigned", len(faces), len(prototypes),
             len(applied))
    return applied


def _cluster_pass(prototypes: list[Prototype], faces: list[StoredFace], dim: int, cal: Calibration,
                  only: frozenset[int] | None) -> tuple[Matrix, list[Candidate]]:
    x = stack([face.embedding for face in faces], dim)
    clusters: dict[int, list[int]] = defaultdict(list)
    for row, face in enumerate(faces):
        if face.cluster_id is not None:
            clusters[face.cluster_id].append(row)
    index = PersonIndex.build(prototypes, dim, representatives(faces, x))
    return x, match_clusters(index, clusters, faces, x, cal, only)


def _face_pass(prototypes: list[Prototype], faces: list[StoredFace], x: Matrix, taken: set[str], dim: int,
               cal: Calibration, only: frozenset[int] | None) -> list[Candidate]:
    rest = [row for row, face in enumerate(faces) if face.id not in taken]
    index = PersonIndex.build(prototypes, dim, representatives([faces[r] for r in rest], x[rest]))
    loose = [row for row in rest if faces[row].cluster_id is None]
    return match_faces(index, [faces[r] for r in loose], x[loose], cal, only)


async def _apply(store: FaceStore, candidates: list[Candidate]) -> list[AutoAssignment]:
    if not candidates:
        return []
    present = await store.people_in_images(sorted({c.image_id for c in candidates}))
    return await store.auto_assign(resolve(candidates, present))
