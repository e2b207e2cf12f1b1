"""The vector-store port: what the services need from Qdrant, independent of how it runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class CollectionSpec:
    """What built a collection's vectors. A collection refuses vectors or queries from another spec."""

    model: str
    pretrained: str
    dim: int
    distance: str = "cosine"


@dataclass(frozen=True)
class VectorPoint:
    id: str  # UUID string (imgsearch.common.ids.point_id)
    vector: Sequence[float]
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoredPoint:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class StoredPoint:
    """A point's id and payload, without its vector (what a scroll lists)."""

    id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class PointPage:
    points: list[StoredPoint]
    next_offset: str | None  # pass to the next scroll; None after the last page


@dataclass(frozen=True)
class GeoCircle:
    """A circle on the earth: WGS84 degrees and a radius in kilometres (validated by the caller)."""

    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True)
class SearchFilter:
    """Filters on the indexed payload fields.

    Payload conventions (written by embed): ``image_id`` (keyword), ``taken_at`` (float, unix seconds,
    absent when unknown), ``folders`` (keyword list: every ancestor folder of every path of the image),
    ``location`` (geo ``{"lat", "lon"}``, absent without GPS), ``camera`` (keyword "Make Model", see
    imgsearch.common.cameras; absent when unknown).
    ``include_ids`` None means no restriction; an empty sequence means nothing matches.
    """

    taken_after: datetime | None = None
    taken_before: datetime | None = None
    folder: str | None = None
    exclude_ids: Sequence[str] = ()  # point ids to leave out (e.g. the query image itself)
    include_ids: Sequence[str] | None = None  # only these point ids (e.g. the photos of some people)
    near: GeoCircle | None = None  # only photos with a GPS position inside the circle
    camera: str | None = None  # exact camera name

    @property
    def empty(self) -> bool:
        return (
            self.taken_after is None
            and self.taken_before is None
            and not self.folder
            and not self.exclude_ids
            and self.include_ids is None
            and self.near is None
            and not self.camera
        )

    @property
    def matches_nothing(self) -> bool:
        return self.include_ids is not None and not self.include_ids


class VectorStore(Protocol):
    """Port. Adapters: QdrantEdgeStore (embedded), QdrantServerStore (qdrant-client)."""

    async def ensure_collection(self, name: str, spec: CollectionSpec) -> None:
        """Create the collection with payload indexes, or check that the existing one has this spec.

        Raises ModelMismatch when it was built by another model/pretrained/dim."""

    async def collection_spec(self, name: str) -> CollectionSpec | None:
        """The spec recorded for a collection, None when it does not exist."""

    async def upsert(self, name: str, points: Sequence[VectorPoint]) -> None:
        """Idempotent write; durable when it returns."""

    async def search(
        self, name: str, vector: Sequence[float], limit: int, offset: int = 0,
        filter: SearchFilter | None = None,
    ) -> list[ScoredPoint]: ...

    async def retrieve(self, name: str, ids: Sequence[str]) -> list[VectorPoint]:
        """Points with vectors and payloads; missing ids are left out."""

    async def set_payload(self, name: str, payloads: Mapping[str, dict[str, Any]]) -> None:
        """Merge each point's given keys into its payload (other keys stay); ids not stored are ignored.

        Durable when it returns."""

    async def delete(self, name: str, ids: Sequence[str]) -> None: ...

    async def drop_collection(self, name: str) -> None:
        """Delete the collection with its points and recorded spec (re-index); nothing when it is absent."""

    async def count(self, name: str) -> int: ...

    async def scroll(self, name: str, limit: int, offset: str | None = None) -> PointPage:
        """Every point once, in pages of ``limit`` ordered by id, with payloads and without vectors,
        starting at ``offset`` (a page's next_offset; None for the first page)."""

    async def close(self) -> None: ...


IMAGES_COLLECTION = "images"
FACES_COLLECTION = "faces"
