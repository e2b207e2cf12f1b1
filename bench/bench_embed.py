"""Embed throughput: the real embed service vs the loop a user would write. Run by `make bench-embed`.

Pipeline: N ImageIngested events for real photos go through real JetStream (nats-server from the wheel)
into ``imgsearch.embed.bootstrap.serve`` — draft-mode decode on a thread pool, batches, one inference
thread overlapped with the next batch's decode, ViT-B-32 in the precision the service picks (bf16 on CPUs
with native bf16) — into a real qdrant-edge store, with status rows in real PostgreSQL; timed until the
last images.embedded event arrives. Naive: PIL open → open_clip preprocess → encode_image, one at a time.

Usage: bench/bench_embed.py [N] (or BENCH_N; default 96), BENCH_REPEATS (default 3; medians are
reported, since other processes may share the CPU),
BENCH_PRECISION (default auto, as the service). Random weights: speed does not depend on them.
The ratio is the last line."""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from nats.aio.msg import Msg
from PIL import Image

from imgsearch.clip import ClipModel, load_clip
from imgsearch.common.bus import Bus
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.ids import message_id
from imgsearch.common.infra.nats_server import NatsServer
from imgsearch.common.infra.postgres import EmbeddedPostgres
from imgsearch.common.settings import ClipSettings, Settings
from imgsearch.common.subjects import IMAGES_EMBEDDED, IMAGES_INGESTED
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.embed.bootstrap import serve
from imgsearch.events.v1 import events_pb2 as ev

SCENES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scenes"
MODEL = "ViT-B-32"


def photos(n: int) -> list[Path]:
    found = sorted(p for p in SCENES.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if len(found) < n:
        sys.exit(f"only {len(found)} photos under {SCENES}, asked for {n}")
    step = len(found) / n  # spread over every source folder, not the first one only
    return [found[int(i * step)] for i in range(n)]


def naive_model() -> tuple[Any, Any]:
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(MODEL, pretrained=None)
    return model.eval(), preprocess


def naive(files: list[Path], model: Any, preprocess: Any) -> float:
    """images/s of the obvious loop, fp32 eager, one image at a time."""
    with torch.no_grad():
        model.encode_image(preprocess(Image.open(files[0]).convert("RGB")).unsqueeze(0))  # warm-up
        start = time.perf_counter()
        for path in files:
            image = preprocess(Image.open(path).convert("RGB")).unsqueeze(0)
            model.encode_image(image)
        return len(files) / (time.perf_counter() - start)


async def pipeline(files: list[Path], clip: ClipModel, settings: Settings, nats_url: str, pg_url: str,
                   round_: int) -> float:
    """images/s through serve(), from start until the last ImageEmbedded event (model already loaded)."""
    bus = await Bus.connect(nats_url, name="bench")
    await bus.ensure_streams()
    deps = Deps(bus=bus, pool=await open_pool(pg_url), vectors=QdrantEdgeStore(
        settings.vectors_dir / str(round_), background_optimize=False))
    done, seen = asyncio.Event(), set()

    async def on_embedded(msg: Msg) -> None:
        seen.add(ev.ImageEmbedded.FromString(msg.data).image_id)
        if len(seen) == len(files):
            done.set()

    await bus.nc.subscribe(IMAGES_EMBEDDED, cb=on_embedded)
    ids = [f"r{round_}-{i}" for i in range(len(files))]  # new ids each round: nothing is deduplicated
    async with deps.pool.connection() as conn:
        for image_id, path in zip(ids, files, strict=True):
            await conn.execute("INSERT INTO images (id, size_bytes) VALUES (%s, %s)",
                               (image_id, path.stat().st_size))
    for image_id, path in zip(ids, files, strict=True):
        event = ev.ImageIngested(image_id=image_id, path=str(path), folders=[str(path.parent)])
        await bus.publish(IMAGES_INGESTED, event, message_id(IMAGES_INGESTED, image_id))
    stop = asyncio.Event()
    start = time.perf_counter()
    service = asyncio.create_task(serve(settings, deps, stop, clip=clip))
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.perf_counter() - start
    stop.set()
    await service
    await deps.close()
    return len(files) / elapsed


async def rounds(files: list[Path], repeats: int, work: Path) -> tuple[list[float], list[float]]:
    """Alternate pipeline and naive rounds, so that load from other processes hits both alike."""
    settings = Settings(data_dir=work / "data", clip=ClipSettings(
        model=MODEL, pretrained="random", precision=os.environ.get("BENCH_PRECISION", "auto")))
    clip = await asyncio.to_thread(load_clip, settings.clip, frozenset({"image"}))
    print(f"pipeline model: {clip.info.model} device={clip.info.device} precision={clip.info.precision} "
          f"batch={settings.clip.batch_size}", flush=True)
    model, preprocess = naive_model()
    nats, postgres = NatsServer(work / "nats"), EmbeddedPostgres(work / "pg")
    nats.start()
    postgres.start()
    try:
        piped: list[float] = []
        plain: list[float] = []
        for round_ in range(repeats):
            piped.append(await pipeline(files, clip, settings, nats.url, postgres.url, round_))
            # on the main thread, as the user's script would run (blocking the loop is harmless here)
            plain.append(naive(files, model, preprocess))
            print(f"  round {round_ + 1}: pipeline {piped[-1]:.2f} img/s, naive {plain[-1]:.2f} img/s",
                  flush=True)
        return piped, plain
    finally:
        nats.stop()
        postgres.stop()


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("BENCH_N", "96"))
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    files = photos(n)
    print(f"{n} photos from {SCENES}, {repeats} rounds each, torch threads={torch.get_num_threads()}")
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        piped, naive_rates = asyncio.run(rounds(files, repeats, Path(tmp)))
    pipe, base = statistics.median(piped), statistics.median(naive_rates)
    print(f"naive (PIL + preprocess + encode_image, batch 1, fp32): {base:.2f} img/s (median)")
    print(f"pipeline (JetStream → embed service → qdrant-edge):    {pipe:.2f} img/s (median)")
    print(f"pipeline/naive: {pipe / base:.2f}")


if __name__ == "__main__":
    main()
