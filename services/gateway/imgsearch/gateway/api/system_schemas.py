"""REST model of the system status (GET /api/v1/system): imgsearch.api.v1.SystemStatus as JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field

from imgsearch.api.v1 import system_pb2 as pb
from imgsearch.gateway.api.schemas import ModelInfo, ReadinessCheck


class StreamStatus(BaseModel):
    name: str
    messages: int = Field(description="messages kept in the stream")
    bytes: int
    consumers: int = Field(description="consumers bound to it")


class ConsumerStatus(BaseModel):
    stream: str
    consumer: str = Field(description="the durable name: the service's queue (embed, faces, ingest, ...)")
    pending: int = Field(description="in the stream for it, not delivered yet: its lag")
    unacked: int = Field(description="delivered, neither acked nor terminated yet")
    redelivered: int = Field(description="delivered more than once and still unacked")
    waiting: int = Field(description="pull requests waiting: its service is asking for work")
    delivered_seq: int = Field(description="stream sequence of the last delivery")
    ack_floor_seq: int = Field(description="stream sequence up to which everything is settled")
    last_active: datetime | None = Field(description="the last delivery or ack; null when none yet")
    filter_subject: str


class FaceBackend(BaseModel):
    recorded: bool = Field(description="false: no faces service has run on this library")
    backend: str | None = Field(description="insightface | dlib")
    model: str | None
    dim: int | None
    reason: str | None = Field(description="why this backend")


class VectorStore(BaseModel):
    kind: str = Field(description="qdrant-edge (embedded shards) | qdrant (a Qdrant server)")
    location: str = Field(description="the shards' folder, or the server URL without credentials")


class SystemStatus(BaseModel):
    ready: bool = Field(description="every check passes")
    model: ModelInfo | None = Field(description="the CLIP model of search; null when search does not answer")
    indexed: int = Field(description="photos in the search index")
    warnings: list[str] = Field(description="what a user must know: failed checks, random CLIP weights, ...")
    checks: list[ReadinessCheck]
    streams: list[StreamStatus]
    consumers: list[ConsumerStatus] = Field(description="one per durable consumer, by stream then name")
    faces: FaceBackend | None = Field(description="null when this gateway does not monitor the library")
    vectors: VectorStore | None = Field(description="null when this gateway does not know its settings")
    auth: str | None = Field(description="on | off: whether the APIs ask for an API key")
    auth_reason: str | None = Field(description="why on or off (IMGSEARCH_AUTH__MODE and the listen hosts)")
    checked_at: datetime | None

    @classmethod
    def from_proto(cls, status: pb.SystemStatus) -> SystemStatus:
        faces, vectors = status.faces, status.vectors
        return cls(
            ready=status.ready, indexed=status.indexed, warnings=list(status.warnings),
            model=ModelInfo.from_proto(status.model) if status.HasField("model") else None,
            checks=[ReadinessCheck(name=c.name, ok=c.ok, detail=c.detail or None) for c in status.checks],
            streams=[StreamStatus(name=s.name, messages=s.messages, bytes=s.bytes, consumers=s.consumers)
                     for s in status.streams],
            consumers=[_consumer(c) for c in status.consumers],
            faces=FaceBackend(
                recorded=faces.recorded, backend=faces.backend or None, model=faces.model or None,
                dim=faces.dim or None, reason=faces.reason or None,
            ) if status.HasField("faces") else None,
            vectors=VectorStore(kind=vectors.kind, location=vectors.location)
            if status.HasField("vectors") else None,
            auth=status.auth or None, auth_reason=status.auth_reason or None,
            checked_at=_when(status.checked_at) if status.HasField("checked_at") else None,
        )


def _consumer(c: pb.ConsumerStatus) -> ConsumerStatus:
    return ConsumerStatus(
        stream=c.stream, consumer=c.consumer, pending=c.pending, unacked=c.unacked, redelivered=c.redelivered,
        waiting=c.waiting, delivered_seq=c.delivered_seq, ack_floor_seq=c.ack_floor_seq,
        last_active=_when(c.last_active) if c.HasField("last_active") else None,
        filter_subject=c.filter_subject,
    )


def _when(value: Timestamp) -> datetime:
    return value.ToDatetime(UTC)
