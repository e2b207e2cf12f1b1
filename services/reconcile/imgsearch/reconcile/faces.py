"""The faces collection against the faces table (the truth, embeddings included): rows without a point are
upserted from PostgreSQL, points without a row deleted, payloads that differ from the row set again.

Payloads are written by imgsearch.faces.messages.face_payload, exactly as the faces service writes them."""

from __future__ import annotations

from collections.abc import Sequence

from imgsearch.common.db.face_records import StoredFace
from imgsearch.common.db.faces import FaceRepository
from imgsearch.common.vectors.port import FACES_COLLECTION, StoredPoint, VectorPoint, VectorStore
from imgsearch.faces.embeddings import unpack
from imgsearch.faces.messages import face_payload
from imgsearch.reconcile.orphans import remove_orphans
from imgsearch.reconcile.report import FacesCheck
from imgsearch.reconcile.store import ReconcileRepository

PAGE = 500
COMPARED = ("image_id", "person_id", "cluster_id")  # what search filters and people queries rely on


class FacesReconciler:
    def __init__(self, repo: ReconcileRepository, faces: FaceRepository, vectors: VectorStore) -> None:
        self.repo, self.faces, self.vectors = repo, faces, vectors

    async def check(self, report: FacesCheck, repair: bool) -> None:
        report.postgres = await self.repo.count_faces()
        report.collection_exists = await self.vectors.collection_spec(FACES_COLLECTION) is not None
        if not report.collection_exists:
            # The faces service creates it with its backend's spec; with rows but no collection, every
            # row is missing and only that service can restore them (a re-index).
            report.missing = report.postgres
            return
        report.points = await self.vectors.count(FACES_COLLECTION)
        after: str | None = None
        while ids := await self.repo.face_page(after, PAGE):
            after = ids[-1]
            await self._check_page(ids, report, repair)
        await remove_orphans(self.vectors, FACES_COLLECTION, PAGE, self._orphans_of, report, repair)

    async def _check_page(self, ids: Sequence[str], report: FacesCheck, repair: bool) -> None:
        points = {p.id: p.payload for p in await self.vectors.retrieve(FACES_COLLECTION, ids)}
        rows = {face.id: face for face in await self.faces.faces(ids)}  # a row deleted meanwhile: left out
        missing = [i for i in ids if i in rows and i not in points]
        drifted = [i for i in ids if i in rows and i in points and _differs(points[i], rows[i])]
        report.missing += len(missing)
        report.payload_drift += len(drifted)
        if not repair:
            return
        if missing:
            await self.vectors.upsert(FACES_COLLECTION, [_point(rows[i]) for i in missing])
            report.restored += len(missing)
        if drifted:
            # Read again right before writing: a people edit since the first read must not be undone.
            fresh = await self.faces.faces(drifted)
            await self.vectors.set_payload(FACES_COLLECTION, {f.id: face_payload(f) for f in fresh})
            report.payloads_fixed += len(fresh)

    async def _orphans_of(self, points: Sequence[StoredPoint]) -> list[str]:
        ids = [p.id for p in points]
        known = await self.repo.known_faces(ids)
        return [i for i in ids if i not in known]


def _differs(payload: dict[str, object], face: StoredFace) -> bool:
    wanted = face_payload(face)
    return any(payload.get(key) != wanted.get(key) for key in COMPARED)


def _point(face: StoredFace) -> VectorPoint:
    return VectorPoint(id=face.id, vector=unpack(face.embedding).tolist(), payload=face_payload(face))
