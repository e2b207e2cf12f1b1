"""A path left the library: tell the other services (images.deleted) and drop the image's thumbnail."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

from google.protobuf.message import Message

from imgsearch.common.ids import message_id
from imgsearch.common.subjects import IMAGES_DELETED
from imgsearch.events.v1.events_pb2 import ImageDeleted
from imgsearch.ingest.watch_repository import Removal

log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool: ...


def deleted_event(removal: Removal, reason: str, moved_to: str = "") -> ImageDeleted:
    return ImageDeleted(
        image_id=removal.image_id, path=removal.path, reason=reason, image_removed=removal.image_removed,
        moved_to=moved_to, face_ids=list(removal.face_ids), person_ids=list(removal.person_ids),
    )


async def announce(publisher: Publisher, removal: Removal, reason: str, thumbnails_dir: Path,
                   moved_to: str = "") -> None:
    """Publish images.deleted (one message id per image, path, outcome and the lives of the removed rows:
    a repeat is dropped, the same path removed again after it came back is not) and, when the image is
    gone, delete its thumbnail (only one of ours: the row's path is not trusted blindly)."""
    event = deleted_event(removal, reason, moved_to)
    outcome = "removed" if removal.image_removed else "kept"
    await publisher.publish(IMAGES_DELETED, event, message_id(
        IMAGES_DELETED, removal.image_id, removal.path, outcome, moved_to, removal.life))
    if removal.image_removed and removal.thumbnail:
        thumbnail = Path(removal.thumbnail)
        if thumbnail.is_relative_to(thumbnails_dir):
            await asyncio.to_thread(_unlink, thumbnail)


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # a leftover file is harmless
        log.warning("could not delete thumbnail %s: %s", path, exc)
