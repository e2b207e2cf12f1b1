"""REST response and request bodies (pydantic), built from the protobuf messages the gateway works with."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.db.images import ImageRecord
from imgsearch.gateway.service import MAX_PATH_CHARS, MAX_PATTERN_CHARS, MAX_PATTERNS
from imgsearch.search.domain import thumbnail_url
from imgsearch.search.messages import optional_datetime


class ModelInfo(BaseModel):
    model: str
    pretrained: str
    dim: int
    random_weights: bool = Field(description="true: CLIP runs untrained, results are meaningless")

    @classmethod
    def from_proto(cls, message: pb.ModelInfo) -> ModelInfo:
        return cls(
            model=message.model, pretrained=message.pretrained, dim=message.dim,
            random_weights=message.random_weights,
        )


class SearchHit(BaseModel):
    image_id: str
    score: float
    path: str
    taken_at: datetime | None
    thumbnail_url: str
    width: int | None
    height: int | None

    @classmethod
    def from_proto(cls, hit: pb.SearchHit) -> SearchHit:
        return cls(
            image_id=hit.image_id, score=hit.score, path=hit.path,
            taken_at=optional_datetime(hit, "taken_at"), thumbnail_url=hit.thumbnail_url,
            width=hit.width or None, height=hit.height or None,
        )


class SearchResults(BaseModel):
    hits: list[SearchHit]
    model: ModelInfo
    next_offset: int | None = Field(description="offset of the next page: set when this page is full (there "
                                    "may be more), null on the last page; a ranking has no total")

    @classmethod
    def from_proto(cls, response: pb.SearchResponse) -> SearchResults:
        return cls(
            hits=[SearchHit.from_proto(h) for h in response.hits], model=ModelInfo.from_proto(response.model),
            next_offset=response.next_offset if response.HasField("next_offset") else None,
        )


class Gps(BaseModel):
    latitude: float
    longitude: float
    altitude: float | None


class Image(BaseModel):
    image_id: str
    paths: list[str]
    size_bytes: int
    width: int | None
    height: int | None
    format: str | None
    taken_at: datetime | None
    taken_at_source: str | None
    camera_make: str | None
    camera_model: str | None
    orientation: int | None
    gps: Gps | None
    ingest_status: str
    embed_status: str
    error: str | None
    thumbnail_url: str | None

    @classmethod
    def from_record(cls, record: ImageRecord) -> Image:
        gps = None
        if record.gps_lat is not None and record.gps_lon is not None:
            gps = Gps(latitude=record.gps_lat, longitude=record.gps_lon, altitude=record.gps_alt)
        return cls(
            image_id=record.id, paths=record.paths, size_bytes=record.size_bytes, width=record.width,
            height=record.height, format=record.format, taken_at=record.taken_at,
            taken_at_source=record.taken_at_source, camera_make=record.camera_make,
            camera_model=record.camera_model, orientation=record.orientation, gps=gps,
            ingest_status=record.ingest_status, embed_status=record.embed_status, error=record.embed_error,
            thumbnail_url=thumbnail_url(record.id) if record.thumbnail_path else None,
        )


Pattern = Annotated[str, Field(max_length=MAX_PATTERN_CHARS)]


class IngestRequest(BaseModel):
    path: str = Field(
        max_length=MAX_PATH_CHARS,
        description="a folder under a library root (absolute, or relative to the first root; "
        "'~' is not expanded)",
    )
    include: list[Pattern] = Field(
        default_factory=list, max_length=MAX_PATTERNS, description="glob patterns; empty = every image"
    )
    exclude: list[Pattern] = Field(
        default_factory=list, max_length=MAX_PATTERNS, description="glob patterns to skip"
    )


class IngestAccepted(BaseModel):
    request_id: str
    path: str
    session_id: int = Field(0, description="the ingest session made for it (GET /api/v1/sessions/{id})")


class Liveness(BaseModel):
    status: str = "ok"


class ReadinessCheck(BaseModel):
    name: str
    ok: bool
    detail: str | None = None


class Readiness(BaseModel):
    ready: bool
    model: ModelInfo | None
    indexed: int
    warnings: list[str]
    checks: list[ReadinessCheck]

    @classmethod
    def from_proto(cls, info: pb.SystemInfo) -> Readiness:
        return cls(
            ready=info.ready, model=ModelInfo.from_proto(info.model) if info.HasField("model") else None,
            indexed=info.indexed, warnings=list(info.warnings),
            checks=[ReadinessCheck(name=c.name, ok=c.ok, detail=c.detail or None) for c in info.checks],
        )


class ErrorBody(BaseModel):
    error: str = Field(description="the error kind, e.g. NotFound, InvalidInput, OutsideLibrary")
    message: str
