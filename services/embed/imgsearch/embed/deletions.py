"""images.deleted → the images collection follows PostgreSQL: the point goes when the image row is gone,
otherwise its folders are recomputed from the paths the image has now (a move or a removed copy).

Idempotent and order-safe: it acts on what PostgreSQL says at handling time, not on the event's claim, so
an image ingested again before this runs keeps its vector."""

from __future__ import annotations

from collections.abc import Sequence

from imgsearch.common.bus import Delivery
from imgsearch.common.errors import ImgSearchError, InvalidInput, Unavailable
from imgsearch.common.folders import folders_of
from imgsearch.common.ids import point_id
from imgsearch.common.image_deletions import CurrentPaths, parse_deleted
from imgsearch.common.vectors.port import IMAGES_COLLECTION, VectorStore

DURABLE_DELETES = "embed-deletes"
Outcome = BaseException | None


class EmbedDeletions:
    def __init__(self, vectors: VectorStore, paths: CurrentPaths, collection: str = IMAGES_COLLECTION
                 ) -> None:
        self.vectors = vectors
        self.paths = paths
        self.collection = collection

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        return [await self._one(delivery.data) for delivery in deliveries]

    async def _one(self, data: bytes) -> Outcome:
        try:
            image_id = parse_deleted(data).image_id
        except InvalidInput as exc:
            return exc
        try:
            paths = await self.paths.of(image_id)
            point = point_id(image_id)
            if paths is None:
                await self.vectors.delete(self.collection, [point])
            elif paths:  # none yet: its ingest is in flight and brings its folders itself
                await self.vectors.set_payload(self.collection, {point: {"folders": folders_of(paths)}})
        except ImgSearchError as exc:
            return exc
        except Exception as exc:
            return Unavailable(f"applying images.deleted failed: {exc!r}"[:500])
        return None
