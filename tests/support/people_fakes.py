"""Fakes at the people ports: an in-memory PeopleStore that keeps the port's rules, and a recording publisher.

Rules kept (see PeopleStore): unknown ids raise NotFound; a person appears at most once per photo (a user's
assignment unassigns that person's other face in the photo); a face rejected for a person is never given
to them by a cluster label (assign_face lifts the rejection); merged-away people resolve to their target.
Assigned faces leave their cluster; a cluster with no faces left is deleted."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from google.protobuf.message import Message

from imgsearch.common.db.people_records import (
    ERAS,
    ClusterRecord,
    FaceRecord,
    Page,
    PeopleChange,
    PeopleImageFilter,
    PersonRecord,
)
from imgsearch.common.errors import Conflict, InvalidInput, NotFound, Unavailable
from imgsearch.common.ids import face_id


@dataclass
class _Person:
    id: int
    name: str
    hidden: bool = False
    birth_date: date | None = None
    merged_into: int | None = None


@dataclass
class _Face:
    id: str
    image_id: str
    box: tuple[int, int, int, int]
    quality: float
    age: float | None = None
    person_id: int | None = None
    assigned_by: str | None = None
    confidence: float | None = None
    cluster_id: int | None = None
    era: str | None = None
    prototype: bool = False
    pinned: bool = False
    taken_at: datetime | None = None
    crop_path: str | None = None


@dataclass
class FakePeopleStore:
    people: dict[int, _Person] = field(default_factory=dict)
    faces: dict[str, _Face] = field(default_factory=dict)
    clusters: dict[int, bool] = field(default_factory=dict)  # id -> hidden
    rejections: set[tuple[str, int]] = field(default_factory=set)
    images: set[str] = field(default_factory=set)
    filter_calls: list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- seeding (tests) --------------------------------------------------------------------------

    def add_face(
        self, image_id: str, x: int = 0, *, quality: float = 0.8, person_id: int | None = None,
        cluster_id: int | None = None, crop_path: str | None = "crop.jpg", age: float | None = None,
        era: str | None = None, prototype: bool = False, taken_at: datetime | None = None,
    ) -> str:
        box = (x, 10, x + 50, 60)
        fid = face_id(image_id, "insightface", box)
        self.images.add(image_id)
        self.faces[fid] = _Face(
            fid, image_id, box, quality, age=age, person_id=person_id, cluster_id=cluster_id,
            assigned_by="auto" if person_id else None, confidence=0.9 if person_id else None, era=era,
            prototype=prototype, taken_at=taken_at, crop_path=crop_path,
        )
        if cluster_id is not None:
            self.clusters.setdefault(cluster_id, False)
        return fid

    def add_person(self, name: str, hidden: bool = False) -> int:
        person = _Person(next(self._ids), name, hidden)
        self.people[person.id] = person
        return person.id

    # -- reads ------------------------------------------------------------------------------------

    async def list_people(self, limit: int, offset: int, include_hidden: bool = False,
                          name_query: str = "") -> Page[PersonRecord]:
        chosen = [
            self._person_record(p) for p in self.people.values()
            if p.merged_into is None and (include_hidden or not p.hidden)
            and name_query.lower() in p.name.lower()
        ]
        chosen.sort(key=lambda p: (-p.photo_count, p.name, p.id))
        return Page(chosen[offset : offset + limit], len(chosen))

    async def get_person(self, person_id: int) -> PersonRecord:
        return self._person_record(self._person(person_id))

    async def person_faces(self, person_id: int, limit: int, offset: int) -> Page[FaceRecord]:
        target = self._person(person_id).id
        faces = sorted(self._faces_of(target), key=lambda f: (-f.quality, f.id))
        return Page([self._face_record(f) for f in faces[offset : offset + limit]], len(faces))

    async def person_photos(self, person_id: int, limit: int, offset: int) -> Page[str]:
        photos = sorted(self._photos_of(self._person(person_id).id))
        return Page(photos[offset : offset + limit], len(photos))

    async def list_clusters(self, limit: int, offset: int, min_size: int = 2, include_hidden: bool = False,
                            samples: int = 6) -> Page[ClusterRecord]:
        chosen = [
            self._cluster_record(c, samples) for c, hidden in self.clusters.items()
            if include_hidden or not hidden
        ]
        chosen = sorted((c for c in chosen if c.size >= min_size), key=lambda c: (-c.size, c.id))
        return Page(chosen[offset : offset + limit], len(chosen))

    async def get_cluster(
        self, cluster_id: int, limit: int, offset: int
    ) -> tuple[ClusterRecord, Page[FaceRecord]]:
        if cluster_id not in self.clusters:
            raise NotFound(f"no cluster {cluster_id}")
        members = self._members(cluster_id)
        page = Page([self._face_record(f) for f in members[offset : offset + limit]], len(members))
        return self._cluster_record(cluster_id, 6), page

    async def get_face(self, face_id: str) -> FaceRecord:
        return self._face_record(self._face(face_id))

    async def image_faces(self, image_id: str) -> list[FaceRecord]:
        if image_id not in self.images:
            raise NotFound(f"no image {image_id}")
        faces = sorted((f for f in self.faces.values() if f.image_id == image_id), key=lambda f: f.box)
        return [self._face_record(f) for f in faces]

    async def images_for_people(self, all_of: Sequence[int], any_of: Sequence[int],
                                none_of: Sequence[int]) -> PeopleImageFilter:
        self.filter_calls.append((tuple(all_of), tuple(any_of), tuple(none_of)))
        photos = {p: self._photos_of(self._person(p).id) for p in {*all_of, *any_of, *none_of}}
        include: set[str] | None = None
        for person in all_of:
            include = photos[person] if include is None else include & photos[person]
        if any_of:
            either = set().union(*(photos[p] for p in any_of))
            include = either if include is None else include & either
        exclude = set().union(*(photos[p] for p in none_of))
        return PeopleImageFilter(None if include is None else frozenset(include), frozenset(exclude))

    # -- writes -----------------------------------------------------------------------------------

    async def create_person(
        self, name: str, face_ids: Sequence[str] = ()
    ) -> tuple[PersonRecord, PeopleChange]:
        faces = [self._face(f) for f in face_ids]  # all known, or nothing is written
        person = self.people[self.add_person(name)]
        touched = {person.id}
        for face in faces:
            touched |= self._assign(face, person.id, by="user")
        change = PeopleChange("labeled", tuple(sorted(touched)), tuple(f.id for f in faces))
        return self._person_record(person), change

    async def label_cluster(self, cluster_id: int, name: str | None = None,
                            person_id: int | None = None) -> tuple[PersonRecord, PeopleChange]:
        if (name is None) == (person_id is None):
            raise InvalidInput("a name or a person id")
        if cluster_id not in self.clusters:
            raise NotFound(f"no cluster {cluster_id}")
        if person_id is not None:
            person = self._person(person_id)
        else:
            person = self.people[self.add_person(name or "")]
        labeled: list[str] = []
        left_out: list[str] = []
        for face in sorted(self._members(cluster_id), key=lambda f: -f.quality):
            if (face.id, person.id) in self.rejections or person.id in self._people_in(face.image_id):
                face.cluster_id = None  # not this person, or the photo has them already: out of the cluster
                left_out.append(face.id)
                continue
            self._assign(face, person.id, by="user")
            labeled.append(face.id)
        self._drop_empty_clusters()
        change = PeopleChange("labeled", (person.id,), (*labeled, *sorted(left_out)))
        return self._person_record(person), change

    async def assign_face(self, face_id: str, person_id: int) -> PeopleChange:
        face, person = self._face(face_id), self._person(person_id)
        self.rejections.discard((face.id, person.id))
        touched = self._assign(face, person.id, by="user")
        return PeopleChange("assigned", tuple(sorted(touched)), (face.id,))

    async def unassign_face(self, face_id: str) -> PeopleChange:
        face = self._face(face_id)
        previous = face.person_id
        self._unassign(face)
        return PeopleChange("unassigned", (previous,) if previous else (), (face.id,))

    async def reject_face(self, face_id: str, person_id: int) -> PeopleChange:
        face, person = self._face(face_id), self._person(person_id)
        self.rejections.add((face.id, person.id))
        if face.person_id == person.id:
            self._unassign(face)
        return PeopleChange("rejected", (person.id,), (face.id,))

    async def remove_from_cluster(self, face_id: str) -> PeopleChange:
        face = self._face(face_id)
        face.cluster_id = None
        self._drop_empty_clusters()
        return PeopleChange("unclustered", (), (face.id,))

    async def set_cluster_hidden(self, cluster_id: int, hidden: bool) -> None:
        if cluster_id not in self.clusters:
            raise NotFound(f"no cluster {cluster_id}")
        self.clusters[cluster_id] = hidden

    async def merge_people(self, target_id: int, source_ids: Sequence[int]) -> PeopleChange:
        target = self._person(target_id)
        sources = [self._person(s) for s in source_ids]
        if any(s.id == target.id for s in sources):
            raise InvalidInput("a person cannot be merged into itself")
        for source in sources:
            for face in self._faces_of(source.id):
                if target.id in self._people_in(face.image_id):
                    self._unassign(face)  # the target is in that photo already
                else:
                    face.person_id = target.id
            source.merged_into = target.id
        return PeopleChange("merged", (target.id, *(s.id for s in sources)))

    async def rename_person(self, person_id: int, name: str) -> PeopleChange:
        person = self._person(person_id)
        person.name = name
        return PeopleChange("renamed", (person.id,))

    async def set_person_hidden(self, person_id: int, hidden: bool) -> PeopleChange:
        person = self._person(person_id)
        person.hidden = hidden
        return PeopleChange("hidden", (person.id,))

    async def set_birth_date(self, person_id: int, birth_date: date | None) -> PeopleChange:
        person = self._person(person_id)
        person.birth_date = birth_date
        return PeopleChange("birth_date", (person.id,))

    async def pin_face(self, face_id: str, pinned: bool) -> PeopleChange:
        face = self._face(face_id)
        if pinned and face.person_id is None:
            raise Conflict(f"face {face.id} has no person to be a prototype of")
        face.pinned = pinned
        return PeopleChange("pinned", (face.person_id,) if face.person_id else (), (face.id,))

    # -- helpers ----------------------------------------------------------------------------------

    def _resolve(self, person_id: int) -> int:
        person = self.people.get(person_id)
        while person is not None and person.merged_into is not None:
            person = self.people.get(person.merged_into)
        return person.id if person is not None else person_id

    def _person(self, person_id: int) -> _Person:
        person = self.people.get(self._resolve(person_id))
        if person is None:
            raise NotFound(f"no person {person_id}")
        return person

    def _face(self, face_id: str) -> _Face:
        face = self.faces.get(face_id)
        if face is None:
            raise NotFound(f"no face {face_id}")
        return face

    def _faces_of(self, person_id: int) -> list[_Face]:
        return [f for f in self.faces.values() if f.person_id == person_id]

    def _photos_of(self, person_id: int) -> set[str]:
        return {f.image_id for f in self._faces_of(person_id)}

    def _people_in(self, image_id: str) -> set[int]:
        return {f.person_id for f in self.faces.values() if f.image_id == image_id and f.person_id}

    def _members(self, cluster_id: int) -> list[_Face]:
        members = [f for f in self.faces.values() if f.cluster_id == cluster_id]
        return sorted(members, key=lambda f: (-f.quality, f.id))

    def _assign(self, face: _Face, person_id: int, by: str) -> set[int]:
        """Returns the people touched: the new one, the previous one, one displaced in the photo."""
        touched = {person_id} | ({face.person_id} if face.person_id else set())
        for other in self.faces.values():
            if other.image_id == face.image_id and other.person_id == person_id and other.id != face.id:
                self._unassign(other)
        face.person_id, face.assigned_by, face.confidence = person_id, by, None
        face.cluster_id = None
        self._drop_empty_clusters()
        return touched

    def _unassign(self, face: _Face) -> None:
        face.person_id = face.assigned_by = face.confidence = None
        face.prototype = face.pinned = False

    def _drop_empty_clusters(self) -> None:
        used = {f.cluster_id for f in self.faces.values()}
        for cluster in [c for c in self.clusters if c not in used]:
            del self.clusters[cluster]

    def _person_record(self, person: _Person) -> PersonRecord:
        faces = sorted(self._faces_of(person.id), key=_cover_first)
        eras = {f.era for f in faces if f.prototype or f.pinned}
        return PersonRecord(
            id=person.id, name=person.name, hidden=person.hidden, birth_date=person.birth_date,
            face_count=len(faces), photo_count=len({f.image_id for f in faces}),
            cover_face_id=faces[0].id if faces else None, eras=tuple(e for e in ERAS if e in eras),
        )

    def _face_record(self, face: _Face) -> FaceRecord:
        person = self.people.get(face.person_id) if face.person_id else None
        return FaceRecord(
            id=face.id, image_id=face.image_id, box=face.box, det_score=0.99, quality=face.quality,
            age=face.age, sex=None, person_id=face.person_id, person_name=person.name if person else None,
            assigned_by=face.assigned_by, confidence=face.confidence, cluster_id=face.cluster_id,
            era=face.era, prototype=face.prototype, pinned=face.pinned, taken_at=face.taken_at,
            crop_path=face.crop_path,
        )

    def _cluster_record(self, cluster_id: int, samples: int) -> ClusterRecord:
        members = self._members(cluster_id)
        return ClusterRecord(
            cluster_id, len(members), self.clusters[cluster_id],
            [self._face_record(f) for f in members[:samples]],
        )


def _cover_first(face: _Face) -> tuple[bool, float, str]:
    return not (face.prototype or face.pinned), -face.quality, face.id


@dataclass
class FakePublisher:
    """Stands in for Bus.publish: records what was published; ``down`` makes it fail like NATS gone."""

    published: list[tuple[str, Message, str]] = field(default_factory=list)
    down: bool = False

    async def __call__(self, subject: str, message: Message, msg_id: str) -> bool:
        if self.down:
            raise Unavailable(f"JetStream publish to {subject} failed: no responders")
        duplicate = any(m == msg_id for _, _, m in self.published)
        self.published.append((subject, message, msg_id))
        return not duplicate

    def on(self, subject: str) -> list[Message]:
        return [message for s, message, _ in self.published if s == subject]




CROP_BYTES = b"\xff\xd8face-crop"


@dataclass(frozen=True)
class PeopleSeed:
    """Alice is in beach; Bob in beach and street; cluster 7 holds two unknown faces (street, secret);
    one more unknown face (moved) is in no cluster. Face crops: most are fine, some are hostile."""

    alice: int
    bob: int
    alice_beach: str
    bob_beach: str
    bob_street: str
    unknown_street: str
    unknown_secret: str
    loner: str
    escaping_crop: str
    absolute_crop: str
    missing_crop: str
    no_crop: str
    cluster: int = 7


def seed_people(store: FakePeopleStore, crops: Path, image_id: Callable[[str], str]) -> PeopleSeed:
    beach, street, secret, moved = (image_id(n) for n in ("beach", "street", "secret", "moved"))
    (crops / "crop.jpg").write_bytes(CROP_BYTES)
    (crops.parent / "outside.jpg").write_bytes(b"not a crop")
    alice, bob = store.add_person("Alice"), store.add_person("Bob")
    return PeopleSeed(
        alice=alice, bob=bob,
        alice_beach=store.add_face(beach, 0, person_id=alice, prototype=True, era="adult", age=34.0),
        bob_beach=store.add_face(beach, 100, person_id=bob, quality=0.7),
        bob_street=store.add_face(street, 0, person_id=bob, quality=0.9, prototype=True, era="child"),
        unknown_street=store.add_face(street, 100, cluster_id=7, quality=0.6),
        unknown_secret=store.add_face(secret, 0, cluster_id=7, quality=0.5),
        loner=store.add_face(moved, 0, quality=0.4),
        escaping_crop=store.add_face(moved, 100, crop_path="../outside.jpg"),
        absolute_crop=store.add_face(moved, 200, crop_path=str(crops.parent / "outside.jpg")),
        missing_crop=store.add_face(moved, 300, crop_path="gone.jpg"),
        no_crop=store.add_face(moved, 400, crop_path=None),
    )
