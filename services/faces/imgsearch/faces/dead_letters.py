"""When the bus gives up on a message: a dead-letter row, the image's faces status, images.failed.faces."""

from __future__ import annotations

import contextlib
import logging

from imgsearch.common.bus import Delivery
from imgsearch.common.db.face_records import FaceStore
from imgsearch.common.db.images import ImageRepository
from imgsearch.common.errors import InvalidInput, NotFound, describe
from imgsearch.common.ids import message_id
from imgsearch.common.subjects import failed_subject
from imgsearch.events.v1 import events_pb2 as ev
from imgsearch.faces.messages import parse_detect_job
from imgsearch.faces.ports import Publisher

log = logging.getLogger(__name__)
STAGE = "faces"


class FacesDeadLetters:
    def __init__(
        self, images: ImageRepository, store: FaceStore, publisher: Publisher, stream: str, durable: str
    ) -> None:
        self.images = images
        self.store = store
        self.publisher = publisher
        self.stream = stream
        self.durable = durable

    async def detection(self, delivery: Delivery, error: BaseException) -> None:
        reason = describe(error)
        await self._record(delivery, reason)
        try:
            job = parse_detect_job(delivery.subject, delivery.data)
        except InvalidInput:
            job = None
        if job is not None:
            with contextlib.suppress(NotFound):  # the image row is gone: the dead letter says it all
                await self.store.mark_faces_failed(job.image_id, reason)
        image_id = job.image_id if job else ""
        failed = ev.ImageFailed(
            image_id=image_id,
            path=str(job.path) if job else "",
            stage=STAGE,
            reason=reason,
            deliveries=delivery.deliveries,
        )
        subject = failed_subject(STAGE)
        await self.publisher.publish(subject, failed, message_id(subject, image_id, str(delivery.stream_seq)))
        log.warning("faces gave up on %s: %s", image_id or f"seq {delivery.stream_seq}", reason)

    async def people(self, delivery: Delivery, error: BaseException) -> None:
        await self._record(delivery, describe(error))
        log.warning("faces gave up on %s seq %d: %s", delivery.subject, delivery.stream_seq, describe(error))

    async def _record(self, delivery: Delivery, reason: str) -> None:
        await self.images.record_dead_letter(
            self.stream,
            self.durable,
            delivery.subject,
            delivery.stream_seq,
            delivery.deliveries,
            reason,
            delivery.data,
        )
