"""What every images.deleted consumer shares: parsing, the PostgreSQL check port, the dead letter."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from google.protobuf.message import DecodeError

from imgsearch.common.bus import Delivery
from imgsearch.common.db.images import ImageRepository
from imgsearch.common.errors import InvalidInput, describe
from imgsearch.events.v1.events_pb2 import ImageDeleted

log = logging.getLogger(__name__)


class CurrentPaths(Protocol):
    """imgsearch.common.db.image_paths.ImagePaths (a fake in unit tests)."""

    async def of(self, image_id: str) -> list[tuple[str, str]] | None: ...


def parse_deleted(data: bytes) -> ImageDeleted:
    try:
        event = ImageDeleted.FromString(data)
    except DecodeError as exc:
        raise InvalidInput(f"not an ImageDeleted message: {exc}") from None
    if not event.image_id:
        raise InvalidInput("ImageDeleted without image_id")
    return event


def dead_letters(images: ImageRepository, stream: str, durable: str
                 ) -> Callable[[Delivery, BaseException], Awaitable[None]]:
    async def record(delivery: Delivery, error: BaseException) -> None:
        reason = describe(error)
        log.error("%s gave up on images.deleted seq %d: %s", durable, delivery.stream_seq, reason)
        await images.record_dead_letter(stream, durable, delivery.subject, delivery.stream_seq,
                                        delivery.deliveries, reason, delivery.data)

    return record
