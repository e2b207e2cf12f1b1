"""The embed service against a real nats-server, PostgreSQL and qdrant-edge, with the tiny trained CLIP:
ImageIngested events in → vectors, embed status, ImageEmbedded events out; a corrupt file dead-lettered."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest
from nats.aio.msg import Msg

from imgsearch.clip import ClipModel, load_clip
from imgsearch.common.bus import Bus
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.ids import message_id, point_id
from imgsearch.common.settings import ConsumerSettings, Settings
from imgsearch.common.subjects import IMAGES_EMBEDDED, IMAGES_INGESTED, failed_subject
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.common.vectors.port import IMAGES_COLLECTION
from imgsearch.embed.bootstrap import serve
from imgsearch.events.v1 import events_pb2 as ev
from tests.support.tiny_clip import TinyClip, render_shape

pytestmark = pytest.mark.integration

SHAPES = [("red", "circle"), ("blue", "square"), ("green", "triangle"), ("yellow", "square")]


async def test_embed_service_end_to_end(
    nats_url: str, pg_url: str, tiny_clip: TinyClip, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        clip=tiny_clip.settings(batch_size=3),
        consumer=ConsumerSettings(max_deliver=2, ack_wait_s=10, backoff_s=[0.2]),
    )
    clip = await asyncio.to_thread(load_clip, settings.clip)  # both towers: the test queries text too
    files = _write_library(tmp_path / "library")
    bus = await Bus.connect(nats_url, name="test-embed")
    await bus.ensure_streams()
    deps = Deps(bus=bus, pool=await open_pool(pg_url), vectors=QdrantEdgeStore(settings.vectors_dir,
                                                                              background_optimize=False))
    embedded: list[ev.ImageEmbedded] = []
    failed: list[ev.ImageFailed] = []

    async def on_embedded(msg: Msg) -> None:
        embedded.append(ev.ImageEmbedded.FromString(msg.data))

    async def on_failed(msg: Msg) -> None:
        failed.append(ev.ImageFailed.FromString(msg.data))

    await bus.nc.subscribe(IMAGES_EMBEDDED, cb=on_embedded)
    await bus.nc.subscribe(failed_subject("embed"), cb=on_failed)
    try:
        await _insert_and_publish(deps, pg_url, files)
        stop = asyncio.Event()
        service = asyncio.create_task(serve(settings, deps, stop, clip=clip))
        await _wait_for(lambda: len(embedded) == len(SHAPES) and len(failed) == 1, service)
        stop.set()
        await asyncio.wait_for(service, timeout=20)

        assert await deps.vectors.count(IMAGES_COLLECTION) == len(SHAPES)
        statuses = await _embed_statuses(pg_url)
        assert statuses.pop("corrupt")[0] == "failed"
        assert set(statuses.values()) == {("embedded", None)}
        assert {e.image_id for e in embedded} == {f"{c}-{s}" for c, s in SHAPES}
        assert all(e.model == tiny_clip.model_name and e.dim == 64 and not e.random_weights for e in embedded)
        assert failed[0].image_id == "corrupt" and failed[0].reason.startswith("BadImage")
        async with deps.pool.connection() as conn:
            cur = await conn.execute("SELECT consumer, reason FROM dead_letters")
            [(consumer, reason)] = await cur.fetchall()
        assert consumer == "embed" and "BadImage" in reason
        await _assert_text_finds_red_circle(deps, clip)
    finally:
        await deps.close()


async def _assert_text_finds_red_circle(deps: Deps, clip: ClipModel) -> None:
    query = clip.encode_texts(["a red circle"])[0]
    hits = await deps.vectors.search(IMAGES_COLLECTION, query.tolist(), limit=2)
    assert hits[0].id == point_id("red-circle")
    assert hits[0].payload["image_id"] == "red-circle"


def _write_library(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True)
    files = {}
    for index, (color, shape) in enumerate(SHAPES):
        path = folder / f"{color}_{shape}.jpg"
        render_shape(color, shape, size=160, seed=100 + index).save(path, quality=92)
        files[f"{color}-{shape}"] = path
    corrupt = folder / "corrupt.jpg"
    corrupt.write_bytes(files["red-circle"].read_bytes()[:200])
    files["corrupt"] = corrupt
    return files


async def _insert_and_publish(deps: Deps, pg_url: str, files: dict[str, Path]) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        for image_id, path in files.items():
            await conn.execute("INSERT INTO images (id, size_bytes) VALUES (%s, %s)",
                               (image_id, path.stat().st_size))
        await conn.commit()
    for image_id, path in files.items():
        event = ev.ImageIngested(image_id=image_id, path=str(path), folders=[str(path.parent)])
        await deps.bus.publish(IMAGES_INGESTED, event, message_id(IMAGES_INGESTED, image_id))


async def _embed_statuses(pg_url: str) -> dict[str, tuple[str, str | None]]:
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT id, embed_status, embed_error FROM images")
        return {row[0]: (row[1], row[2]) for row in await cur.fetchall()}


async def _wait_for(condition, service: asyncio.Task[None], timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if service.done():
            service.result()  # re-raise what stopped the service
            pytest.fail("embed service stopped early")
        if loop.time() > deadline:
            pytest.fail("timed out waiting for the embed service")
        await asyncio.sleep(0.05)
