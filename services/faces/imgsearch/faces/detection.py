"""images.ingested (or a re-index command) → faces detected, embedded, stored, matched → faces.detected.

Order per image: PostgreSQL (the truth: faces replaced idempotently, ids derived from the detection) →
faces collection → phase-1 matching → events. A failure before the end naks the message; the redelivery
repeats every step with the same ids, so nothing is doubled."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from imgsearch.common.bus import Delivery
from imgsearch.common.db.face_records import AutoAssignment, FaceStore, NewFace, StoredFace
from imgsearch.common.errors import ImgSearchError, InvalidInput, Unavailable
from imgsearch.common.ids import message_id
from imgsearch.common.subjects import FACES_ASSIGNED, FACES_DETECTED
from imgsearch.common.vectors.port import FACES_COLLECTION, VectorPoint, VectorStore
from imgsearch.faces.analyze import AnalyzedFace, analyze_image
from imgsearch.faces.backends.port import FaceBackend
from imgsearch.faces.calibration import Calibration
from imgsearch.faces.embeddings import pack, stack, unpack
from imgsearch.faces.matching import REPRESENTATIVES, PersonIndex, match_faces, resolve
from imgsearch.faces.messages import DetectJob, face_payload, faces_assigned, faces_detected, parse_detect_job
from imgsearch.faces.ports import Publisher

log = logging.getLogger(__name__)

# This process drops the index on every people/clusters event it handles; this bounds how long a change
# made through another faces replica takes to be seen here.
INDEX_TTL_S = 10.0
Outcome = BaseException | None


@dataclass(frozen=True)
class DetectionConfig:
    crops_dir: Path
    crop_size: int
    max_pixels: int
    workers: int


class FaceDetection:
    def __init__(self, backend: FaceBackend, store: FaceStore, vectors: VectorStore, publisher: Publisher,
                 cal: Calibration, config: DetectionConfig) -> None:
        self.backend = backend
        self.store = store
        self.vectors = vectors
        self.publisher = publisher
        self.cal = cal
        self.config = config
        self.dim = backend.info.dim
        self._pool = ThreadPoolExecutor(max(1, config.workers), thread_name_prefix="faces")
        self._index: PersonIndex | None = None
        self._index_at = 0.0
        self._index_lock = asyncio.Lock()

    def invalidate_people(self) -> None:
        self._index = None

    async def person_index(self) -> PersonIndex:
        """Built once per change (or TTL) for all the batch's photos, off the event loop."""
        async with self._index_lock:
            if self._index is None or time.monotonic() - self._index_at > INDEX_TTL_S:
                clusters = await self.store.cluster_representatives(REPRESENTATIVES)
                prototypes = await self.store.prototypes()
                self._index = await asyncio.to_thread(PersonIndex.build, prototypes, self.dim, {
                    cluster: stack(blobs, self.dim) for cluster, blobs in clusters.items()
                })
                self._index_at = time.monotonic()
            return self._index

    async def detect_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        jobs: list[DetectJob | InvalidInput] = []
        for delivery in deliveries:
            try:
                job = parse_detect_job(delivery.subject, delivery.data)
            except InvalidInput as exc:
                jobs.append(exc)
                continue
            # A redelivery may follow a crash or a failed vector write *after* the rows were committed
            # with faces_status done: skipping it as done would leave the faces without vectors for good.
            # Detect again instead (idempotent: same boxes → same face ids, persons and clusters kept).
            jobs.append(replace(job, forced=True) if delivery.deliveries > 1 else job)
        return list(await asyncio.gather(*(self._one(job) for job in jobs)))

    async def _one(self, job: DetectJob | InvalidInput) -> Outcome:
        if isinstance(job, InvalidInput):
            return job
        try:
            if not job.forced and await self.store.faces_done(job.image_id):
                # Known content at a new path, or a touched file: the faces (and the names users gave
                # them) stay as they are. Re-detection is the re-index command's job.
                return None
        except Exception as exc:
            return Unavailable(f"reading the faces status failed: {exc!r}"[:500])
        loop = asyncio.get_running_loop()
        try:
            analyzed = await loop.run_in_executor(self._pool, self._analyze, job)
        except ImgSearchError as exc:
            return exc
        except Exception as exc:  # a backend bug or out of memory: retry, then dead-letter with the reason
            log.warning("face analysis of %s failed: %r", job.path, exc)
            return Unavailable(f"face analysis failed: {exc!r}"[:500])
        try:
            await self._store(job, analyzed)
        except ImgSearchError as exc:
            return exc
        except Exception as exc:
            return Unavailable(f"storing faces failed: {exc!r}"[:500])
        return None

    def _analyze(self, job: DetectJob) -> list[AnalyzedFace]:
        return analyze_image(job.path, self.backend, crops_dir=self.config.crops_dir,
                             crop_size=self.config.crop_size, image_id=job.image_id,
                             max_pixels=self.config.max_pixels)

    async def _store(self, job: DetectJob, analyzed: Sequence[AnalyzedFace]) -> None:
        rows = [new_face(a) for a in analyzed]
        removed = await self.store.replace_image_faces(job.image_id, rows)
        if removed:
            await self.vectors.delete(FACES_COLLECTION, removed)
        ids = [row.id for row in rows]
        stored = await self.store.faces(ids)
        applied = await self._match(stored)
        if applied:
            stored = await self.store.faces(ids)
        if stored:
            await self.vectors.upsert(FACES_COLLECTION, [
                VectorPoint(id=face.id, vector=unpack(face.embedding).tolist(), payload=face_payload(face))
                for face in stored
            ])
        boxes = {a.face_id: a.face.box for a in analyzed}
        info = self.backend.info
        detected = faces_detected(job.image_id, info.name, info.model, stored, boxes)
        await self.publisher.publish(FACES_DETECTED, detected,
                                     message_id(FACES_DETECTED, job.image_id, info.name, *sorted(ids)))
        if applied:
            assigned = faces_assigned(applied, {face.id: face.image_id for face in stored})
            await self.publisher.publish(FACES_ASSIGNED, assigned, message_id(
                FACES_ASSIGNED, *(f"{a.face_id}:{a.person_id}" for a in applied)))

    async def _match(self, faces: Sequence[StoredFace]) -> list[AutoAssignment]:
        """Phase 1: new faces against the people's prototypes (faces already assigned keep their person)."""
        loose = [face for face in faces if face.person_id is None]
        if not loose:
            return []
        index = await self.person_index()
        if not len(index):
            return []
        candidates = match_faces(index, loose, stack([f.embedding for f in loose], self.dim), self.cal)
        if not candidates:
            return []
        present = await self.store.people_in_images([loose[0].image_id])
        return await self.store.auto_assign(resolve(candidates, present))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def new_face(analyzed: AnalyzedFace) -> NewFace:
    face, quality = analyzed.face, analyzed.quality
    return NewFace(
        id=analyzed.face_id, box=face.box, det_score=float(face.score), quality=float(quality.quality),
        sharpness=float(quality.sharpness), yaw=float(quality.yaw), pitch=float(quality.pitch),
        roll=float(quality.roll), landmarks=tuple(float(v) for v in face.landmarks.reshape(-1)),
        age=face.age, sex=face.sex, embedding=pack(face.embedding), crop_path=analyzed.crop_path,
    )
