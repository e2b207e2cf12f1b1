"""Identifiers derived from content, so that every write and publish is idempotent."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

_POINT_NAMESPACE = uuid.UUID("6f1d7f0e-3c55-4d0b-9a51-2f7e3c1b9a10")
_CHUNK = 1 << 20


def content_hash(path: Path) -> str:
    """sha256 of the file's bytes, hex: the image id."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def point_id(image_id: str) -> str:
    """Vector-store point id for an image (Qdrant wants a UUID or an integer)."""
    return str(uuid.uuid5(_POINT_NAMESPACE, image_id))


def message_id(subject: str, *parts: str) -> str:
    """Nats-Msg-Id for a publish: the same fact published twice inside the window is dropped."""
    return hashlib.sha256("\x1f".join((subject, *parts)).encode()).hexdigest()[:32]


def life_of(created: datetime) -> str:
    """A row's creation time as a message-id part: the same row gives the same text on every read, a row
    made again (the file deleted and put back) another, so its events are not dropped as repeats."""
    return created.astimezone(UTC).isoformat()


def face_id(image_id: str, backend: str, box: tuple[int, int, int, int]) -> str:
    """A face's id (also its point id in the faces collection): the same detection gives the same id."""
    return str(uuid.uuid5(_POINT_NAMESPACE, f"face\x1f{image_id}\x1f{backend}\x1f{','.join(map(str, box))}"))
