"""Scheduling and running qdrant-edge optimizes (EdgeOptimizer, EdgeCollection swap, recovery)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.common.vectors.edge_collection import EdgeCollection
from imgsearch.common.vectors.edge_optimizer import EdgeOptimizer, OptimizePolicy
from imgsearch.common.vectors.port import CollectionSpec, VectorPoint

DIM = 8
SPEC = CollectionSpec(model="m", pretrained="p", dim=DIM)


def _points(count: int, start: int = 0) -> list[VectorPoint]:
    rng = np.random.default_rng(start)
    return [
        VectorPoint(str(uuid.UUID(int=n + 1)), rng.standard_normal(DIM).tolist(), {"image_id": f"i{n}"})
        for n in range(start, start + count)
    ]


def _fake_child(sleep_s: float, marker: Path | None = None) -> list[str]:
    """A stand-in optimizer child: takes a while, touches nothing, and reports a change (forcing a swap)."""
    touch = f"open({str(marker)!r}, 'a').close(); " if marker else ""
    return [sys.executable, "-c", f"import time; {touch}time.sleep({sleep_s}); print('changed')"]


@pytest.mark.parametrize(
    ("new_points", "last_run", "now", "due"),
    [
        (99, None, 0.0, False),  # below the threshold
        (100, None, 0.0, True),  # threshold met, never optimized
        (500, 1000.0, 1059.0, False),  # too soon after the last one
        (500, 1000.0, 1060.0, True),  # interval elapsed
        (0, None, 0.0, False),  # nothing new, even with a zero threshold below
    ],
)
def test_policy_decision(new_points: int, last_run: float | None, now: float, due: bool) -> None:
    assert OptimizePolicy(interval_s=60.0, min_new_points=100).due(new_points, last_run, now) is due
    if new_points == 0:
        assert OptimizePolicy(interval_s=0.0, min_new_points=0).due(0, None, now) is False


def test_run_due_optimizes_only_due_collections(tmp_path: Path) -> None:
    class Recording(EdgeOptimizer):
        def optimize(self, collection: EdgeCollection) -> bool:
            ran.append(collection.path.name)
            return True

    class Stub(EdgeCollection):
        def __init__(self, name: str, new_points: int, last: float | None) -> None:
            self.path, self.new_points, self.last_optimized = tmp_path / name, new_points, last

    ran: list[str] = []
    collections = [Stub("busy", 5000, 0.0), Stub("quiet", 10, None), Stub("recent", 5000, 90.0)]
    optimizer = Recording(OptimizePolicy(60.0, 2000), lambda: collections)
    assert optimizer.run_due(now=100.0) == 1
    assert ran == ["busy"]


async def test_reads_and_writes_go_on_while_an_optimize_runs(tmp_path: Path) -> None:
    # The child runs far longer than the reads and writes below take, even on a loaded machine: they must
    # all complete while it still runs (not queue behind it).
    store = QdrantEdgeStore(tmp_path, background_optimize=False, optimizer_argv=_fake_child(5.0))
    await store.ensure_collection("images", SPEC)
    await store.upsert("images", _points(50))
    optimizing = asyncio.create_task(store.optimize_now("images"))
    await asyncio.sleep(0.3)  # the copy is taken and the child is running
    hits = await store.search("images", _points(50)[7].vector, limit=1)
    await store.upsert("images", _points(5, start=100))  # journaled, replayed onto the swapped-in copy
    await store.delete("images", [_points(1)[0].id])
    assert not optimizing.done()
    await store.set_payload("images", {_points(50)[9].id: {"person_ids": [4]}})  # journaled as well
    assert not optimizing.done()
    assert hits[0].id == _points(50)[7].id
    assert await optimizing is True
    assert await store.count("images") == 54
    assert len(await store.retrieve("images", [p.id for p in _points(5, start=100)])) == 5
    [tagged] = await store.retrieve("images", [_points(50)[9].id])
    assert tagged.payload == {"image_id": "i9", "person_ids": [4]}
    await store.close()
    reopened = QdrantEdgeStore(tmp_path, background_optimize=False)
    assert await reopened.count("images") == 54
    assert not (tmp_path / "images.optimizing").exists() and not (tmp_path / "images.replaced").exists()
    await reopened.close()


async def test_real_optimizer_child_vacuums_deleted_points(tmp_path: Path) -> None:
    store = QdrantEdgeStore(tmp_path, background_optimize=False)
    await store.ensure_collection("images", SPEC)
    points = _points(1500)
    await store.upsert("images", points)
    await store.delete("images", [p.id for p in points[:700]])
    assert await store.optimize_now("images") is True
    assert await store.count("images") == 800
    assert await store.optimize_now("images") is False  # already optimal: no swap
    await store.close()


async def test_background_thread_optimizes_after_enough_new_points(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    store = QdrantEdgeStore(tmp_path / "v", optimize_interval_s=0.0, optimize_min_new_points=20,
                            optimizer_argv=_fake_child(0.0, marker))
    await store.ensure_collection("images", SPEC)
    await store.upsert("images", _points(10))
    await asyncio.sleep(0.3)
    assert not marker.exists()  # 10 < 20 new points
    await store.upsert("images", _points(10, start=10))
    for _ in range(100):
        if marker.exists():
            break
        await asyncio.sleep(0.05)
    assert marker.exists()
    await store.close()
