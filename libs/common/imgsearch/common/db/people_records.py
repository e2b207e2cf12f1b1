"""What the people/faces tables hold, as the gateway and the faces service see it, and the port the
gateway uses for people operations (adapter: imgsearch.common.db.people.PeopleRepository).

No numpy here: embeddings travel as float32 little-endian bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")

ERAS = ("infant", "child", "teen", "young_adult", "adult", "senior")
# Lower age bound (years) of each era; an era runs until the next one starts.
ERA_STARTS = {"infant": 0.0, "child": 2.0, "teen": 13.0, "young_adult": 20.0, "adult": 35.0, "senior": 60.0}


def era_for_age(age_years: float | None) -> str | None:
    if age_years is None or age_years < 0 or age_years != age_years:  # NaN
        return None
    era = ERAS[0]
    for name in ERAS:
        if age_years >= ERA_STARTS[name]:
            era = name
    return era


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int


@dataclass(frozen=True)
class FaceRecord:
    id: str
    image_id: str
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in the upright image
    det_score: float
    quality: float
    age: float | None
    sex: str | None
    person_id: int | None
    person_name: str | None
    assigned_by: str | None  # user | auto
    confidence: float | None
    cluster_id: int | None
    era: str | None
    prototype: bool
    pinned: bool
    taken_at: datetime | None
    crop_path: str | None  # relative to Settings.face_crops_dir

    @property
    def crop_url(self) -> str:
        return f"/api/v1/faces/{self.id}/crop"


@dataclass(frozen=True)
class PersonRecord:
    id: int
    name: str
    hidden: bool
    birth_date: date | None
    face_count: int
    photo_count: int
    cover_face_id: str | None  # best prototype (or best face) of the person
    eras: tuple[str, ...]  # eras that have at least one prototype (coverage), in ERAS order


@dataclass(frozen=True)
class ClusterRecord:
    id: int
    size: int
    hidden: bool
    samples: list[FaceRecord] = field(default_factory=list)  # best faces by quality


@dataclass(frozen=True)
class PeopleChange:
    """Published as imgsearch.v1.people.changed after the transaction commits."""

    change: str  # labeled merged assigned unassigned rejected renamed hidden pinned birth_date unclustered
    person_ids: tuple[int, ...]
    face_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeopleImageFilter:
    """Image ids a people filter allows: include None = no restriction; exclude = never these."""

    include: frozenset[str] | None
    exclude: frozenset[str]


class PeopleStore(Protocol):
    """People operations and reads. Unknown ids raise NotFound, bad arguments InvalidInput.

    Rules every write keeps: a person appears at most once per photo (a user's assignment wins and
    unassigns the other face of that person in the photo); a face rejected for a person ("not this
    person") is never assigned to that person again, by a user's cluster label or automatically (an
    explicit assign_face by a user lifts the rejection); merged-away people resolve to their target."""

    # reads
    async def list_people(self, limit: int, offset: int, include_hidden: bool = False,
                          name_query: str = "") -> Page[PersonRecord]: ...
    async def get_person(self, person_id: int) -> PersonRecord: ...
    async def person_faces(self, person_id: int, limit: int, offset: int) -> Page[FaceRecord]: ...
    async def person_photos(self, person_id: int, limit: int, offset: int) -> Page[str]: ...
    async def list_clusters(self, limit: int, offset: int, min_size: int = 2, include_hidden: bool = False,
                            samples: int = 6) -> Page[ClusterRecord]: ...
    async def get_cluster(self, cluster_id: int, limit: int,
                          offset: int) -> tuple[ClusterRecord, Page[FaceRecord]]: ...
    async def get_face(self, face_id: str) -> FaceRecord: ...
    async def image_faces(self, image_id: str) -> list[FaceRecord]: ...
    async def images_for_people(self, all_of: Sequence[int], any_of: Sequence[int],
                                none_of: Sequence[int]) -> PeopleImageFilter: ...

    # writes (one transaction each)
    async def create_person(self, name: str,
                            face_ids: Sequence[str] = ()) -> tuple[PersonRecord, PeopleChange]: ...
    async def label_cluster(self, cluster_id: int, name: str | None = None,
                            person_id: int | None = None) -> tuple[PersonRecord, PeopleChange]: ...
    async def assign_face(self, face_id: str, person_id: int) -> PeopleChange: ...
    async def unassign_face(self, face_id: str) -> PeopleChange: ...
    async def reject_face(self, face_id: str, person_id: int) -> PeopleChange: ...
    async def remove_from_cluster(self, face_id: str) -> PeopleChange:
        """Take the face out of its cluster for good: no clustering run puts it in one again (propagation
        may still give it a person); change "unclustered", no people, the face."""
    async def set_cluster_hidden(self, cluster_id: int, hidden: bool) -> None: ...
    async def merge_people(self, target_id: int, source_ids: Sequence[int]) -> PeopleChange: ...
    async def rename_person(self, person_id: int, name: str) -> PeopleChange: ...
    async def set_person_hidden(self, person_id: int, hidden: bool) -> PeopleChange: ...
    async def set_birth_date(self, person_id: int, birth_date: date | None) -> PeopleChange: ...
    async def pin_face(self, face_id: str, pinned: bool) -> PeopleChange: ...
