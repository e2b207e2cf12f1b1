"""QdrantEdgeStore: the VectorStore port over embedded qdrant-edge, one EdgeShard per collection.

Layout under ``root``: ``<name>/`` the shard, ``<name>.spec.json`` the CollectionSpec that built it,
``<name>.lock`` flocked by the one process that may use that collection (taken on first use of it,
released by close()): two processes may share the folder when each uses its own collections.
Every blocking shard call runs in a worker thread (asyncio.to_thread); EdgeCollection makes them safe
to run concurrently. The optimizer is ours to schedule: see edge_optimizer.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qdrant_edge import (
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeShard,
    EdgeVectorParams,
    PayloadSchemaType,
    Point,
    Query,
    QueryRequest,
    ScrollRequest,
    UpdateOperation,
)

from imgsearch.common.errors import InvalidInput, NotFound, Unavailable
from imgsearch.common.vectors.edge_collection import EdgeCollection
from imgsearch.common.vectors.edge_disk import lock_collection, recover
from imgsearch.common.vectors.edge_filters import to_edge_filter
from imgsearch.common.vectors.edge_optimizer import DEFAULT_OPTIMIZER_ARGV, EdgeOptimizer, OptimizePolicy
from imgsearch.common.vectors.filter_terms import FLOAT_FIELDS, GEO_FIELDS, INTEGER_FIELDS, KEYWORD_FIELDS
from imgsearch.common.vectors.port import (
    CollectionSpec,
    PointPage,
    ScoredPoint,
    SearchFilter,
    StoredPoint,
    VectorPoint,
)
from imgsearch.common.vectors.records import canonical_payloads, points_in_request_order
from imgsearch.common.vectors.spec import check_spec, read_spec_file, write_spec_file

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # becomes a directory name
_DISTANCES = {"cosine": Distance.Cosine, "dot": Distance.Dot, "euclid": Distance.Euclid}
_INDEXES = {
    **{field: PayloadSchemaType.Keyword for field in KEYWORD_FIELDS},
    **{field: PayloadSchemaType.Float for field in FLOAT_FIELDS},
    **{field: PayloadSchemaType.Integer for field in INTEGER_FIELDS},
    **{field: PayloadSchemaType.Geo for field in GEO_FIELDS},
}


class QdrantEdgeStore:
    def __init__(
        self,
        root: Path,
        optimize_interval_s: float = 60.0,
        optimize_min_new_points: int = 2000,
        *,
        background_optimize: bool = True,
        optimizer_argv: Sequence[str] = DEFAULT_OPTIMIZER_ARGV,
    ) -> None:
        self._root = root
        self._collections: dict[str, EdgeCollection] = {}
        self._specs: dict[str, CollectionSpec] = {}
        self._open_lock = threading.Lock()  # guards opening, _lock_fds and _closed
        self._lock_fds: dict[str, int] = {}  # collection name → its flocked <name>.lock
        self._closed = False
        self._background_optimize = background_optimize
        self._optimizer = EdgeOptimizer(
            OptimizePolicy(optimize_interval_s, optimize_min_new_points),
            lambda: list(self._collections.values()),
            optimizer_argv,
        )

    async def ensure_collection(self, name: str, spec: CollectionSpec) -> None:
        await asyncio.to_thread(self._ensure, name, spec)
        if self._background_optimize:
            self._optimizer.start()  # started lazily: constructing a store starts no thread

    async def collection_spec(self, name: str) -> CollectionSpec | None:
        self._check_open()
        path = self._shard_path(name)
        if name in self._specs:
            return self._specs[name]
        return await asyncio.to_thread(lambda: read_spec_file(_spec_path(path)) if _has_shard(path) else None)

    async def upsert(self, name: str, points: Sequence[VectorPoint]) -> None:
        if not points:
            return
        collection, spec = await self._collection(name)
        batch = [Point(p.id, _checked_vector(p.vector, spec, name), dict(p.payload)) for p in points]
        await asyncio.to_thread(collection.write, UpdateOperation.upsert_points(batch), len(batch))

    async def search(
        self, name: str, vector: Sequence[float], limit: int, offset: int = 0,
        filter: SearchFilter | None = None,
    ) -> list[ScoredPoint]:
        collection, spec = await self._collection(name)
        checked = _checked_vector(vector, spec, name)
        if filter is not None and filter.matches_nothing:
            return []
        request = QueryRequest(
            limit=limit,
            offset=offset or None,
            query=Query.Nearest(checked),
            with_payload=True,
            filter=to_edge_filter(filter),
        )
        found = await asyncio.to_thread(collection.read, lambda shard: shard.query(request))
        return [ScoredPoint(str(p.id), p.score, dict(p.payload or {})) for p in found]

    async def retrieve(self, name: str, ids: Sequence[str]) -> list[VectorPoint]:
        if not ids:
            return []
        collection, _ = await self._collection(name)
        wanted = list(ids)
        records = await asyncio.to_thread(collection.read, lambda shard: shard.retrieve(wanted, True, True))
        return points_in_request_order(records, ids)

    async def set_payload(self, name: str, payloads: Mapping[str, dict[str, Any]]) -> None:
        wanted = canonical_payloads(payloads)
        if not wanted:
            return
        collection, _ = await self._collection(name)

        def plan(shard: EdgeShard) -> list[UpdateOperation]:
            # qdrant-edge refuses a set_payload naming a missing point after applying it to the others;
            # under the collection's write lock no point can vanish between this read and the update.
            stored = [str(r.id) for r in shard.retrieve(list(wanted), False, False)]
            return [UpdateOperation.set_payload([p], wanted[p]) for p in stored if p in wanted]

        await asyncio.to_thread(collection.write_planned, plan)

    async def delete(self, name: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        collection, _ = await self._collection(name)
        await asyncio.to_thread(collection.write, UpdateOperation.delete_points(list(ids)), len(ids))

    async def drop_collection(self, name: str) -> None:
        await asyncio.to_thread(self._drop, name)

    async def count(self, name: str) -> int:
        collection, _ = await self._collection(name)
        return await asyncio.to_thread(collection.read, lambda shard: shard.count(CountRequest(exact=True)))

    async def scroll(self, name: str, limit: int, offset: str | None = None) -> PointPage:
        collection, _ = await self._collection(name)
        request = ScrollRequest(offset=offset, limit=limit, with_payload=True, with_vector=False)
        records, next_offset = await asyncio.to_thread(collection.read, lambda shard: shard.scroll(request))
        points = [StoredPoint(str(r.id), dict(r.payload or {})) for r in records]
        return PointPage(points, None if next_offset is None else str(next_offset))

    async def optimize_now(self, name: str | None = None) -> bool:
        """Optimize one collection (or all open ones) now; True when a shard was rebuilt."""
        self._check_open()
        targets = [(await self._collection(name))[0]] if name else list(self._collections.values())
        changed = False
        for collection in targets:
            changed |= await asyncio.to_thread(self._optimizer.optimize, collection)
        return changed

    async def close(self) -> None:
        # No optimize at close: it can take minutes and would hold up shutdown; it resumes after restart.
        await asyncio.to_thread(self._optimizer.stop)
        await asyncio.to_thread(self._close_all)

    def _close_all(self) -> None:
        with self._open_lock:
            self._closed = True
            for collection in self._collections.values():
                collection.close()
            self._collections.clear()
            for fd in self._lock_fds.values():
                os.close(fd)  # releases the flock
            self._lock_fds.clear()

    # -- opening ----------------------------------------------------------------------------------

    def _shard_path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise InvalidInput(f"invalid vector collection name {name!r}")
        return self._root / name

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable("vector store is closed")

    def _lock(self, name: str, path: Path) -> None:
        """Called under _open_lock before any recover/open of a collection: one process per collection."""
        self._check_open()
        if name not in self._lock_fds:
            self._lock_fds[name] = lock_collection(path)

    async def _collection(self, name: str) -> tuple[EdgeCollection, CollectionSpec]:
        self._check_open()
        collection = self._collections.get(name)
        if collection is not None:  # _specs[name] is always set before _collections[name]
            return collection, self._specs[name]
        opened = await asyncio.to_thread(self._open_existing, name)
        if self._background_optimize:
            self._optimizer.start()
        return opened

    def _open_existing(self, name: str) -> tuple[EdgeCollection, CollectionSpec]:
        path = self._shard_path(name)
        with self._open_lock:
            self._lock(name, path)
            if name not in self._collections:
                recover(path)
                spec = read_spec_file(_spec_path(path))
                if spec is None or not _has_shard(path):
                    raise NotFound(f"vector collection {name!r} does not exist under {self._root}")
                self._load(name, path, spec)
            return self._collections[name], self._specs[name]

    def _ensure(self, name: str, spec: CollectionSpec) -> None:
        path = self._shard_path(name)
        distance = _DISTANCES.get(spec.distance.lower())
        if distance is None:
            raise InvalidInput(f"unsupported distance {spec.distance!r}; use one of {sorted(_DISTANCES)}")
        with self._open_lock:
            self._lock(name, path)
            if name in self._collections:
                check_spec(name, self._specs[name], spec)
                return
            recover(path)
            if _has_shard(path):
                check_spec(name, read_spec_file(_spec_path(path)), spec)
                self._load(name, path, spec)
                return
            # Spec first: a crash before the shard exists leaves only a spec, which the next call rewrites.
            write_spec_file(_spec_path(path), spec)
            shard = EdgeShard.create(str(path), EdgeConfig(vectors=EdgeVectorParams(spec.dim, distance)))
            _ensure_indexes(shard)
            self._specs[name] = spec  # before _collections: _collection() reads both without the lock
            self._collections[name] = EdgeCollection(path, shard)

    def _drop(self, name: str) -> None:
        path = self._shard_path(name)
        with self._open_lock:
            self._lock(name, path)
            collection = self._collections.pop(name, None)
            self._specs.pop(name, None)
            if collection is not None:
                with collection.optimize_lock:  # no optimize is copying or swapping this shard
                    collection.close()
            recover(path)  # settles a half-finished optimize swap before the folder goes
            shutil.rmtree(path, ignore_errors=True)
            _spec_path(path).unlink(missing_ok=True)

    def _load(self, name: str, path: Path, spec: CollectionSpec) -> None:
        shard = EdgeShard.load(str(path))
        _ensure_indexes(shard)  # repairs a shard whose creation was interrupted
        info = shard.info()
        # Unindexed points are what the optimizer has not seen yet: counts towards the next optimize.
        pending = max(0, info.points_count - info.indexed_vectors_count)
        self._specs[name] = spec  # before _collections: _collection() reads both without the lock
        self._collections[name] = EdgeCollection(path, shard, new_points=pending)


def _spec_path(shard_path: Path) -> Path:
    return shard_path.with_name(shard_path.name + ".spec.json")


def _has_shard(path: Path) -> bool:
    return (path / "edge_config.json").exists() or (path / "segments").exists()


def _ensure_indexes(shard: EdgeShard) -> None:
    existing = set(shard.info().payload_schema)
    missing = [(f, kind) for f, kind in _INDEXES.items() if f not in existing]
    for field, kind in missing:
        shard.update(UpdateOperation.create_field_index(field, kind))
    if missing:
        shard.flush()


def _checked_vector(vector: Sequence[float], spec: CollectionSpec, name: str) -> list[float]:
    if len(vector) != spec.dim:
        raise InvalidInput(f"vector of dimension {len(vector)} for {name!r}, which holds {spec.dim}")
    return [float(x) for x in vector]

