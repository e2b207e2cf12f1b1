"""images.ingested → vectors upserted → embed status in PostgreSQL → images.embedded. One outcome per
message: None acks it, BadImage/InvalidInput terms it (poison), Unavailable naks it with backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError

from imgsearch.common.bus import Delivery
from imgsearch.common.errors import ImgSearchError, InvalidInput, Unavailable, describe
from imgsearch.common.ids import message_id, point_id
from imgsearch.common.subjects import EVENTS, IMAGES_EMBEDDED, failed_subject
from imgsearch.common.vectors.port import IMAGES_COLLECTION, VectorPoint, VectorStore
from imgsearch.embed.pipeline import EmbedPipeline
from imgsearch.embed.ports import EmbedStatus, Publisher
from imgsearch.events.v1 import events_pb2 as ev

log = logging.getLogger(__name__)

STAGE = "embed"
DURABLE = "embed"
Outcome = BaseException | None


@dataclass(frozen=True)
class _Embedded:
    index: int
    event: ev.ImageIngested
    vector: list[float]


class EmbedHandlers:
    def __init__(self, pipeline: EmbedPipeline, vectors: VectorStore, status: EmbedStatus,
                 publisher: Publisher, collection: str = IMAGES_COLLECTION) -> None:
        self.pipeline = pipeline
        self.vectors = vectors
        self.status = status
        self.publisher = publisher
        self.collection = collection
        self._store_lock = asyncio.Lock()
        info = pipeline.encoder.info
        self.model_label = f"{info.model}/{info.pretrained}"

    async def embed_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(deliveries)
        events: dict[int, ev.ImageIngested] = {}
        for index, delivery in enumerate(deliveries):
            try:
                events[index] = parse_ingested(delivery.data)
            except InvalidInput as exc:
                outcomes[index] = exc
        prepared = await self.pipeline.prepare([Path(event.path) for event in events.values()])
        ready = []
        for (index, event), pixels in zip(events.items(), prepared, strict=True):
            if isinstance(pixels, BaseException):
                outcomes[index] = pixels
            else:
                ready.append((index, event, pixels))
        if not ready:
            return outcomes
        try:
            vectors = await self.pipeline.encode([pixels for _, _, pixels in ready])
        except Exception as exc:  # e.g. out of memory: retry later, maybe in smaller company
            log.warning("inference failed for a batch of %d: %r", len(ready), exc)
            return _fail(outcomes, [index for index, _, _ in ready], exc)
        done = [
            _Embedded(index, event, vector.tolist())
            for (index, event, _), vector in zip(ready, vectors, strict=True)
        ]
        try:
            await self._store(done)
        except Exception as exc:
            return _fail(outcomes, [item.index for item in done], _unavailable(exc))
        for item in done:
            outcomes[item.index] = await self._announce(item.event.image_id)
        return outcomes

    async def dead_letter(self, delivery: Delivery, error: BaseException) -> None:
        """The bus gave up on a message (poison, or max deliveries): say why, everywhere it matters."""
        reason = describe(error)
        try:
            event: ev.ImageIngested | None = parse_ingested(delivery.data)
        except InvalidInput:
            event = None
        await self.status.record_dead_letter(
            EVENTS.name, DURABLE, delivery.subject, delivery.stream_seq, delivery.deliveries, reason,
            delivery.data,
        )
        image_id = event.image_id if event is not None else ""
        if image_id:
            await self.status.mark_failed(image_id, STAGE, reason)
        failed = ev.ImageFailed(image_id=image_id, path=event.path if event is not None else "", stage=STAGE,
                                reason=reason, deliveries=delivery.deliveries)
        subject = failed_subject(STAGE)
        await self.publisher.publish(subject, failed, message_id(subject, image_id, str(delivery.stream_seq)))
        log.warning("embed gave up on %s (%s): %s", image_id or f"seq {delivery.stream_seq}",
                    event.path if event is not None else "?", reason)

    async def _store(self, done: Sequence[_Embedded]) -> None:
        # An image at several paths arrives once per path, possibly in the same batch or in the other
        # batch in flight: merge the folders of all of them. The lock makes retrieve + upsert one step.
        points: dict[str, VectorPoint] = {}
        async with self._store_lock:
            ids = list(dict.fromkeys(point_id(item.event.image_id) for item in done))
            known = {p.id: p.payload for p in await self.vectors.retrieve(self.collection, ids)}
            for item in done:
                pid = point_id(item.event.image_id)
                previous = points[pid].payload if pid in points else known.get(pid)
                payload = payload_for(item.event, previous)
                points[pid] = VectorPoint(id=pid, vector=item.vector, payload=payload)
            await self.vectors.upsert(self.collection, list(points.values()))
        await self.status.mark_embedded([item.event.image_id for item in done], self.model_label)

    async def _announce(self, image_id: str) -> Outcome:
        info = self.pipeline.encoder.info
        message = ev.ImageEmbedded(
            image_id=image_id, collection=self.collection, model=info.model, pretrained=info.pretrained,
            dim=info.dim, random_weights=info.random_weights,
        )
        try:
            await self.publisher.publish(
                IMAGES_EMBEDDED, message, message_id(IMAGES_EMBEDDED, image_id, info.model, info.pretrained)
            )
        except Exception as exc:  # the vector is stored: a redelivery re-upserts and re-publishes (deduped)
            return _unavailable(exc)
        return None


def parse_ingested(data: bytes) -> ev.ImageIngested:
    try:
        event = ev.ImageIngested.FromString(data)
    except DecodeError as exc:
        raise InvalidInput(f"not an ImageIngested message: {exc}") from None
    if not event.image_id or not event.path:
        raise InvalidInput("ImageIngested without image_id or path")
    return event


def payload_for(event: ev.ImageIngested, known: dict[str, Any] | None) -> dict[str, Any]:
    folders = set(event.folders) | set((known or {}).get("folders") or ())
    payload: dict[str, Any] = {"image_id": event.image_id, "folders": sorted(folders)}
    if event.HasField("taken_at"):
        payload["taken_at"] = event.taken_at.seconds + event.taken_at.nanos / 1e9
    if event.HasField("location"):
        payload["location"] = {"lat": event.location.lat, "lon": event.location.lon}
    if event.camera:
        payload["camera"] = event.camera
    return payload


def _unavailable(exc: BaseException) -> ImgSearchError:
    if isinstance(exc, ImgSearchError):
        return exc
    return Unavailable(f"storing vectors or status failed: {exc!r}"[:500])


def _fail(outcomes: list[Outcome], indexes: Sequence[int], error: BaseException) -> list[Outcome]:
    for index in indexes:
        outcomes[index] = error
    return outcomes
