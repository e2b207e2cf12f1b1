"""Protobuf ↔ Python conversions shared by the search service and its clients (no torch here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.errors import InvalidInput
from imgsearch.common.vectors.port import GeoCircle
from imgsearch.search.domain import Hit, PeopleQuery

DATE_RANGE = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z"


def to_datetime(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def optional_datetime(holder: object, field: str) -> datetime | None:
    """The datetime in a Timestamp field of a message, None when the field is unset."""
    if not holder.HasField(field):  # type: ignore[attr-defined]
        return None
    return to_datetime(getattr(holder, field))


def filter_datetime(filters: pb.SearchFilters, field: str) -> datetime | None:
    """A date filter of a request; InvalidInput when the Timestamp is out of range or malformed."""
    try:
        return optional_datetime(filters, field)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(f"{field} is not a valid timestamp ({DATE_RANGE}): {exc}") from exc


def timestamp(value: datetime) -> Timestamp:
    """A naive datetime is taken as UTC."""
    ts = Timestamp()
    ts.FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return ts


def search_filters(
    taken_after: datetime | None = None, taken_before: datetime | None = None, folder: str | None = None,
    people: PeopleQuery | None = None, near: GeoCircle | None = None, camera: str | None = None,
) -> pb.SearchFilters:
    """InvalidInput when a date lies outside what a protobuf Timestamp holds (after conversion to UTC).
    ``people`` comes checked (domain.check_people): an id beyond int64 would not fit the message."""
    people = people or PeopleQuery()
    filters = pb.SearchFilters(
        folder=folder or "", people_all=people.all_of, people_any=people.any_of, people_none=people.none_of,
        camera=camera or "",
    )
    if near is not None:
        filters.near.CopyFrom(pb.GeoRadius(lat=near.lat, lon=near.lon, radius_km=near.radius_km))
    for field, value in (("taken_after", taken_after), ("taken_before", taken_before)):
        if value is None:
            continue
        try:
            getattr(filters, field).CopyFrom(timestamp(value))
        except (ValueError, OverflowError) as exc:
            raise InvalidInput(f"{field} {value.isoformat()} is out of range ({DATE_RANGE})") from exc
    return filters


def hit_message(hit: Hit) -> pb.SearchHit:
    message = pb.SearchHit(
        image_id=hit.image_id, score=hit.score, path=hit.path, thumbnail_url=hit.thumbnail_url,
        width=hit.width or 0, height=hit.height or 0,
    )
    if hit.taken_at is not None:
        message.taken_at.CopyFrom(timestamp(hit.taken_at))
    return message


def search_response(hits: Sequence[Hit], model: pb.ModelInfo) -> pb.SearchResponse:
    return pb.SearchResponse(hits=[hit_message(h) for h in hits], model=model)
