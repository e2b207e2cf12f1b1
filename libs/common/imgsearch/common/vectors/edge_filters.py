"""SearchFilter → qdrant-edge Filter."""

from __future__ import annotations

from typing import Any

from qdrant_edge import FieldCondition, Filter, GeoPoint, GeoRadius, HasIdCondition, MatchValue, RangeFloat

from imgsearch.common.vectors.filter_terms import filter_terms
from imgsearch.common.vectors.port import SearchFilter


def to_edge_filter(search_filter: SearchFilter | None) -> Filter | None:
    terms = filter_terms(search_filter)
    if terms is None:
        return None
    must: list[Any] = []
    must_not: list[Any] = []
    if terms.has_date_range:
        # A range condition never matches a point without the field, so undated photos drop out.
        must.append(FieldCondition("taken_at", range=RangeFloat(gte=terms.taken_gte, lte=terms.taken_lte)))
    if terms.folder:
        must.append(FieldCondition("folders", match=MatchValue(terms.folder)))
    if terms.near is not None:  # a geo condition never matches a point without a location
        center = GeoPoint(lon=terms.near.lon, lat=terms.near.lat)
        must.append(FieldCondition("location", geo_radius=GeoRadius(center, terms.near.radius_km * 1000.0)))
    if terms.camera:
        must.append(FieldCondition("camera", match=MatchValue(terms.camera)))
    if terms.include_ids is not None:
        must.append(HasIdCondition(set(terms.include_ids)))
    if terms.exclude_ids:
        must_not.append(HasIdCondition(set(terms.exclude_ids)))
    return Filter(must=must or None, must_not=must_not or None)
