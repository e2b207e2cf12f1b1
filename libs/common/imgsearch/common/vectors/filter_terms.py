"""SearchFilter reduced to the terms both adapters turn into a Qdrant filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from imgsearch.common.vectors.port import SearchFilter

# Payload fields the adapters index, with the index kind each needs.
KEYWORD_FIELDS = ("image_id", "folders")
FLOAT_FIELDS = ("taken_at",)


@dataclass(frozen=True)
class FilterTerms:
    taken_gte: float | None
    taken_lte: float | None
    folder: str | None
    exclude_ids: tuple[str, ...]

    @property
    def has_date_range(self) -> bool:
        return self.taken_gte is not None or self.taken_lte is not None


def unix_seconds(moment: datetime) -> float:
    # A naive datetime is taken as UTC: embed writes taken_at as UTC unix seconds.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def filter_terms(search_filter: SearchFilter | None) -> FilterTerms | None:
    """None when nothing filters (so the adapters send no filter at all)."""
    if search_filter is None or search_filter.empty:
        return None
    return FilterTerms(
        taken_gte=None if search_filter.taken_after is None else unix_seconds(search_filter.taken_after),
        taken_lte=None if search_filter.taken_before is None else unix_seconds(search_filter.taken_before),
        folder=search_filter.folder or None,
        exclude_ids=tuple(search_filter.exclude_ids),
    )
