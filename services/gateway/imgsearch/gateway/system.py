"""The system status: queues (JetStream durable consumers), models and backends, and the warnings a user
must see. Every probe is bounded by a timeout; a dependency that does not answer is a failed check in the
status (and a warning), never an error of the request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError

from imgsearch.api.v1 import search_pb2
from imgsearch.api.v1 import system_pb2 as pb
from imgsearch.common.db.face_records import BackendRecord
from imgsearch.common.db.faces import FaceRepository
from imgsearch.common.deps import Deps
from imgsearch.common.settings import Settings
from imgsearch.common.subjects import STREAMS
from imgsearch.gateway.auth import auth_decision, is_loopback
from imgsearch.search.messages import timestamp

PROBE_TIMEOUT_S = 2.0
# A consumer with a backlog and no pull waiting, delivery or ack for this long: its service is not running
# (the gateway uses IMGSEARCH_INGEST__DOWNSTREAM_STALE_S, the window ingest admission ignores it after).
STALE_S = 300.0
STREAM_NAMES = tuple(spec.name for spec in STREAMS)
NO_FACE_MODELS = "no face models: faces are not detected (no faces service has run on this library)"
T = TypeVar("T")


class QueueReader(Protocol):
    """JetStreamQueues below; a fake in unit tests."""

    async def stream(self, name: str) -> pb.StreamStatus | None: ...  # None: no such stream
    async def consumers(self, stream: str) -> list[pb.ConsumerStatus]: ...


class FaceBackendReader(Protocol):
    """imgsearch.common.db.faces.FaceRepository."""

    async def recorded_backend(self) -> BackendRecord | None: ...


@dataclass(frozen=True)
class Setup:
    """What this deployment is configured with (from settings, no probe needed)."""

    vectors: pb.VectorStoreStatus
    auth: str  # on | off
    auth_reason: str = ""
    warnings: tuple[str, ...] = ()


class SystemMonitor:
    """Gateway.status: assembles pb.SystemStatus around the gateway's readiness (Gateway.system_info)."""

    def __init__(self, queues: QueueReader, faces: FaceBackendReader, setup: Setup,
                 streams: Sequence[str] = STREAM_NAMES, timeout_s: float = PROBE_TIMEOUT_S,
                 stale_s: float = STALE_S, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.queues, self.faces, self.setup, self.streams = queues, faces, setup, tuple(streams)
        self.timeout_s, self.stale_s, self.now = timeout_s, stale_s, now

    async def collect(self, readiness: Awaitable[search_pb2.SystemInfo]) -> pb.SystemStatus:
        checked_at = self.now()
        info, (queues, queues_check), (backend, faces_check) = await asyncio.gather(
            readiness, self._bounded("queues", self._read_queues()),
            self._bounded("face backend", self.faces.recorded_backend()),
        )
        streams, consumers, missing = queues or ([], [], [])
        if missing:  # the services create them when they start: none has started against this NATS
            detail = f"no stream {', '.join(missing)}: no service has started on this NATS"
            queues_check = search_pb2.ReadinessCheck(name="queues", ok=False, detail=detail)
        warnings = [NO_FACE_MODELS] if faces_check.ok and backend is None else []
        warnings += [stalled(c, checked_at) for c in consumers if is_stalled(c, checked_at, self.stale_s)]
        status = readiness_status(info, (queues_check, faces_check), (*warnings, *self.setup.warnings),
                                  checked_at)
        status.streams.extend(streams)
        status.consumers.extend(consumers)
        status.faces.CopyFrom(face_backend(backend))
        status.vectors.CopyFrom(self.setup.vectors)
        status.auth, status.auth_reason = self.setup.auth, self.setup.auth_reason
        return status

    async def _read_queues(self) -> tuple[list[pb.StreamStatus], list[pb.ConsumerStatus], list[str]]:
        streams: list[pb.StreamStatus] = []
        consumers: list[pb.ConsumerStatus] = []
        missing: list[str] = []
        for name in self.streams:
            stream = await self.queues.stream(name)
            if stream is None:
                missing.append(name)
                continue
            streams.append(stream)
            consumers += sorted(await self.queues.consumers(name), key=lambda c: c.consumer)
        return streams, consumers, missing

    async def _bounded(self, name: str, probe: Awaitable[T]) -> tuple[T | None, search_pb2.ReadinessCheck]:
        try:
            value = await asyncio.wait_for(probe, self.timeout_s)
        except TimeoutError:
            detail = f"no answer within {self.timeout_s:g}s"
            return None, search_pb2.ReadinessCheck(name=name, ok=False, detail=detail)
        except Exception as exc:  # a probe reports any failure in the status, never as an error
            return None, search_pb2.ReadinessCheck(name=name, ok=False, detail=str(exc) or repr(exc))
        return value, search_pb2.ReadinessCheck(name=name, ok=True)


def readiness_status(info: search_pb2.SystemInfo, checks: Sequence[search_pb2.ReadinessCheck] = (),
                     warnings: Sequence[str] = (), checked_at: datetime | None = None) -> pb.SystemStatus:
    """The status from the gateway's readiness and further checks: ready when every check passes; a
    failed check is a warning too (first), then the search service's warnings, then the others."""
    status = pb.SystemStatus(indexed=info.indexed, checks=[*info.checks, *checks])
    if info.HasField("model"):
        status.model.CopyFrom(info.model)
    status.ready = all(check.ok for check in status.checks)
    status.warnings.extend(f"{c.name} check failed: {c.detail}" for c in status.checks if not c.ok)
    status.warnings.extend([*info.warnings, *warnings])
    status.checked_at.CopyFrom(timestamp(checked_at or datetime.now(UTC)))
    return status


def face_backend(record: BackendRecord | None) -> pb.FaceBackendStatus:
    if record is None:
        return pb.FaceBackendStatus(recorded=False)
    return pb.FaceBackendStatus(recorded=True, backend=record.backend, model=record.model, dim=record.dim,
                                reason=record.reason)


def is_stalled(consumer: pb.ConsumerStatus, now: datetime, stale_s: float) -> bool:
    """A backlog, no pull waiting and nothing delivered or acked for stale_s (never active: not judged)."""
    if not (consumer.pending + consumer.unacked) or consumer.waiting or not consumer.HasField("last_active"):
        return False
    return (now - consumer.last_active.ToDatetime(UTC)).total_seconds() > stale_s


def stalled(consumer: pb.ConsumerStatus, now: datetime) -> str:
    idle_min = (now - consumer.last_active.ToDatetime(UTC)).total_seconds() / 60
    backlog = consumer.pending + consumer.unacked
    return (f"consumer {consumer.consumer} on {consumer.stream} has {backlog} messages to process and no"
            f" pull, delivery or ack for {idle_min:.0f} min: is its service running?")


def system_monitor(deps: Deps, settings: Settings) -> SystemMonitor:
    """The gateway's monitor over its own connections (bootstrap.build_gateway)."""
    return SystemMonitor(JetStreamQueues(deps.bus.js), FaceRepository(deps.pool),
                         setup_from_settings(settings), stale_s=settings.ingest.downstream_stale_s)


class JetStreamQueues:
    """QueueReader over JetStream's stream and consumer info."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def stream(self, name: str) -> pb.StreamStatus | None:
        try:
            info = await self.js.stream_info(name)
        except NotFoundError:
            return None
        state = info.state
        return pb.StreamStatus(name=name, messages=int(state.messages), bytes=int(state.bytes),
                               consumers=int(state.consumer_count))

    async def consumers(self, stream: str) -> list[pb.ConsumerStatus]:
        return [consumer_status(stream, info) for info in await self.js.consumers_info(stream)]


def consumer_status(stream: str, info: js_api.ConsumerInfo) -> pb.ConsumerStatus:
    delivered, floor = info.delivered, info.ack_floor
    status = pb.ConsumerStatus(
        stream=stream, consumer=info.name, pending=int(info.num_pending or 0),
        unacked=int(info.num_ack_pending or 0), redelivered=int(info.num_redelivered or 0),
        waiting=int(info.num_waiting or 0), delivered_seq=delivered.stream_seq if delivered else 0,
        ack_floor_seq=floor.stream_seq if floor else 0,
        filter_subject=(info.config.filter_subject or "") if info.config else "",
    )
    moments = [s.last_active for s in (delivered, floor) if s is not None and s.last_active is not None]
    if moments:
        status.last_active.CopyFrom(timestamp(max(_utc(m) for m in moments)))
    return status


def setup_from_settings(settings: Settings) -> Setup:
    qdrant_url = settings.qdrant.url
    vectors = (pb.VectorStoreStatus(kind="qdrant", location=without_credentials(qdrant_url)) if qdrant_url
               else pb.VectorStoreStatus(kind="qdrant-edge", location=str(settings.vectors_dir)))
    on, why = auth_decision(settings)
    exposed = sorted({host for host in (settings.http.host, settings.grpc.host) if not is_loopback(host)})
    warnings = []
    if not on and exposed:
        warnings.append(f"authentication is off while the gateway listens on {', '.join(exposed)}:"
                        " anyone who can reach it can read the library (IMGSEARCH_AUTH__MODE)")
    return Setup(vectors=vectors, auth="on" if on else "off", auth_reason=why, warnings=tuple(warnings))


def without_credentials(url: str) -> str:
    """The URL with any user:password@ left out (the rest of the netloc kept as written)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
