"""QdrantServerStore: the VectorStore port over a Qdrant server, through qdrant_client.AsyncQdrantClient.

The CollectionSpec is recorded in the collection's own ``metadata`` (Qdrant ≥ 1.16 and qdrant-client ≥ 1.16
support metadata on create_collection; qdrant-client's local mode stores it too), under ``imgsearch_spec``,
so it is created atomically with the collection and travels with snapshots.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import httpx
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from imgsearch.common.errors import ConfigurationError, InvalidInput, NotFound, Unavailable
from imgsearch.common.vectors.filter_terms import (
    FLOAT_FIELDS,
    GEO_FIELDS,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    filter_terms,
)
from imgsearch.common.vectors.port import (
    CollectionSpec,
    PointPage,
    ScoredPoint,
    SearchFilter,
    StoredPoint,
    VectorPoint,
)
from imgsearch.common.vectors.records import canonical_payloads, points_in_request_order
from imgsearch.common.vectors.spec import SPEC_KEY, check_spec, spec_from_dict, spec_to_dict

_DISTANCES = {"cosine": models.Distance.COSINE, "dot": models.Distance.DOT, "euclid": models.Distance.EUCLID}
_INDEXES = {
    **{field: models.PayloadSchemaType.KEYWORD for field in KEYWORD_FIELDS},
    **{field: models.PayloadSchemaType.FLOAT for field in FLOAT_FIELDS},
    **{field: models.PayloadSchemaType.INTEGER for field in INTEGER_FIELDS},
    **{field: models.PayloadSchemaType.GEO for field in GEO_FIELDS},
}
_SET_PAYLOAD_BATCH = 256  # operations per request
_SET_PAYLOAD_ATTEMPTS = 3  # a point deleted between the existence check and the update: check again


class QdrantServerStore:
    """Give ``url`` (+ ``api_key``, ``prefer_grpc``) for a server; ``location=":memory:"`` or ``path=``
    select qdrant-client's local mode (exact search, for tests)."""

    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        prefer_grpc: bool = True,
        location: str | None = None,
        path: Path | None = None,
        timeout_s: int | None = None,
    ) -> None:
        if sum(x is not None for x in (url, location, path)) != 1:
            raise ConfigurationError("QdrantServerStore needs exactly one of url, location, path")
        if url is not None:
            # No version check: it would be a blocking HTTP request inside the constructor.
            self._client = AsyncQdrantClient(
                url=url, api_key=api_key, prefer_grpc=prefer_grpc, timeout=timeout_s,
                check_compatibility=False,
            )
        else:
            self._client = AsyncQdrantClient(location=location, path=None if path is None else str(path))
        self._specs: dict[str, CollectionSpec] = {}

    async def ensure_collection(self, name: str, spec: CollectionSpec) -> None:
        distance = _DISTANCES.get(spec.distance.lower())
        if distance is None:
            raise InvalidInput(f"unsupported distance {spec.distance!r}; use one of {sorted(_DISTANCES)}")
        with _translated_errors(name):
            if not await self._client.collection_exists(name):
                try:
                    await self._client.create_collection(
                        name,
                        vectors_config=models.VectorParams(size=spec.dim, distance=distance),
                        metadata={SPEC_KEY: spec_to_dict(spec)},
                    )
                except (UnexpectedResponse, ValueError, grpc.RpcError):
                    if not await self._client.collection_exists(name):
                        raise  # not a race with another service creating it: a real failure
            info = await self._client.get_collection(name)
            check_spec(name, _recorded_spec(info), spec)
            # Idempotent: also repairs a collection whose creation stopped before its indexes.
            for field, kind in _INDEXES.items():
                if field not in (info.payload_schema or {}):
                    await self._client.create_payload_index(name, field, field_schema=kind, wait=True)
        self._specs[name] = spec

    async def collection_spec(self, name: str) -> CollectionSpec | None:
        with _translated_errors(name):
            if not await self._client.collection_exists(name):
                return None
            return _recorded_spec(await self._client.get_collection(name))

    async def upsert(self, name: str, points: Sequence[VectorPoint]) -> None:
        if not points:
            return
        batch = [
            models.PointStruct(id=p.id, vector=self._checked_vector(name, p.vector), payload=dict(p.payload))
            for p in points
        ]
        with _translated_errors(name):
            await self._client.upsert(name, points=batch, wait=True)

    async def search(
        self, name: str, vector: Sequence[float], limit: int, offset: int = 0,
        filter: SearchFilter | None = None,
    ) -> list[ScoredPoint]:
        checked = self._checked_vector(name, vector)
        if filter is not None and filter.matches_nothing:
            return []
        with _translated_errors(name):
            response = await self._client.query_points(
                name,
                query=checked,
                limit=limit,
                offset=offset or None,
                query_filter=_to_server_filter(filter),
                with_payload=True,
            )
        return [ScoredPoint(str(p.id), p.score, dict(p.payload or {})) for p in response.points]

    async def retrieve(self, name: str, ids: Sequence[str]) -> list[VectorPoint]:
        if not ids:
            return []
        with _translated_errors(name):
            records = await self._client.retrieve(name, list(ids), with_payload=True, with_vectors=True)
        return points_in_request_order(records, ids)

    async def set_payload(self, name: str, payloads: Mapping[str, dict[str, Any]]) -> None:
        """Qdrant refuses a set_payload naming a missing point, so only stored points are named."""
        wanted = canonical_payloads(payloads)
        if not wanted:
            return
        for attempt in range(_SET_PAYLOAD_ATTEMPTS):
            with _translated_errors(name):
                stored = await self._client.retrieve(
                    name, list(wanted), with_payload=False, with_vectors=False
                )
            operations = [
                models.SetPayloadOperation(
                    set_payload=models.SetPayload(payload=wanted[str(r.id)], points=[r.id])
                )
                for r in stored
                if str(r.id) in wanted
            ]
            try:
                for start in range(0, len(operations), _SET_PAYLOAD_BATCH):
                    with _translated_errors(name):
                        await self._client.batch_update_points(
                            name, operations[start : start + _SET_PAYLOAD_BATCH], wait=True
                        )
                return
            except (NotFound, KeyError):  # KeyError: how local mode reports a missing point
                if attempt == _SET_PAYLOAD_ATTEMPTS - 1:
                    raise Unavailable(f"points of {name!r} kept vanishing during set_payload") from None

    async def delete(self, name: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        with _translated_errors(name):
            await self._client.delete(name, points_selector=models.PointIdsList(points=list(ids)), wait=True)

    async def drop_collection(self, name: str) -> None:
        with _translated_errors(name):
            if await self._client.collection_exists(name):
                await self._client.delete_collection(name)

    async def count(self, name: str) -> int:
        with _translated_errors(name):
            return (await self._client.count(name, exact=True)).count

    async def scroll(self, name: str, limit: int, offset: str | None = None) -> PointPage:
        with _translated_errors(name):
            records, next_offset = await self._client.scroll(
                name, limit=limit, offset=offset, with_payload=True, with_vectors=False
            )
        points = [StoredPoint(str(r.id), dict(r.payload or {})) for r in records]
        return PointPage(points, None if next_offset is None else str(next_offset))

    async def close(self) -> None:
        await self._client.close()

    def _checked_vector(self, name: str, vector: Sequence[float]) -> list[float]:
        spec = self._specs.get(name)
        if spec is not None and len(vector) != spec.dim:
            raise InvalidInput(f"vector of dimension {len(vector)} for {name!r}, which holds {spec.dim}")
        return [float(x) for x in vector]


def _recorded_spec(info: models.CollectionInfo) -> CollectionSpec | None:
    metadata = info.config.metadata or {}
    return spec_from_dict(metadata.get(SPEC_KEY))


def _to_server_filter(search_filter: SearchFilter | None) -> models.Filter | None:
    terms = filter_terms(search_filter)
    if terms is None:
        return None
    must: list[models.Condition] = []
    must_not: list[models.Condition] = []
    if terms.has_date_range:
        # A range condition never matches a point without the field, so undated photos drop out.
        must.append(models.FieldCondition(key="taken_at", range=models.Range(gte=terms.taken_gte,
                                                                               lte=terms.taken_lte)))
    if terms.near is not None:  # a geo condition never matches a point without a location
        center = models.GeoPoint(lat=terms.near.lat, lon=terms.near.lon)
        must.append(models.FieldCondition(key="location", geo_radius=models.GeoRadius(
            center=center, radius=terms.near.radius_km * 1000.0)))
    if terms.camera:
        must.append(models.FieldCondition(key="camera", match=models.MatchValue(value=terms.camera)))
    if terms.folder:
        must.append(models.FieldCondition(key="folders", match=models.MatchValue(value=terms.folder)))
    if terms.include_ids is not None:
        must.append(models.HasIdCondition(has_id=list(terms.include_ids)))
    if terms.exclude_ids:
        must_not.append(models.HasIdCondition(has_id=list(terms.exclude_ids)))
    return models.Filter(must=must or None, must_not=must_not or None)


# Timeout, conflict (e.g. a concurrent collection change), rate limit: retry later, not a bad request.
_TRANSIENT_4XX = frozenset({408, 409, 429})


@contextmanager
def _translated_errors(name: str) -> Iterator[None]:
    """qdrant-client's errors (HTTP, gRPC, local mode) → the project's error tree."""
    try:
        yield
    except UnexpectedResponse as exc:
        if exc.status_code == 404:
            raise NotFound(f"vector collection {name!r} not found") from exc
        if exc.status_code is not None and exc.status_code < 500 and exc.status_code not in _TRANSIENT_4XX:
            raise InvalidInput(f"Qdrant refused a request on {name!r}: {exc}") from exc
        raise Unavailable(f"Qdrant failed on {name!r}: {exc}") from exc
    except grpc.RpcError as exc:
        code = exc.code() if callable(getattr(exc, "code", None)) else None
        if code == grpc.StatusCode.NOT_FOUND:
            raise NotFound(f"vector collection {name!r} not found") from exc
        if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE):
            raise InvalidInput(f"Qdrant refused a request on {name!r}: {exc.details()}") from exc
        raise Unavailable(f"Qdrant (gRPC) failed on {name!r}: {exc}") from exc
    except (ResponseHandlingException, httpx.TransportError) as exc:
        raise Unavailable(f"Qdrant did not answer for {name!r}: {exc}") from exc
    except ValueError as exc:
        if "not found" in str(exc).lower():  # how local mode reports a missing collection
            raise NotFound(f"vector collection {name!r} not found") from exc
        raise
