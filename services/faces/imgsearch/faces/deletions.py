"""images.deleted (image removed) → its points leave the faces collection, its crops leave the disk, and
the people who had a face in it get their prototypes chosen again (their faces rows went with the image).

Idempotent and order-safe: nothing is done while PostgreSQL still (or again) has the image, since face ids
are derived from the image and its boxes: a re-ingested image would own the very same ids."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from imgsearch.common.bus import Delivery
from imgsearch.common.db.face_records import FaceStore
from imgsearch.common.errors import ImgSearchError, InvalidInput, Unavailable
from imgsearch.common.image_deletions import CurrentPaths, parse_deleted
from imgsearch.common.vectors.port import FACES_COLLECTION, VectorStore
from imgsearch.faces.crops import crop_relpath

log = logging.getLogger(__name__)
DURABLE_DELETES = "faces-deletes"
Outcome = BaseException | None


class FaceDeletions:
    def __init__(self, store: FaceStore, vectors: VectorStore, paths: CurrentPaths, crops_dir: Path,
                 per_era: int, on_people_changed: Callable[[], None] | None = None) -> None:
        self.store = store
        self.vectors = vectors
        self.paths = paths
        self.crops_dir = crops_dir
        self.per_era = per_era
        self.on_people_changed = on_people_changed

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        return [await self._one(delivery.data) for delivery in deliveries]

    async def _one(self, data: bytes) -> Outcome:
        try:
            event = parse_deleted(data)
        except InvalidInput as exc:
            return exc
        if not event.image_removed:
            return None  # a path went, the image and its faces stay
        try:
            if await self.paths.of(event.image_id) is not None:
                return None  # ingested again meanwhile: its faces are current
            if event.face_ids:
                await self.vectors.delete(FACES_COLLECTION, list(event.face_ids))
                await asyncio.to_thread(self._drop_crops, list(event.face_ids))
            if event.person_ids:
                await self.store.refresh_prototypes(sorted(set(event.person_ids)), self.per_era)
                if self.on_people_changed is not None:
                    self.on_people_changed()
        except ImgSearchError as exc:
            return exc
        except Exception as exc:
            return Unavailable(f"removing the faces of {event.image_id} failed: {exc!r}"[:500])
        log.info("faces of removed image %s dropped (%d faces)", event.image_id[:12], len(event.face_ids))
        return None

    def _drop_crops(self, face_ids: Sequence[str]) -> None:
        for face_id in face_ids:
            try:
                (self.crops_dir / crop_relpath(face_id)).unlink(missing_ok=True)
            except OSError as exc:  # a leftover crop is harmless
                log.warning("could not delete face crop of %s: %s", face_id, exc)
