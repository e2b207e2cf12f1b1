"""Faces, people and clusters, whichever API asks (api/http_people.py, api/grpc_people.py call this):
checks every argument, calls the PeopleStore, and publishes what changed.

Each write publishes imgsearch.v1.people.changed after the store commits (the faces service re-matches
unassigned faces against the changed people). A user may make the same edit twice on purpose, so every
message id carries a fresh request id: both are delivered."""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from google.protobuf.message import Message

from imgsearch.common.db.people_records import (
    ClusterRecord,
    FaceRecord,
    Page,
    PeopleChange,
    PeopleStore,
    PersonRecord,
)
from imgsearch.common.errors import InvalidInput, NotFound, OutsideLibrary
from imgsearch.common.ids import message_id
from imgsearch.common.subjects import COMMANDS_CLUSTERING, PEOPLE_CHANGED
from imgsearch.events.v1.events_pb2 import ClusteringRequested, PeopleChanged
from imgsearch.gateway.files import read_capped
from imgsearch.gateway.paging import check_page
from imgsearch.gateway.service import check_image_id
from imgsearch.search.domain import MAX_INT64

log = logging.getLogger(__name__)

FACE_IDS_PER_EVENT = 5000  # ~200 kB of ids per people.changed event
MAX_NAME_CHARS = 200
MAX_FACE_IDS = 500  # faces given to a new person in one request
MAX_MERGE_SOURCES = 100
MAX_CLUSTER_SIZE_FILTER = 1_000_000
DEFAULT_MIN_CLUSTER_SIZE = 2
CLUSTER_SAMPLES = 6
MAX_CROP_BYTES = 2 * 1024 * 1024  # crops are ~160 px JPEGs; a bigger file is not one of ours
_FACE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Bus.publish(subject, message, msg_id) -> False when dropped as a duplicate
Publish = Callable[[str, Message, str], Awaitable[bool]]


@dataclass(frozen=True)
class PersonEdit:
    """A PATCH of a person: None leaves a field as it is; birth_date "" clears it."""

    name: str | None = None
    hidden: bool | None = None
    birth_date: str | None = None


class PeopleService:
    def __init__(self, store: PeopleStore, publish: Publish, crops_dir: Path) -> None:
        self.store = store
        self.publish = publish
        self.crops_dir = crops_dir

    # -- people -----------------------------------------------------------------------------------

    async def list_people(
        self, limit: int, offset: int, include_hidden: bool = False, query: str = ""
    ) -> Page[PersonRecord]:
        limit, offset = check_page(limit, offset)
        query = query.strip()
        if len(query) > MAX_NAME_CHARS or _has_control_chars(query):
            raise InvalidInput(f"the name query must be at most {MAX_NAME_CHARS} printable characters")
        return await self.store.list_people(limit, offset, include_hidden=include_hidden, name_query=query)

    async def person(self, person_id: int) -> PersonRecord:
        return await self.store.get_person(check_id(person_id, "person"))

    async def person_faces(self, person_id: int, limit: int, offset: int) -> Page[FaceRecord]:
        limit, offset = check_page(limit, offset)
        return await self.store.person_faces(check_id(person_id, "person"), limit, offset)

    async def person_photos(self, person_id: int, limit: int, offset: int) -> Page[str]:
        limit, offset = check_page(limit, offset)
        return await self.store.person_photos(check_id(person_id, "person"), limit, offset)

    async def create_person(self, name: str, face_ids: Sequence[str] = ()) -> PersonRecord:
        name = check_name(name)
        faces = check_face_ids(face_ids, MAX_FACE_IDS)
        person, change = await self.store.create_person(name, faces)
        await self._changed(change)
        return person

    async def update_person(self, person_id: int, edit: PersonEdit) -> PersonRecord:
        """Every field is checked before the first write; each field is its own change event."""
        person_id = check_id(person_id, "person")
        name = None if edit.name is None else check_name(edit.name)
        birth_date = None if edit.birth_date is None else check_birth_date(edit.birth_date)
        if name is not None:
            await self._changed(await self.store.rename_person(person_id, name))
        if edit.hidden is not None:
            await self._changed(await self.store.set_person_hidden(person_id, edit.hidden))
        if edit.birth_date is not None:
            await self._changed(await self.store.set_birth_date(person_id, birth_date))
        return await self.store.get_person(person_id)

    async def merge_people(self, person_id: int, source_ids: Sequence[int]) -> PersonRecord:
        person_id = check_id(person_id, "person")
        if not source_ids:
            raise InvalidInput("source_ids is empty: name the people to merge into this one")
        if len(source_ids) > MAX_MERGE_SOURCES:
            raise InvalidInput(f"at most {MAX_MERGE_SOURCES} people can be merged at once")
        sources = list(dict.fromkeys(check_id(s, "person") for s in source_ids))
        if person_id in sources:
            raise InvalidInput(f"person {person_id} cannot be merged into itself")
        await self._changed(await self.store.merge_people(person_id, sources))
        return await self.store.get_person(person_id)

    # -- clusters ---------------------------------------------------------------------------------

    async def list_clusters(
        self, limit: int, offset: int, min_size: int = 0, include_hidden: bool = False
    ) -> Page[ClusterRecord]:
        limit, offset = check_page(limit, offset)
        if not 0 <= min_size <= MAX_CLUSTER_SIZE_FILTER:
            raise InvalidInput(f"min_size must be between 1 and {MAX_CLUSTER_SIZE_FILTER} (got {min_size})")
        min_size = min_size or DEFAULT_MIN_CLUSTER_SIZE
        return await self.store.list_clusters(
            limit, offset, min_size=min_size, include_hidden=include_hidden, samples=CLUSTER_SAMPLES,
        )

    async def cluster(
        self, cluster_id: int, limit: int, offset: int
    ) -> tuple[ClusterRecord, Page[FaceRecord]]:
        limit, offset = check_page(limit, offset)
        return await self.store.get_cluster(check_id(cluster_id, "cluster"), limit, offset)

    async def label_cluster(
        self, cluster_id: int, name: str | None = None, person_id: int | None = None
    ) -> PersonRecord:
        cluster_id = check_id(cluster_id, "cluster")
        if (name is None) == (person_id is None):
            raise InvalidInput("give either a name (a new person) or a person_id (an existing one)")
        name = None if name is None else check_name(name)
        person_id = None if person_id is None else check_id(person_id, "person")
        person, change = await self.store.label_cluster(cluster_id, name=name, person_id=person_id)
        await self._changed(change)
        return person

    async def update_cluster(self, cluster_id: int, hidden: bool | None = None) -> ClusterRecord:
        """A PATCH of a cluster (None leaves it as it is); the cluster with its sample faces."""
        cluster_id = check_id(cluster_id, "cluster")
        if hidden is not None:
            await self.store.set_cluster_hidden(cluster_id, hidden)
        cluster, members = await self.store.get_cluster(cluster_id, CLUSTER_SAMPLES, 0)
        return cluster if cluster.samples else replace(cluster, samples=members.items)

    async def request_clustering(self, full: bool = False) -> str:
        """Queue a clustering run (imgsearch.v1.commands.clustering); returns the request id."""
        request_id = uuid.uuid4().hex
        command = ClusteringRequested(full=full, request_id=request_id, reason="api")
        await self.publish(COMMANDS_CLUSTERING, command, message_id(COMMANDS_CLUSTERING, request_id))
        return request_id

    # -- faces ------------------------------------------------------------------------------------

    async def face(self, face_id: str) -> FaceRecord:
        return await self.store.get_face(check_face_id(face_id))

    async def face_crop(self, face_id: str) -> Path:
        """The crop's file, which must resolve (symlinks too) inside the face crops folder."""
        face = await self.face(face_id)
        if not face.crop_path:
            raise NotFound(f"face {face.id} has no crop")
        try:
            root = self.crops_dir.resolve()
            path = (root / face.crop_path).resolve()
        except (OSError, ValueError, RuntimeError) as exc:  # NUL bytes, symlink loops
            raise NotFound(f"the crop of face {face.id} cannot be read: {exc}") from exc
        if not path.is_relative_to(root):
            raise OutsideLibrary(f"the crop of face {face.id} lies outside the face crops folder")
        if not path.is_file():
            raise NotFound(f"the crop of face {face.id} is missing")
        return path

    async def face_crop_bytes(self, face_id: str) -> tuple[str, bytes]:
        """The face id (normalised) and its crop's JPEG bytes, for APIs that cannot stream a file."""
        face_id = check_face_id(face_id)
        path = await self.face_crop(face_id)
        data = await read_capped(path, MAX_CROP_BYTES, f"the crop of face {face_id}")
        return face_id, data

    async def assign_face(self, face_id: str, person_id: int) -> FaceRecord:
        face_id, person_id = check_face_id(face_id), check_id(person_id, "person")
        await self._changed(await self.store.assign_face(face_id, person_id))
        return await self.store.get_face(face_id)

    async def unassign_face(self, face_id: str) -> FaceRecord:
        face_id = check_face_id(face_id)
        await self._changed(await self.store.unassign_face(face_id))
        return await self.store.get_face(face_id)

    async def reject_face(self, face_id: str, person_id: int) -> FaceRecord:
        face_id, person_id = check_face_id(face_id), check_id(person_id, "person")
        await self._changed(await self.store.reject_face(face_id, person_id))
        return await self.store.get_face(face_id)

    async def remove_from_cluster(self, face_id: str) -> FaceRecord:
        face_id = check_face_id(face_id)
        await self._changed(await self.store.remove_from_cluster(face_id))
        return await self.store.get_face(face_id)

    async def pin_face(self, face_id: str, pinned: bool) -> FaceRecord:
        face_id = check_face_id(face_id)
        await self._changed(await self.store.pin_face(face_id, pinned))
        return await self.store.get_face(face_id)

    async def image_faces(self, image_id: str) -> tuple[str, list[FaceRecord]]:
        """The image id (normalised) and its faces."""
        image_id = check_image_id(image_id)
        return image_id, await self.store.image_faces(image_id)

    async def image_faces_page(self, image_id: str, limit: int, offset: int) -> tuple[str, Page[FaceRecord]]:
        """A page of an image's faces for the APIs (a crowd photo has hundreds): limit 0 = the default."""
        limit, offset = check_page(limit, offset)
        image_id, faces = await self.image_faces(image_id)
        return image_id, Page(faces[offset:offset + limit], len(faces))

    async def _changed(self, change: PeopleChange) -> None:
        for event, msg_id in people_changed_events(change):
            try:
                await self.publish(PEOPLE_CHANGED, event, msg_id)
            except Exception as exc:  # the edit is committed: answer it; propagation waits for the next
                log.warning("people.changed (%s of %s) not published: %r", change.change,
                            list(change.person_ids), exc)
                return


def people_changed_events(change: PeopleChange) -> list[tuple[PeopleChanged, str]]:
    """The imgsearch.v1.people.changed events (with their Nats-Msg-Id) that announce a committed people
    write: one per FACE_IDS_PER_EVENT faces, so merging a person with 50k faces fits NATS's limit."""
    request_id = uuid.uuid4().hex  # two identical edits are two facts: both are delivered
    people = ",".join(map(str, change.person_ids))
    faces = list(change.face_ids)
    parts = [faces[i : i + FACE_IDS_PER_EVENT] for i in range(0, len(faces), FACE_IDS_PER_EVENT)] or [[]]
    events = []
    for part, chunk in enumerate(parts):
        event = PeopleChanged(person_ids=change.person_ids, change=change.change, request_id=request_id)
        event.face_ids.extend(chunk)  # the faces service updates these faces' vectors
        events.append((event, message_id(PEOPLE_CHANGED, change.change, people, request_id, str(part))))
    return events


def crop_url(face_id: str) -> str:
    return f"/api/v1/faces/{face_id}/crop"


def check_id(value: int, kind: str) -> int:
    if not 0 < value <= MAX_INT64:
        raise InvalidInput(f"{value} is not a {kind} id (a positive 64-bit integer)")
    return value


def check_face_id(value: str) -> str:
    normal = value.strip().lower()
    if not _FACE_ID.fullmatch(normal):
        raise InvalidInput(f"{value[:80]!r} is not a face id (a UUID)")
    return normal


def check_face_ids(values: Sequence[str], most: int) -> list[str]:
    if len(values) > most:
        raise InvalidInput(f"at most {most} face ids per request (got {len(values)})")
    return list(dict.fromkeys(check_face_id(v) for v in values))


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("the name is empty")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"the name is longer than {MAX_NAME_CHARS} characters")
    if _has_control_chars(name):
        raise InvalidInput("the name contains control characters")
    return name


def check_birth_date(text: str) -> date | None:
    """"" clears the date; otherwise YYYY-MM-DD, not in the future."""
    text = text.strip()
    if not text:
        return None
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError("expected YYYY-MM-DD")
        birth = date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"birth_date {text[:40]!r} is not a date (YYYY-MM-DD): {exc}") from exc
    if birth > datetime.now(UTC).date():
        raise InvalidInput(f"birth_date {text} is in the future")
    return birth


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _has_control_chars(text: str) -> bool:
    """Control characters, lone surrogates, and bidirectional overrides (which make a name display as
    another: "a\u202eb" shows as "ba"). Joiners stay allowed: emoji and many scripts need them."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI_CONTROLS for ch in text)
