"""SearchFilter reduced to the terms both adapters turn into a Qdrant filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from imgsearch.common.vectors.port import GeoCircle, SearchFilter

# Payload fields the adapters index, with the index kind each needs.
KEYWORD_FIELDS = ("image_id", "folders", "camera")
FLOAT_FIELDS = ("taken_at",)
GEO_FIELDS = ("location",)
# Faces and people: ``person_ids`` on images, ``person_id`` / ``cluster_id`` on faces. Indexing a field a
# collection never holds costs nothing, so every collection gets the same indexes.
INTEGER_FIELDS = ("person_ids", "person_id", "cluster_id")


@dataclass(frozen=True)
class FilterTerms:
    taken_gte: float | None
    taken_lte: float | None
    folder: str | None
    exclude_ids: tuple[str, ...]
    include_ids: tuple[str, ...] | None
    near: GeoCircle | None = None  # Qdrant takes the radius in metres: near.radius_km * 1000
    camera: str | None = None

    @property
    def has_date_range(self) -> bool:
        return self.taken_gte is not None or self.taken_lte is not None


def unix_seconds(moment: datetime) -> float:
    # A naive datetime is taken as UTC: embed writes taken_at as UTC unix seconds.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def filter_terms(search_filter: SearchFilter | None) -> FilterTerms | None:
    """None when nothing filters (so the adapters send no filter at all). The adapters answer a filter
    that matches nothing (SearchFilter.matches_nothing) themselves, without asking Qdrant."""
    if search_filter is None or search_filter.empty:
        return None
    return FilterTerms(
        taken_gte=None if search_filter.taken_after is None else unix_seconds(search_filter.taken_after),
        taken_lte=None if search_filter.taken_before is None else unix_seconds(search_filter.taken_before),
        folder=search_filter.folder or None,
        exclude_ids=tuple(search_filter.exclude_ids),
        include_ids=None if search_filter.include_ids is None else tuple(search_filter.include_ids),
        near=search_filter.near,
        camera=search_filter.camera or None,
    )
