"""Protobuf ↔ Python conversions shared by the search service and its clients (no torch here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.search.domain import Hit


def to_datetime(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def optional_datetime(holder: object, field: str) -> datetime | None:
    """The datetime in a Timestamp field of a message, None when the field is unset."""
    if not holder.HasField(field):  # type: ignore[attr-defined]
        return None
    return to_datetime(getattr(holder, field))


def timestamp(value: datetime) -> Timestamp:
    """A naive datetime is taken as UTC."""
    ts = Timestamp()
    ts.FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return ts


def search_filters(
    taken_after: datetime | None = None, taken_before: datetime | None = None, folder: str | None = None
) -> pb.SearchFilters:
    filters = pb.SearchFilters(folder=folder or "")
    if taken_after is not None:
        filters.taken_after.CopyFrom(timestamp(taken_after))
    if taken_before is not None:
        filters.taken_before.CopyFrom(timestamp(taken_before))
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
