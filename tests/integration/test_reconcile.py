"""Reconcile against a real nats-server, PostgreSQL and qdrant-edge, with the real embed service (tiny CLIP):
drift made on purpose is counted exactly by a dry run (which changes nothing), fixed by a repair, and a run
after the embed worker caught up finds none."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from nats.js.errors import NotFoundError

from imgsearch.clip import load_clip
from imgsearch.common.bus import Bus
from imgsearch.common.db.duplicates import DuplicatesRepository
from imgsearch.common.db.faces import FaceRepository
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.folders import folders_of
from imgsearch.common.ids import message_id, point_id
from imgsearch.common.perceptual import PerceptualHashes
from imgsearch.common.settings import ConsumerSettings, Settings
from imgsearch.common.subjects import EVENTS, IMAGES_INGESTED
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.common.vectors.port import FACES_COLLECTION, IMAGES_COLLECTION, CollectionSpec, VectorPoint
from imgsearch.embed.bootstrap import serve
from imgsearch.events.v1 import events_pb2 as ev
from imgsearch.faces.embeddings import unpack
from imgsearch.faces.messages import face_payload
from imgsearch.reconcile.report import ReconcileReport
from imgsearch.reconcile.service import Reconciler
from imgsearch.reconcile.streams import EMBED_CONSUMER
from imgsearch.reconcile.views import report_dict
from tests.support.faces_db import DIM, new_face
from tests.support.tiny_clip import TinyClip, render_shape

pytestmark = pytest.mark.integration

SHAPES = [("red", "circle"), ("blue", "square"), ("green", "triangle"), ("yellow", "square")]
# Never published: marked embedded, pending and failed.
EXTRA = [("red", "square"), ("blue", "circle"), ("green", "square")]
FACES_SPEC = CollectionSpec(model="faces/test", pretrained="test", dim=DIM)


async def test_dry_run_counts_repair_fixes_and_a_second_run_finds_nothing(
    nats_url: str, pg_url: str, tiny_clip: TinyClip, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        clip=tiny_clip.settings(batch_size=4),
        consumer=ConsumerSettings(max_deliver=2, ack_wait_s=10, backoff_s=[0.2]),
    )
    clip = await asyncio.to_thread(load_clip, settings.clip, frozenset({"image"}))
    library = tmp_path / "library"
    bus = await Bus.connect(nats_url, name="test-reconcile")
    await bus.ensure_streams()
    deps = Deps(bus=bus, pool=await open_pool(pg_url),
                vectors=QdrantEdgeStore(settings.vectors_dir, background_optimize=False))
    stop = asyncio.Event()
    service = asyncio.create_task(serve(settings, deps, stop, clip=clip))
    try:
        ids = [await _ingest(deps, library, color, shape, n) for n, (color, shape) in enumerate(SHAPES)]
        await _until(lambda: _settled(deps, ids), service)
        face_ids = await _faces(deps, ids[:2])

        # Drift, on purpose.
        await deps.vectors.delete(IMAGES_COLLECTION, [point_id(ids[0])])  # an embedded image loses its point
        embedded, pending, failed = [
            await _ingest(deps, library, color, shape, 10 + k, status=status, publish=False)
            for k, ((color, shape), status) in enumerate(zip(EXTRA, ("embedded", "pending", "failed"),
                                                             strict=True))
        ]
        ghost = hashlib.sha256(b"ghost").hexdigest()
        await deps.vectors.upsert(IMAGES_COLLECTION, [
            VectorPoint(point_id(ghost), [1.0] + [0.0] * 63, {"image_id": ghost, "folders": ["/"]}),
        ])
        await deps.vectors.set_payload(FACES_COLLECTION, {face_ids[0]: {"person_id": 4242}})
        await deps.vectors.delete(FACES_COLLECTION, [face_ids[1]])
        stray = str(uuid.uuid4())
        await deps.vectors.upsert(FACES_COLLECTION, [VectorPoint(stray, [0.5] * DIM, {"image_id": ghost})])

        reconciler = Reconciler(deps)
        dry = await reconciler.run(repair=False)
        _assert_found(dry, faces=len(face_ids))
        assert dry.repaired == 0
        again = await reconciler.run(repair=False)  # the dry run changed nothing
        assert report_dict(again) | {"run_id": ""} == report_dict(dry) | {"run_id": ""}
        assert await deps.vectors.count(IMAGES_COLLECTION) == 4
        assert await _status(deps, embedded) == "embedded"

        fixed = await reconciler.run(repair=True)
        _assert_found(fixed, faces=len(face_ids))
        images, faces = fixed.images, fixed.faces
        assert (images.republished, images.orphans_deleted) == (3, 1)
        assert (faces.restored, faces.orphans_deleted, faces.payloads_fixed) == (1, 1, 1)
        assert fixed.repaired == 7
        stored = {p.id: p.payload for p in await deps.vectors.retrieve(FACES_COLLECTION, face_ids)}
        assert set(stored) == set(face_ids) and stored[face_ids[0]].get("person_id") is None
        assert await deps.vectors.retrieve(FACES_COLLECTION, [stray]) == []

        await _until(lambda: _settled(deps, [ids[0], embedded, pending]), service)
        clean = await reconciler.run(repair=False)
        assert clean.drift == 0, report_dict(clean)
        assert (clean.images.missing, clean.images.failed, clean.images.points) == (1, 1, 6)
        assert (clean.faces.points, clean.faces.postgres) == (len(face_ids), len(face_ids))
        event = await _last_ingested(deps, pending)
        assert event.path == str(library / "blue_circle.jpg") and event.folders[-1] == str(library)
        assert await _status(deps, failed) == "failed"  # left alone: its reason is on the row
    finally:
        stop.set()
        await asyncio.wait_for(service, timeout=20)
        await deps.close()


def _assert_found(report: ReconcileReport, faces: int) -> None:
    images = report.images
    assert (images.postgres, images.points, images.missing) == (7, 4, 4)
    assert (images.embedded_without_vector, images.pending_stalled, images.failed) == (2, 1, 1)
    assert (images.pending_queued, images.no_file, images.orphans) == (0, 0, 1)
    assert (report.faces.postgres, report.faces.points) == (faces, faces)  # one deleted, one stray
    assert (report.faces.missing, report.faces.orphans, report.faces.payload_drift) == (1, 1, 1)
    assert report.drift == 7
    [events] = [s for s in report.streams if s.name == EVENTS.name]
    [embed] = [c for c in events.consumers if c.name == EMBED_CONSUMER]
    assert (embed.pending, embed.ack_pending) == (0, 0) and events.messages >= len(SHAPES)


async def _ingest(deps: Deps, library: Path, color: str, shape: str, seed: int, status: str = "pending",
                  publish: bool = True) -> str:
    """An image as ingest leaves it: file, images, files and image_hashes rows, images.ingested (unless
    publish=False)."""
    path = library / f"{color}_{shape}.jpg"
    image_id = await asyncio.to_thread(_write_shape, path, color, shape, seed)
    async with deps.pool.connection() as conn:
        await conn.execute("INSERT INTO images (id, size_bytes, width, height, format, embed_status)"
                           " VALUES (%s, %s, 160, 160, 'JPEG', %s)", (image_id, path.stat().st_size, status))
        await conn.execute("INSERT INTO files (path, library_root, image_id, status) VALUES (%s, %s, %s,"
                           " 'ingested')", (str(path), str(library), image_id))
    await DuplicatesRepository(deps.pool).record_hashes(image_id, PerceptualHashes(seed << 20), 0)
    if publish:
        event = ev.ImageIngested(image_id=image_id, path=str(path), library_root=str(library),
                                 folders=folders_of([(str(path), str(library))]))
        await deps.bus.publish(IMAGES_INGESTED, event, message_id(IMAGES_INGESTED, image_id, str(path)))
    return image_id


def _write_shape(path: Path, color: str, shape: str, seed: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    render_shape(color, shape, size=160, seed=seed).save(path, quality=92)
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _faces(deps: Deps, image_ids: list[str]) -> list[str]:
    """Two faces per photo, in PostgreSQL and the faces collection, as the faces service writes them."""
    repo = FaceRepository(deps.pool)
    await deps.vectors.ensure_collection(FACES_COLLECTION, FACES_SPEC)
    ids: list[str] = []
    for image_id in image_ids:
        rows = [new_face(image_id, slot, seed=len(ids) + slot) for slot in range(2)]
        await repo.replace_image_faces(image_id, rows)
        ids += [row.id for row in rows]
    stored = await repo.faces(ids)
    await deps.vectors.upsert(FACES_COLLECTION, [
        VectorPoint(f.id, unpack(f.embedding).tolist(), face_payload(f)) for f in stored
    ])
    return ids


async def _settled(deps: Deps, image_ids: list[str]) -> bool:
    """These images embedded with a point, and the embed consumer has nothing left."""
    try:
        info = await deps.bus.js.consumer_info(EVENTS.name, EMBED_CONSUMER)
    except NotFoundError:  # the service has not created it yet
        return False
    if info.num_pending or info.num_ack_pending:
        return False
    for image_id in image_ids:
        if await _status(deps, image_id) != "embedded" or not await _has_point(deps, image_id):
            return False
    return True


async def _status(deps: Deps, image_id: str) -> str:
    async with deps.pool.connection() as conn:
        cur = await conn.execute("SELECT embed_status FROM images WHERE id = %s", (image_id,))
        row = await cur.fetchone()
    assert row is not None
    return str(row[0])


async def _has_point(deps: Deps, image_id: str) -> bool:
    return bool(await deps.vectors.retrieve(IMAGES_COLLECTION, [point_id(image_id)]))


async def _last_ingested(deps: Deps, image_id: str) -> ev.ImageIngested:
    """The newest images.ingested in the stream for this image (the one reconcile published)."""
    info = await deps.bus.js.stream_info(EVENTS.name)
    for seq in range(info.state.last_seq, info.state.first_seq - 1, -1):
        msg = await deps.bus.js.get_msg(EVENTS.name, seq)
        if msg.subject == IMAGES_INGESTED and msg.data:
            event = ev.ImageIngested.FromString(msg.data)
            if event.image_id == image_id:
                return event
    raise AssertionError(f"no images.ingested for {image_id}")


async def _until(condition: Callable[[], Awaitable[bool]], service: asyncio.Task[None],
                 timeout_s: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await condition():
        if service.done():
            service.result()
            pytest.fail("embed service stopped early")
        if loop.time() > deadline:
            pytest.fail("timed out waiting for the embed service")
        await asyncio.sleep(0.05)
