"""Pure search logic: request validation, filters, the model/collection check and hit enrichment."""

from __future__ import annotations

import math
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from imgsearch.common.db.images import ImageRecord
from imgsearch.common.db.people_records import PeopleImageFilter
from imgsearch.common.errors import InvalidInput, ModelMismatch
from imgsearch.common.ids import point_id
from imgsearch.common.vectors.port import CollectionSpec, GeoCircle, ScoredPoint, SearchFilter

DEFAULT_LIMIT = 20
MAX_LIMIT = 200
MAX_OFFSET = 10_000  # deep pages cost the vector store limit+offset candidates each
MAX_QUERY_CHARS = 1_000
MAX_PEOPLE = 50  # person ids in each of people_all / people_any / people_none
MAX_INT64 = 2**63 - 1
MAX_RADIUS_KM = 20_000.0  # about half the earth's circumference: a larger circle covers everything
MAX_CAMERA_CHARS = 200


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


@dataclass(frozen=True)
class PeopleQuery:
    """Photos with every one of all_of, at least one of any_of (when given), and none of none_of."""

    all_of: tuple[int, ...] = ()
    any_of: tuple[int, ...] = ()
    none_of: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.all_of or self.any_of or self.none_of)


@dataclass(frozen=True)
class Hit:
    image_id: str
    score: float
    path: str
    taken_at: datetime | None
    width: int | None
    height: int | None

    @property
    def thumbnail_url(self) -> str:
        return thumbnail_url(self.image_id)


def thumbnail_url(image_id: str) -> str:
    return f"/api/v1/images/{image_id}/thumbnail"


def check_query(query: str) -> str:
    text = query.strip()
    if not text:
        raise InvalidInput("the search query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"the search query is longer than {MAX_QUERY_CHARS} characters")
    return text


def check_page(limit: int, offset: int) -> Page:
    """limit 0 (unset in protobuf) means the default."""
    if limit < 0 or limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT} (got {limit})")
    if offset < 0 or offset > MAX_OFFSET:
        raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET} (got {offset})")
    return Page(limit or DEFAULT_LIMIT, offset)


def normalise_folder(folder: str) -> str | None:
    """'/photos/2020/' and '/photos//2020' both mean '/photos/2020' (payload ``folders`` holds that form)."""
    if not folder.strip():
        return None
    if not folder.startswith("/"):
        raise InvalidInput(f"folder must be an absolute path (got {folder!r})")
    if ".." in folder.split("/"):
        raise InvalidInput(f"folder must not contain '..' (got {folder!r})")
    normal = posixpath.normpath(folder)  # keeps a leading '//' (POSIX leaves its meaning open)
    return "/" + normal.lstrip("/")


def check_near(lat: float, lon: float, radius_km: float) -> GeoCircle:
    """A search circle: lat -90..90, lon -180..180, 0 < radius_km <= 20000."""
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidInput(f"latitude must be between -90 and 90 (got {lat})")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InvalidInput(f"longitude must be between -180 and 180 (got {lon})")
    if not (math.isfinite(radius_km) and 0.0 < radius_km <= MAX_RADIUS_KM):
        raise InvalidInput(f"radius_km must be above 0 and at most {MAX_RADIUS_KM:g} (got {radius_km})")
    return GeoCircle(lat, lon, radius_km)


def check_camera(camera: str) -> str | None:
    """A camera name as GET /api/v1/cameras lists it; whitespace runs count as one space."""
    name = " ".join(camera.split())
    if len(name) > MAX_CAMERA_CHARS:
        raise InvalidInput(f"camera must be at most {MAX_CAMERA_CHARS} characters")
    return name or None


def build_filter(
    taken_after: datetime | None, taken_before: datetime | None, folder: str,
    exclude_ids: Sequence[str] = (), near: GeoCircle | None = None, camera: str | None = None,
) -> SearchFilter:
    if taken_after and taken_before and taken_after > taken_before:
        raise InvalidInput(
            f"taken_after ({taken_after.isoformat()}) is later than taken_before ({taken_before.isoformat()})"
        )
    return SearchFilter(
        taken_after=taken_after, taken_before=taken_before, folder=normalise_folder(folder),
        exclude_ids=tuple(exclude_ids), near=near, camera=camera,
    )


def check_people(all_of: Sequence[int], any_of: Sequence[int], none_of: Sequence[int]) -> PeopleQuery:
    lists = {"people_all": all_of, "people_any": any_of, "people_none": none_of}
    for name, ids in lists.items():
        if len(ids) > MAX_PEOPLE:
            raise InvalidInput(f"{name} names {len(ids)} people; at most {MAX_PEOPLE} are allowed")
        for person in ids:
            if not 0 < person <= MAX_INT64:
                raise InvalidInput(f"{name}: {person} is not a person id (a positive 64-bit integer)")
    return PeopleQuery(*(tuple(dict.fromkeys(ids)) for ids in lists.values()))


def restrict_to_people(search_filter: SearchFilter, allowed: PeopleImageFilter) -> SearchFilter:
    """Narrow a filter to the photos a people filter allows (image ids become point ids)."""
    include = None if allowed.include is None else tuple(sorted(point_id(i) for i in allowed.include))
    exclude = tuple(sorted(point_id(i) for i in allowed.exclude))
    return replace(search_filter, include_ids=include, exclude_ids=(*search_filter.exclude_ids, *exclude))


def check_collection(recorded: CollectionSpec | None, loaded: CollectionSpec) -> None:
    """Vectors from one model are meaningless to another: refuse rather than answer nonsense."""
    if recorded is None:
        return
    if (recorded.model, recorded.pretrained, recorded.dim) != (loaded.model, loaded.pretrained, loaded.dim):
        raise ModelMismatch(
            f"the images collection was built with {describe(recorded)} but search loaded "
            f"{describe(loaded)}: set IMGSEARCH_CLIP__MODEL / IMGSEARCH_CLIP__PRETRAINED to match, "
            "or re-index the library with the new model"
        )


def describe(spec: CollectionSpec) -> str:
    return f"{spec.model}/{spec.pretrained} ({spec.dim}-d)"


def enrich(points: Sequence[ScoredPoint], records: Mapping[str, ImageRecord]) -> list[Hit]:
    """Join vector hits with their metadata rows, in rank order; hits whose row is gone are dropped."""
    hits: list[Hit] = []
    for point in points:
        record = records.get(str(point.payload.get("image_id", "")))
        if record is None:
            continue
        hits.append(
            Hit(
                image_id=record.id, score=point.score, path=record.paths[0] if record.paths else "",
                taken_at=record.taken_at, width=record.width, height=record.height,
            )
        )
    return hits


def image_ids(points: Sequence[ScoredPoint]) -> list[str]:
    return [str(p.payload["image_id"]) for p in points if p.payload.get("image_id")]
