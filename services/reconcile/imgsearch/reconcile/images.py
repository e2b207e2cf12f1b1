"""The images collection against PostgreSQL: images without a vector are re-published to the embed worker,
points without an image are deleted, and payload fields PostgreSQL is the truth for (folders of every
ingested path, taken_at, location, camera) are set again where they differ. ``person_ids`` is not
compared: nothing in PostgreSQL keeps it for images.

An image without a point is drift when it is marked embedded, or when it is pending while the embed
consumer has nothing left to deliver or settle (its message is gone: lost, or settled without a write).
A pending image while the consumer still has work is on its way; a failed one keeps its reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from imgsearch.common.cameras import camera_name
from imgsearch.common.folders import folders_of
from imgsearch.common.ids import message_id, point_id
from imgsearch.common.ingested_metadata import add_metadata
from imgsearch.common.subjects import IMAGES_INGESTED
from imgsearch.common.vectors.port import IMAGES_COLLECTION, StoredPoint, VectorStore
from imgsearch.events.v1.events_pb2 import ImageIngested
from imgsearch.reconcile.orphans import remove_orphans
from imgsearch.reconcile.report import ImagesCheck
from imgsearch.reconcile.store import ImageRow, IngestedImage, ReconcileRepository

PAGE = 500
COMPARED = ("folders", "taken_at", "location", "camera")  # what the folder and metadata filters rely on


class Publisher(Protocol):
    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool: ...


class ImagesReconciler:
    def __init__(self, repo: ReconcileRepository, vectors: VectorStore, publisher: Publisher,
                 run_id: str) -> None:
        self.repo, self.vectors, self.publisher, self.run_id = repo, vectors, publisher, run_id

    async def check(self, report: ImagesCheck, repair: bool, embed_work_left: int | None) -> None:
        report.collection_exists = await self.vectors.collection_spec(IMAGES_COLLECTION) is not None
        report.postgres = await self.repo.count_images()
        if report.collection_exists:
            report.points = await self.vectors.count(IMAGES_COLLECTION)
        after = ""
        while rows := await self.repo.image_page(after, PAGE):
            after = rows[-1].id
            await self._check_page(rows, report, repair, embed_work_left)
        if report.collection_exists:
            await remove_orphans(self.vectors, IMAGES_COLLECTION, PAGE, self._orphans_of, report, repair)

    async def _check_page(self, rows: Sequence[ImageRow], report: ImagesCheck, repair: bool,
                          embed_work_left: int | None) -> None:
        payloads: dict[str, dict[str, Any]] = {}
        if report.collection_exists:
            found = await self.vectors.retrieve(IMAGES_COLLECTION, [point_id(r.id) for r in rows])
            payloads = {p.id: p.payload for p in found}
            await self._payloads(rows, payloads, report, repair)
        present = set(payloads)
        stalled = []
        for row in rows:
            if point_id(row.id) in present:
                continue
            report.missing += 1
            if row.embed_status == "embedded":
                report.embedded_without_vector += 1
                stalled.append(row.id)
            elif row.embed_status == "failed":
                report.failed += 1
            elif embed_work_left == 0:
                report.pending_stalled += 1
                stalled.append(row.id)
            else:
                report.pending_queued += 1
        if stalled:
            await self._republish(stalled, report, repair)

    async def _payloads(self, rows: Sequence[ImageRow], payloads: Mapping[str, Mapping[str, Any]],
                        report: ImagesCheck, repair: bool) -> None:
        ids = [row.id for row in rows if point_id(row.id) in payloads]
        drifted = [
            image.id for image in await self.repo.ingested_images(ids)
            if _differs(payloads[point_id(image.id)], image_payload(image))
        ]
        report.payload_drift += len(drifted)
        if repair and drifted:
            # Read again right before writing: a path ingested or removed since the first read counts.
            fresh = await self.repo.ingested_images(drifted)
            await self.vectors.set_payload(IMAGES_COLLECTION,
                                           {point_id(image.id): image_payload(image) for image in fresh})
            report.payloads_fixed += len(fresh)

    async def _republish(self, ids: Sequence[str], report: ImagesCheck, repair: bool) -> None:
        images = await self.repo.ingested_images(ids)
        readable = [image for image in images if image.files]
        report.no_file += len(images) - len(readable)
        if not repair or not readable:
            return
        # Pending first: a publish that fails after this leaves a stalled image the next run picks up;
        # the other order could overwrite the embedded status the worker has meanwhile written.
        await self.repo.mark_pending([image.id for image in readable])
        for image in readable:
            path = image.files[0][0]
            # A fresh Nats-Msg-Id: the original one may still sit in the 24 h duplicate window.
            msg_id = message_id(IMAGES_INGESTED, image.id, path, "reconcile", self.run_id)
            await self.publisher.publish(IMAGES_INGESTED, ingested_event(image), msg_id)
            report.republished += 1

    async def _orphans_of(self, points: Sequence[StoredPoint]) -> list[str]:
        claimed = {p.id: p.payload.get("image_id") for p in points}
        known = await self.repo.known_images([i for i in claimed.values() if isinstance(i, str)])
        return [
            pid for pid, image_id in claimed.items()
            if not isinstance(image_id, str) or image_id not in known or point_id(image_id) != pid
        ]


def ingested_event(image: IngestedImage) -> ImageIngested:
    """images.ingested as the ingest service builds it: the first path, folders of every path."""
    path, root = image.files[0]
    event = ImageIngested(
        image_id=image.id, path=path, library_root=root, size_bytes=image.size_bytes,
        width=image.width or 0, height=image.height or 0, format=image.format or "",
        folders=folders_of(image.files),
    )
    add_metadata(event, image)
    return event


def image_payload(image: IngestedImage) -> dict[str, Any]:
    """The compared keys as the embed service writes them from this image's images.ingested
    (imgsearch.embed.handlers.payload_for), None for what PostgreSQL does not know. Without an ingested
    file the folders are left out: its ingest is in flight and brings them (as images.deleted does)."""
    payload: dict[str, Any] = {"taken_at": None, "location": None,
                               "camera": camera_name(image.camera_make, image.camera_model)}
    if image.files:
        payload["folders"] = folders_of(image.files)
    if image.taken_at is not None:
        stamp = Timestamp()
        stamp.FromDatetime(image.taken_at)
        payload["taken_at"] = stamp.seconds + stamp.nanos / 1e9
    if image.gps_lat is not None and image.gps_lon is not None:
        payload["location"] = {"lat": image.gps_lat, "lon": image.gps_lon}
    return payload


def _differs(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return any(stored.get(key) != wanted[key] for key in COMPARED if key in wanted)
