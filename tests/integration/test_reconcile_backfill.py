"""Reconcile's backfill through the real ingest service (nats-server, PostgreSQL, qdrant-edge): image points
written the way the embed service writes them from the images.ingested events, then made to drift (a point
from before location and camera existed, stale folders, a changed taken_at) and perceptual hashes deleted
(as for images ingested before they existed). A dry run counts exactly and changes nothing, a repair sets
the payloads from PostgreSQL and hashes the thumbnails, a second run finds nothing."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsearch.common.bus import Bus
from imgsearch.common.db.duplicates import DuplicatesRepository
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.ids import point_id
from imgsearch.common.perceptual import PerceptualHashes, hamming, to_unsigned
from imgsearch.common.settings import IngestSettings, Settings
from imgsearch.common.subjects import EVENTS, IMAGES_INGESTED
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.common.vectors.port import IMAGES_COLLECTION, CollectionSpec, VectorPoint
from imgsearch.embed.handlers import payload_for
from imgsearch.events.v1 import events_pb2 as ev
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.bootstrap import build_gateway
from imgsearch.ingest.bootstrap import serve
from imgsearch.ingest.commands import request_ingest
from imgsearch.reconcile.images import COMPARED
from imgsearch.reconcile.report import ReconcileReport
from imgsearch.reconcile.service import Reconciler
from imgsearch.reconcile.views import report_dict

pytestmark = pytest.mark.integration

SPEC = CollectionSpec(model="test", pretrained="test", dim=4)
NIKON = ["exifsamples_DSCN0010.jpg", "exifsamples_DSCN0021.jpg"]  # GPS, camera, taken_at


@dataclass
class Library:
    deps: Deps
    settings: Settings
    root: Path


@pytest.fixture
async def library(nats_url: str, pg_url: str, tmp_path: Path, shared_data: Path) -> AsyncIterator[Library]:
    root = tmp_path / "library"
    (root / "gps").mkdir(parents=True)
    for photo in sorted((shared_data / "robustness" / "exif_gps_date").glob("*.jpg")):
        if photo.stat().st_size < 2_000_000:
            shutil.copy(photo, root / "gps" / photo.name)
    shutil.copytree(shared_data / "robustness" / "duplicates", root / "duplicates")
    (root / "copies").mkdir()
    shutil.copy(root / "gps" / NIKON[0], root / "copies" / NIKON[0])  # one image at two paths
    expected = sum(1 for p in root.rglob("*") if p.is_file())
    settings = Settings(data_dir=tmp_path / "data", library_roots=[root], ingest=IngestSettings(workers=4))
    bus = await Bus.connect(nats_url, name="reconcile-backfill-test")
    await bus.ensure_streams()
    deps = Deps(bus=bus, pool=await open_pool(pg_url, 1, 8),
                vectors=QdrantEdgeStore(settings.vectors_dir, background_optimize=False))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, deps, stop))
    try:
        await request_ingest(bus, root)
        await _files_settled(deps, expected, task)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    try:
        await _points_as_embed_writes_them(deps)
        yield Library(deps, settings, root)
    finally:
        await deps.close()


async def test_payload_and_hash_drift_is_counted_repaired_and_then_gone(library: Library) -> None:
    deps, reconciler = library.deps, Reconciler(library.deps, library.settings)
    baseline = await reconciler.run(repair=False)
    assert baseline.drift == 0, report_dict(baseline)  # the compared payload is the one embed writes
    assert baseline.images.postgres == baseline.images.points >= 15

    ids = await _image_ids(deps)
    old, retimed = ids[f"gps/{NIKON[0]}"], ids[f"gps/{NIKON[1]}"]
    stale = ids["gps/photoprism_no-exif-data.jpg"]  # its repair writes camera / location as null
    unhashed = [ids["duplicates/pillow_flower.jpg"], ids["duplicates/pillow_flower2.jpg"]]
    written = await _payloads(deps, ids.values())
    assert written[old]["camera"] and written[old]["location"] and written[old]["taken_at"]
    assert "camera" not in written[stale] and "location" not in written[stale]
    assert written[old]["folders"][-2:] == [str(library.root / "copies"), str(library.root / "gps")]
    hashes = {i: await _hashes(deps, i) for i in unhashed}

    # Drift, on purpose.
    before = {"image_id": old, "folders": written[old]["folders"]}  # no location / camera / taken_at yet
    await deps.vectors.upsert(IMAGES_COLLECTION, [VectorPoint(point_id(old), [0.0, 1.0, 0.0, 0.0], before)])
    await deps.vectors.set_payload(IMAGES_COLLECTION, {
        point_id(stale): {"folders": [*written[stale]["folders"], "/gone", "/gone/away"]},
        point_id(retimed): {"taken_at": written[retimed]["taken_at"] + 3600},
    })
    async with deps.pool.connection() as conn:
        await conn.execute("DELETE FROM image_hashes WHERE image_id = ANY(%s)", (unhashed,))
        await conn.execute("DELETE FROM near_duplicates WHERE a = ANY(%s) OR b = ANY(%s)",
                           (unhashed, unhashed))
    drifted = await _payloads(deps, ids.values())

    dry = await reconciler.run(repair=False)
    _assert_found(dry)
    assert dry.repaired == 0
    again = await reconciler.run(repair=False)
    assert report_dict(again) | {"run_id": ""} == report_dict(dry) | {"run_id": ""}
    assert await _payloads(deps, ids.values()) == drifted  # the dry run changed nothing
    assert [await _hashes(deps, i) for i in unhashed] == [None, None]

    fixed = await reconciler.run(repair=True)
    _assert_found(fixed)
    assert (fixed.images.payloads_fixed, fixed.images.hashes_recorded, fixed.repaired) == (3, 2, 5)
    repaired = await _payloads(deps, ids.values())
    for image_id, payload in written.items():
        assert {k: repaired[image_id].get(k) for k in COMPARED} == {k: payload.get(k) for k in COMPARED}
    for image_id in unhashed:  # from the thumbnail: within 2 bits of what ingest took from the preview
        recorded, original = await _hashes(deps, image_id), hashes[image_id]
        assert recorded is not None and original is not None
        assert hamming(recorded.full, original.full) <= 2
    threshold = library.settings.duplicates.near_threshold
    near = await DuplicatesRepository(deps.pool).near_groups(10, 0, threshold)
    assert {Path(p).name for g in near.groups for i in g.images for p in i.paths} >= {  # found again
        "pillow_flower.jpg", "pillow_flower.webp", "pillow_flower2.jpg", "pillow_flower2.webp"}

    clean = await reconciler.run(repair=False)
    assert clean.drift == 0, report_dict(clean)


async def test_hashes_without_a_thumbnail_or_settings_are_only_counted(library: Library) -> None:
    deps = library.deps
    ids = await _image_ids(deps)
    lost, kept = ids["duplicates/pillow_flower.webp"], ids["gps/exifsamples_DSCN0040.jpg"]
    async with deps.pool.connection() as conn:
        await conn.execute("DELETE FROM image_hashes WHERE image_id = ANY(%s)", ([lost, kept],))
        cur = await conn.execute("SELECT thumbnail_path FROM images WHERE id = %s", (lost,))
        row = await cur.fetchone()
    assert row is not None
    await asyncio.to_thread(Path(row[0]).unlink)

    without_settings = await Reconciler(deps).run(repair=True)  # no thumbnails directory: count only
    assert (without_settings.images.hashes_missing, without_settings.images.hashes_recorded) == (2, 0)

    transport = httpx.ASGITransport(app=create_app(build_gateway(library.settings, deps)))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        report = (await client.post("/api/v1/reconcile", json={"repair": True})).json()
        assert (report["images"]["hashes_missing"], report["images"]["hashes_recorded"]) == (2, 1)
        assert (report["images"]["payload_drift"], report["images"]["payloads_fixed"]) == (0, 0)
        assert (report["drift"], report["repaired"]) == (2, 1)
        report = (await client.post("/api/v1/reconcile", json={"repair": True})).json()
        assert (report["images"]["hashes_missing"], report["images"]["hashes_recorded"]) == (1, 0)
    assert await _hashes(deps, lost) is None and await _hashes(deps, kept) is not None


def _assert_found(report: ReconcileReport) -> None:
    images = report.images
    assert (images.payload_drift, images.hashes_missing) == (3, 2)
    assert (images.missing, images.orphans, report.faces.drift) == (0, 0, 0)
    assert (images.drift, report.drift) == (5, 5)


async def _files_settled(deps: Deps, expected: int, service: asyncio.Task[None]) -> None:
    """Until every file of the library has its files row (ingested or failed)."""
    async with asyncio.timeout(120):
        while True:
            if service.done():
                service.result()
                pytest.fail("the ingest service stopped early")
            async with deps.pool.connection() as conn:
                cur = await conn.execute("SELECT count(*) FROM files")
                row = await cur.fetchone()
            if row is not None and row[0] >= expected:
                return
            await asyncio.sleep(0.1)


async def _points_as_embed_writes_them(deps: Deps) -> None:
    """Each images.ingested of the stream through the embed service's payload_for (folders merged over
    the paths of one image), with a stand-in vector."""
    await deps.vectors.ensure_collection(IMAGES_COLLECTION, SPEC)
    info = await deps.bus.js.stream_info(EVENTS.name)
    payloads: dict[str, dict[str, Any]] = {}
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await deps.bus.js.get_msg(EVENTS.name, seq)
        if msg.subject == IMAGES_INGESTED and msg.data:
            event = ev.ImageIngested.FromString(msg.data)
            pid = point_id(event.image_id)
            payloads[pid] = payload_for(event, payloads.get(pid))
    await deps.vectors.upsert(IMAGES_COLLECTION, [
        VectorPoint(pid, [1.0, 0.0, 0.0, 0.0], payload) for pid, payload in payloads.items()
    ])


async def _image_ids(deps: Deps) -> dict[str, str]:
    """Image id by path relative to the library (the first path of each image)."""
    async with deps.pool.connection() as conn:
        cur = await conn.execute("SELECT path, library_root, image_id FROM files WHERE status = 'ingested'")
        rows = await cur.fetchall()
    return {str(Path(path).relative_to(root)): str(image_id) for path, root, image_id in rows}


async def _payloads(deps: Deps, image_ids: Any) -> dict[str, dict[str, Any]]:
    ids = sorted(set(image_ids))
    points = await deps.vectors.retrieve(IMAGES_COLLECTION, [point_id(i) for i in ids])
    by_point = {p.id: p.payload for p in points}
    return {i: by_point[point_id(i)] for i in ids}


async def _hashes(deps: Deps, image_id: str) -> PerceptualHashes | None:
    async with deps.pool.connection() as conn:
        cur = await conn.execute("SELECT slot, hash FROM image_hashes WHERE image_id = %s", (image_id,))
        rows = await cur.fetchall()
    return PerceptualHashes.from_slots((int(slot), to_unsigned(int(h))) for slot, h in rows)
