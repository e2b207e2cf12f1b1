"""Fakes at the search and gateway ports: an in-memory vector store, a text encoder, an image repository."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.db.images import ImageRecord
from imgsearch.common.errors import Unavailable
from imgsearch.common.subjects import SEARCH_INFO, SEARCH_SIMILAR, SEARCH_TEXT
from imgsearch.common.vectors.port import (
    CollectionSpec,
    PointPage,
    ScoredPoint,
    SearchFilter,
    StoredPoint,
    VectorPoint,
)
from imgsearch.search.client import SearchClient
from imgsearch.search.handlers import SearchHandlers, reply_handler

DIM = 4
SPEC = CollectionSpec(model="fake-clip", pretrained="test", dim=DIM)


def image_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def unit(vector: Sequence[float]) -> list[float]:
    array = np.asarray(vector, dtype=np.float32)
    return [float(x) for x in array / np.linalg.norm(array)]


@dataclass(frozen=True)
class FakeEncoderInfo:
    model: str = SPEC.model
    pretrained: str = SPEC.pretrained
    dim: int = DIM
    random_weights: bool = False
    device: str = "cpu"


class FakeTextEncoder:
    """Maps known texts to fixed vectors; records what it was asked."""

    def __init__(self, vectors: dict[str, Sequence[float]], random_weights: bool = False) -> None:
        self.vectors = {text: unit(v) for text, v in vectors.items()}
        pretrained = "random" if random_weights else SPEC.pretrained
        self.info = FakeEncoderInfo(random_weights=random_weights, pretrained=pretrained)
        self.calls: list[list[str]] = []

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        self.calls.append(list(texts))
        return np.asarray([self.vectors[t] for t in texts], dtype=np.float32)

    def collection_spec(self) -> CollectionSpec:
        return CollectionSpec(model=self.info.model, pretrained=self.info.pretrained, dim=self.info.dim)


@dataclass
class FakeVectorStore:
    """Exact cosine search over dict-held points; honours SearchFilter like the real adapters."""

    specs: dict[str, CollectionSpec] = field(default_factory=dict)
    points: dict[str, dict[str, VectorPoint]] = field(default_factory=dict)
    searches: list[tuple[str, int, int, SearchFilter | None]] = field(default_factory=list)

    async def ensure_collection(self, name: str, spec: CollectionSpec) -> None:
        self.specs.setdefault(name, spec)
        self.points.setdefault(name, {})

    async def collection_spec(self, name: str) -> CollectionSpec | None:
        return self.specs.get(name)

    async def upsert(self, name: str, points: Sequence[VectorPoint]) -> None:
        self.points[name].update({p.id: p for p in points})

    async def search(
        self, name: str, vector: Sequence[float], limit: int, offset: int = 0,
        filter: SearchFilter | None = None,
    ) -> list[ScoredPoint]:
        self.searches.append((name, limit, offset, filter))
        query = np.asarray(vector, dtype=np.float32)
        scored = [
            ScoredPoint(p.id, float(np.dot(query, np.asarray(p.vector, dtype=np.float32))), p.payload)
            for p in self.points.get(name, {}).values()
            if _matches(p, filter)
        ]
        scored.sort(key=lambda p: p.score, reverse=True)
        return scored[offset : offset + limit]

    async def retrieve(self, name: str, ids: Sequence[str]) -> list[VectorPoint]:
        held = self.points.get(name, {})
        return [held[i] for i in ids if i in held]

    async def set_payload(self, name: str, payloads: Mapping[str, dict[str, Any]]) -> None:
        held = self.points[name]
        for i, payload in payloads.items():
            if i in held:
                held[i] = replace(held[i], payload={**held[i].payload, **payload})

    async def delete(self, name: str, ids: Sequence[str]) -> None:
        for i in ids:
            self.points.get(name, {}).pop(i, None)

    async def count(self, name: str) -> int:
        return len(self.points.get(name, {}))

    async def scroll(self, name: str, limit: int, offset: str | None = None) -> PointPage:
        ids = sorted(i for i in self.points.get(name, {}) if offset is None or i >= offset)
        page = [StoredPoint(i, self.points[name][i].payload) for i in ids[:limit]]
        return PointPage(page, ids[limit] if len(ids) > limit else None)

    async def close(self) -> None:
        pass


def _matches(point: VectorPoint, f: SearchFilter | None) -> bool:
    if f is None:
        return True
    taken = point.payload.get("taken_at")
    if f.taken_after and (taken is None or taken < f.taken_after.timestamp()):
        return False
    if f.taken_before and (taken is None or taken > f.taken_before.timestamp()):
        return False
    if f.folder and f.folder not in point.payload.get("folders", []):
        return False
    if f.include_ids is not None and point.id not in f.include_ids:
        return False
    if f.camera and point.payload.get("camera") != f.camera:
        return False
    location = point.payload.get("location")
    if f.near and (location is None or _km(location["lat"], location["lon"], f.near.lat, f.near.lon)
                   > f.near.radius_km):
        return False
    return point.id not in f.exclude_ids


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean earth radius), as Qdrant's geo_radius measures it."""
    p1, p2, dp, dl = map(math.radians, (lat1, lat2, lat2 - lat1, lon2 - lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def make_record(name: str, path: str, taken_at: datetime | None = None, **changes: Any) -> ImageRecord:
    record = ImageRecord(
        id=image_id(name), paths=[path], size_bytes=1234, width=640, height=480, format="JPEG",
        taken_at=taken_at, taken_at_source="exif" if taken_at else None, gps_lat=None, gps_lon=None,
        gps_alt=None, camera_make="Canon", camera_model="EOS", orientation=1, thumbnail_path=None,
        ingest_status="ingested", embed_status="embedded", embed_error=None,
    )
    return replace(record, **changes)


class FakeImages:
    def __init__(self, records: Sequence[ImageRecord] = ()) -> None:
        self.records = {r.id: r for r in records}

    async def get(self, image_id: str) -> ImageRecord | None:
        return self.records.get(image_id)

    async def get_many(self, ids: Sequence[str]) -> dict[str, ImageRecord]:
        return {i: self.records[i] for i in ids if i in self.records}


class RoutingBus:
    """Stands in for Bus.request: routes to the search service's reply handlers in-process."""

    def __init__(self, routes: dict[str, Callable[[bytes], Awaitable[bytes]]]) -> None:
        self.routes = routes

    async def request(self, subject: str, payload: bytes, timeout_s: float | None = None) -> bytes:
        if subject not in self.routes:
            raise Unavailable(f"no answer on {subject}: is the service running?")
        return await self.routes[subject](payload)


def in_process_client(handlers: SearchHandlers | None) -> SearchClient:
    """A SearchClient whose requests reach handlers without NATS (None: no search service answers)."""
    routes = {} if handlers is None else {
        SEARCH_TEXT: reply_handler(pb.TextSearchRequest, handlers.text),
        SEARCH_SIMILAR: reply_handler(pb.SimilarSearchRequest, handlers.similar),
        SEARCH_INFO: reply_handler(pb.SearchInfoRequest, handlers.info),
    }
    return SearchClient(RoutingBus(routes))  # type: ignore[arg-type]
