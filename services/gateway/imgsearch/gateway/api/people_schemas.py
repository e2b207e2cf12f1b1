"""REST bodies of the People API (pydantic), built from the records of imgsearch.common.db.people_records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from imgsearch.common.db.people_records import ClusterRecord, FaceRecord, Page, PersonRecord
from imgsearch.gateway.people import MAX_FACE_IDS, MAX_MERGE_SOURCES, MAX_NAME_CHARS, crop_url
from imgsearch.search.domain import MAX_INT64, thumbnail_url

PersonId = Annotated[int, Field(gt=0, le=MAX_INT64)]
FaceId = Annotated[str, Field(max_length=64)]  # the service checks the UUID form
Name = Annotated[str, Field(max_length=MAX_NAME_CHARS * 4)]  # the service trims, then checks the length


class FaceBox(BaseModel):
    x1: int
    y1: int
    x2: int
    y2: int


class Face(BaseModel):
    face_id: str
    image_id: str
    box: FaceBox
    det_score: float
    quality: float
    age: float | None
    sex: str | None
    person_id: int | None
    person_name: str | None
    assigned_by: str | None = Field(description="user | auto; null when unassigned")
    confidence: float | None
    cluster_id: int | None
    era: str | None
    prototype: bool
    pinned: bool
    taken_at: datetime | None
    crop_url: str | None
    thumbnail_url: str = Field(description="the photo's thumbnail")

    @classmethod
    def from_record(cls, face: FaceRecord) -> Face:
        x1, y1, x2, y2 = face.box
        return cls(
            face_id=face.id, image_id=face.image_id, box=FaceBox(x1=x1, y1=y1, x2=x2, y2=y2),
            det_score=face.det_score, quality=face.quality, age=face.age, sex=face.sex,
            person_id=face.person_id, person_name=face.person_name, assigned_by=face.assigned_by,
            confidence=face.confidence, cluster_id=face.cluster_id, era=face.era, prototype=face.prototype,
            pinned=face.pinned, taken_at=face.taken_at, crop_url=face.crop_url if face.crop_path else None,
            thumbnail_url=thumbnail_url(face.image_id),
        )


class Person(BaseModel):
    person_id: int
    name: str
    hidden: bool
    birth_date: date | None
    face_count: int
    photo_count: int
    cover_face_id: str | None
    cover_crop_url: str | None
    eras: list[str] = Field(description="eras with at least one prototype face (coverage)")

    @classmethod
    def from_record(cls, person: PersonRecord) -> Person:
        cover = person.cover_face_id
        return cls(
            person_id=person.id, name=person.name, hidden=person.hidden, birth_date=person.birth_date,
            face_count=person.face_count, photo_count=person.photo_count, cover_face_id=cover,
            cover_crop_url=crop_url(cover) if cover else None, eras=list(person.eras),
        )


class Cluster(BaseModel):
    cluster_id: int
    size: int
    hidden: bool
    samples: list[Face]

    @classmethod
    def from_record(cls, cluster: ClusterRecord) -> Cluster:
        return cls(
            cluster_id=cluster.id, size=cluster.size, hidden=cluster.hidden,
            samples=[Face.from_record(f) for f in cluster.samples],
        )


class Photo(BaseModel):
    image_id: str
    thumbnail_url: str


class Paged(BaseModel):
    total: int
    limit: int
    offset: int


class PeoplePage(Paged):
    people: list[Person]

    @classmethod
    def from_page(cls, page: Page[PersonRecord], limit: int, offset: int) -> PeoplePage:
        people = [Person.from_record(p) for p in page.items]
        return cls(people=people, total=page.total, limit=limit, offset=offset)


class FacePage(Paged):
    faces: list[Face]

    @classmethod
    def from_page(cls, page: Page[FaceRecord], limit: int, offset: int) -> FacePage:
        faces = [Face.from_record(f) for f in page.items]
        return cls(faces=faces, total=page.total, limit=limit, offset=offset)


class PhotoPage(Paged):
    photos: list[Photo]

    @classmethod
    def from_page(cls, page: Page[str], limit: int, offset: int) -> PhotoPage:
        photos = [Photo(image_id=i, thumbnail_url=thumbnail_url(i)) for i in page.items]
        return cls(photos=photos, total=page.total, limit=limit, offset=offset)


class ClusterPage(Paged):
    clusters: list[Cluster]

    @classmethod
    def from_page(cls, page: Page[ClusterRecord], limit: int, offset: int) -> ClusterPage:
        clusters = [Cluster.from_record(c) for c in page.items]
        return cls(clusters=clusters, total=page.total, limit=limit, offset=offset)


class ClusterMembers(Paged):
    cluster: Cluster
    faces: list[Face]

    @classmethod
    def from_records(
        cls, cluster: ClusterRecord, page: Page[FaceRecord], limit: int, offset: int
    ) -> ClusterMembers:
        faces = [Face.from_record(f) for f in page.items]
        return cls(
            cluster=Cluster.from_record(cluster), faces=faces, total=page.total, limit=limit, offset=offset
        )


class ImageFaces(BaseModel):
    image_id: str
    faces: list[Face] = Field(description="this page of the image's faces")
    total: int = Field(description="faces found on the image, whatever the page")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not a silent no-op


class CreatePerson(_Body):
    name: Name
    face_ids: list[FaceId] = Field(
        default_factory=list, max_length=MAX_FACE_IDS, description="faces to give the new person"
    )


class UpdatePerson(_Body):
    """Fields left out stay as they are; "birth_date": null clears the date."""

    name: Name | None = None
    hidden: bool | None = None
    birth_date: Annotated[str, Field(max_length=40)] | None = Field(
        default=None, description="YYYY-MM-DD, or null to clear"
    )


class MergePeople(_Body):
    source_ids: list[PersonId] = Field(
        min_length=1, max_length=MAX_MERGE_SOURCES, description="people merged into this one"
    )


class LabelCluster(_Body):
    """Exactly one of name (a new person) or person_id (an existing one)."""

    name: Name | None = None
    person_id: PersonId | None = None


class UpdateCluster(_Body):
    hidden: bool | None = None


class RunClustering(_Body):
    full: bool = Field(default=False, description="re-cluster every unassigned face, not only new ones")


class ClusteringAccepted(BaseModel):
    request_id: str
    full: bool


class FacePerson(_Body):
    person_id: PersonId
