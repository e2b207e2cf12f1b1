"""The 99 hostile and odd files of ../shared/data/robustness through ingest *and* embed, as services on
real NATS, PostgreSQL and qdrant-edge: every file ends with a final state and a reason, nothing is
left pending, and every image ingest accepted is embedded (both read images the same way)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

import imgsearch.embed.bootstrap as embed
import imgsearch.ingest.bootstrap as ingest
from imgsearch.clip import load_clip
from imgsearch.common.deps import open_deps
from imgsearch.common.settings import ConsumerSettings, Settings
from imgsearch.common.vectors.port import IMAGES_COLLECTION
from imgsearch.ingest.commands import request_ingest
from tests.support.tiny_clip import TinyClip

pytestmark = pytest.mark.integration


async def _states(pg_url: str) -> tuple[list[tuple[str, str, str | None]], list[tuple[str, str, str | None]]]:
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        files = await (await conn.execute("SELECT path, status, error FROM files")).fetchall()
        images = await (await conn.execute("SELECT id, embed_status, embed_error FROM images")).fetchall()
    return files, images


async def test_robustness_files_all_reach_a_final_state(
    nats_url: str, pg_url: str, tiny_clip: TinyClip, tmp_path: Path, shared_data: Path
) -> None:
    library = shared_data / "robustness"
    expected_files = sum(1 for p in library.rglob("*") if p.is_file() and not p.name.startswith("."))
    settings = Settings(
        data_dir=tmp_path / "data", library_roots=[library],
        clip=tiny_clip.settings(batch_size=8),
        consumer=ConsumerSettings(max_deliver=2, ack_wait_s=30, backoff_s=[0.2]),
    )
    clip = await asyncio.to_thread(load_clip, settings.clip, frozenset({"image"}))
    deps = await open_deps(settings, "robustness", nats_url, pg_url)
    stop = asyncio.Event()
    services = [
        asyncio.create_task(ingest.serve(settings, deps, stop)),
        asyncio.create_task(embed.serve(settings, deps, stop, clip=clip)),
    ]
    try:
        await request_ingest(deps.bus, library)
        for _ in range(600):
            files, images = await _states(pg_url)
            if len(files) >= expected_files and images and all(s != "pending" for _, s, _ in images):
                break
            assert not any(t.done() for t in services), "a service stopped"
            await asyncio.sleep(0.2)
        indexed = await deps.vectors.count(IMAGES_COLLECTION)
    finally:
        stop.set()
        await asyncio.gather(*services)
        await deps.close()

    assert len(files) == expected_files
    assert {status for _, status, _ in files} <= {"ingested", "failed"}
    assert all(error for _, status, error in files if status == "failed"), "a failed file without a reason"
    assert sum(status == "failed" for _, status, _ in files) >= 10  # the corrupt ones really failed
    # what ingest accepted, embed can read: every ingested image ends embedded, none pending or failed
    assert [(i, s, e) for i, s, e in images if s != "embedded"] == []
    assert indexed == len(images) > 60
