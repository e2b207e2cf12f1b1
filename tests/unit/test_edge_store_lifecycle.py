"""QdrantEdgeStore's lifecycle: crash recovery of a shard swap, the folder lock, use after close."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imgsearch.common.errors import ConfigurationError, Unavailable
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.common.vectors.edge_disk import recover
from imgsearch.common.vectors.port import CollectionSpec, VectorPoint

DIM = 8
SPEC = CollectionSpec(model="m", pretrained="p", dim=DIM)
_FAKE_CHILD = [sys.executable, "-c", "print('changed')"]  # optimizes nothing, forces a swap


def _points(count: int) -> list[VectorPoint]:
    rng = np.random.default_rng(0)
    return [VectorPoint(str(uuid.UUID(int=n + 1)), rng.standard_normal(DIM).tolist(), {})
            for n in range(count)]


def _folders(root: Path, **contents: str) -> None:
    for suffix, content in contents.items():
        folder = root / ("images" + ("" if suffix == "live" else "." + suffix))
        folder.mkdir()
        (folder / "f").write_text(content)


def _names(root: Path) -> set[str]:
    return {p.name for p in root.iterdir()}


def test_recover_keeps_a_live_shard_over_a_replaced_one(tmp_path: Path) -> None:
    _folders(tmp_path, live="new", replaced="old", optimizing="tmp", trash="junk")
    recover(tmp_path / "images")
    assert (tmp_path / "images" / "f").read_text() == "new"
    assert _names(tmp_path) == {"images"}


def test_recover_puts_the_replaced_shard_back_when_live_is_missing(tmp_path: Path) -> None:
    _folders(tmp_path, replaced="old", optimizing="tmp")
    recover(tmp_path / "images")
    assert (tmp_path / "images" / "f").read_text() == "old"
    assert _names(tmp_path) == {"images"}


async def test_crash_while_deleting_the_old_shard_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_rmtree = shutil.rmtree

    def crashing_rmtree(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path).name in ("images.replaced", "images.trash") and (Path(path) / "segments").exists():
            real_rmtree(Path(path) / "segments")  # deleted file by file: stop half-way,
            real_rmtree(Path(path) / "wal")  # with edge_config.json still there
            raise RuntimeError("crash")
        real_rmtree(path, *args, **kwargs)

    store = QdrantEdgeStore(tmp_path, background_optimize=False, optimizer_argv=_FAKE_CHILD)
    await store.ensure_collection("images", SPEC)
    await store.upsert("images", _points(30))
    monkeypatch.setattr(shutil, "rmtree", crashing_rmtree)
    with pytest.raises(RuntimeError, match="crash"):
        await store.optimize_now("images")
    monkeypatch.undo()
    await store.close()

    reopened = QdrantEdgeStore(tmp_path, background_optimize=False)
    assert await reopened.count("images") == 30
    assert _names(tmp_path) == {"images", "images.spec.json", "images.lock"}
    await reopened.close()


async def test_a_second_store_on_the_same_folder_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    first = QdrantEdgeStore(tmp_path, background_optimize=False)
    await first.ensure_collection("images", SPEC)
    second = QdrantEdgeStore(tmp_path, background_optimize=False)
    for call in (lambda: second.count("images"), lambda: second.ensure_collection("images", SPEC)):
        with pytest.raises(ConfigurationError, match="in use by another process") as refused:
            await call()
        assert "IMGSEARCH_QDRANT__URL" in refused.value.message
    await first.upsert("images", _points(3))
    await first.close()
    assert await second.count("images") == 3
    await second.close()


async def test_two_stores_on_one_folder_each_use_their_own_collection(tmp_path: Path) -> None:
    """The lock is per collection: embed (images) and faces (faces) run as separate processes."""
    embed = QdrantEdgeStore(tmp_path, background_optimize=False)
    faces = QdrantEdgeStore(tmp_path, background_optimize=False)
    await embed.ensure_collection("images", SPEC)
    await faces.ensure_collection("faces", SPEC)
    await embed.upsert("images", _points(3))
    await faces.upsert("faces", _points(2))
    with pytest.raises(ConfigurationError, match="in use by another process"):
        await faces.count("images")
    assert (await embed.count("images"), await faces.count("faces")) == (3, 2)
    await embed.close()
    assert await faces.count("images") == 3  # free once its holder closed
    await faces.close()


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.count("images"),
        lambda s: s.search("images", [0.0] * DIM, limit=1),
        lambda s: s.upsert("images", _points(1)),
        lambda s: s.set_payload("images", {_points(1)[0].id: {"person_ids": [1]}}),
        lambda s: s.ensure_collection("images", SPEC),
        lambda s: s.ensure_collection("other", SPEC),
        lambda s: s.optimize_now(),
    ],
)
async def test_calls_after_close_fail_and_reopen_nothing(tmp_path: Path, call: Callable[[Any], Any]) -> None:
    store = QdrantEdgeStore(tmp_path, background_optimize=False)
    await store.ensure_collection("images", SPEC)
    await store.close()
    with pytest.raises(Unavailable, match="vector store is closed"):
        await call(store)
    assert not (tmp_path / "other").exists()
    again = QdrantEdgeStore(tmp_path, background_optimize=False)  # no shard nor lock leaked
    assert await again.count("images") == 0
    await again.close()


async def test_spec_is_published_before_the_collection(tmp_path: Path) -> None:
    """The unlocked fast path in _collection reads _collections then _specs."""
    store = QdrantEdgeStore(tmp_path, background_optimize=False)
    specs = store._specs

    class Checked(dict[str, Any]):
        def __setitem__(self, key: str, value: Any) -> None:
            assert key in specs, "collection published before its spec"
            super().__setitem__(key, value)

    store._collections = Checked()
    await store.ensure_collection("images", SPEC)
    await store.close()
    reopened = QdrantEdgeStore(tmp_path, background_optimize=False)
    reopened._collections = Checked()
    specs = reopened._specs
    assert await reopened.count("images") == 0
    await reopened.close()
