"""Parsing the messages the faces service consumes, building the ones it publishes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from google.protobuf.message import DecodeError

from imgsearch.common.db.face_records import AutoAssignment, StoredFace
from imgsearch.common.errors import InvalidInput
from imgsearch.common.subjects import COMMANDS_DETECT_FACES
from imgsearch.events.v1 import events_pb2 as ev

ASSIGNMENTS_PER_MESSAGE = 2000  # ~150 kB: well inside NATS's default 1 MB message limit

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass(frozen=True)
class DetectJob:
    image_id: str
    path: Path
    forced: bool = False  # a re-index command or a redelivery: detect even when the image's faces are done


def parse_detect_job(subject: str, data: bytes) -> DetectJob:
    """images.ingested or commands.faces.detect (re-index): both name an image and a file to read."""
    message: ev.ImageIngested | ev.DetectFacesRequested
    try:
        if subject == COMMANDS_DETECT_FACES:
            message = ev.DetectFacesRequested.FromString(data)
        else:
            message = ev.ImageIngested.FromString(data)
    except DecodeError as exc:
        raise InvalidInput(f"not a {subject} message: {exc}") from None
    if not message.image_id or not message.path:
        raise InvalidInput(f"{subject} message without image_id or path")
    return DetectJob(message.image_id, Path(message.path), forced=subject == COMMANDS_DETECT_FACES)


def parse_people_changed(data: bytes) -> ev.PeopleChanged:
    try:
        return ev.PeopleChanged.FromString(data)
    except DecodeError as exc:
        raise InvalidInput(f"not a PeopleChanged message: {exc}") from None


def faces_detected(image_id: str, backend: str, model: str, faces: Sequence[StoredFace],
                   boxes: dict[str, tuple[int, int, int, int]]) -> ev.FacesDetected:
    message = ev.FacesDetected(image_id=image_id, backend=backend, model=model)
    for face in faces:
        x1, y1, x2, y2 = boxes.get(face.id, (0, 0, 0, 0))
        message.faces.append(ev.FaceRef(
            face_id=face.id, box=ev.FaceBox(x1=x1, y1=y1, x2=x2, y2=y2), quality=face.quality,
            person_id=face.person_id or 0,
        ))
    return message


def faces_assigned(applied: Sequence[AutoAssignment], image_of: dict[str, str]) -> ev.FacesAssigned:
    return ev.FacesAssigned(assignments=[
        ev.FaceAssignment(face_id=a.face_id, image_id=image_of.get(a.face_id, ""), person_id=a.person_id,
                          confidence=a.confidence, source="auto")
        for a in applied
    ])


def face_payload(face: StoredFace) -> dict[str, object]:
    """Payload of a point in the faces collection."""
    payload: dict[str, object] = {"image_id": face.image_id, "quality": float(face.quality)}
    payload["person_id"] = face.person_id
    payload["cluster_id"] = face.cluster_id
    if face.taken_at is not None:
        payload["taken_at"] = face.taken_at.timestamp()
    return payload
