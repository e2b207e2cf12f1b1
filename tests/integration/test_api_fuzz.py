"""Schemathesis over the gateway's own OpenAPI (bench/fuzz_api.py, the engine `make fuzz-api` runs, with a
smaller budget): no generated request gets a 5xx. The gateway serves REST on a free port over real NATS,
PostgreSQL and qdrant-edge, with the search service answering over NATS (a hashing text encoder: any query
has a vector) and a library, people and faces seeded as the services would store them."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from bench.fuzz_api import fuzz
from imgsearch.common.bus import Bus
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.settings import GrpcSettings, HttpSettings, Settings
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.gateway.bootstrap import GatewayServers, build_gateway
from imgsearch.search import bootstrap as search_bootstrap
from tests.integration.test_search_over_nats import seed, seed_people, write_crop
from tests.support.search_fakes import SPEC, FakeTextEncoder, image_id

pytestmark = pytest.mark.integration

# Generated cases per operation and mode; `make fuzz-api` runs more, and the coverage phase too (boundary
# values of every parameter: most of its ~5000 requests, too many for the suite).
EXAMPLES = 5
PHASES = ("examples", "fuzzing", "stateful")


class HashingEncoder(FakeTextEncoder):
    """Any text → a unit vector from its hash: every query the fuzzer makes up can be searched."""

    def __init__(self) -> None:
        super().__init__({})

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        rows = []
        for text in texts:
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
            vector = np.frombuffer(digest[: SPEC.dim], dtype=np.uint8).astype(np.float32) + 1.0
            rows.append(vector / np.linalg.norm(vector))
        return np.asarray(rows, dtype=np.float32)


@pytest.fixture
async def gateway_url(nats_url: str, pg_url: str, tmp_path: Path
                      ) -> AsyncIterator[tuple[str, dict[str, str]]]:
    library = tmp_path / "library"
    settings = Settings(
        data_dir=tmp_path / "data", library_roots=[library],
        http=HttpSettings(host="127.0.0.1", port=0), grpc=GrpcSettings(host="127.0.0.1", port=0),
    )
    pool = await open_pool(pg_url)
    store = QdrantEdgeStore(settings.vectors_dir, background_optimize=False)
    await seed(pool, store, library)
    write_crop(settings.face_crops_dir)
    people = await seed_people(pool)
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT id FROM faces LIMIT 1")).fetchone()
    assert row is not None
    search_bus = await Bus.connect(nats_url, "search", request_timeout_s=5)
    gateway_bus = await Bus.connect(nats_url, "gateway", request_timeout_s=5)
    await gateway_bus.ensure_streams()
    stop_search = asyncio.Event()
    search_task = asyncio.create_task(search_bootstrap.serve(
        settings, Deps(search_bus, pool, store), stop_search, clip=HashingEncoder()
    ))
    servers = GatewayServers(build_gateway(settings, Deps(gateway_bus, pool, store)), settings)
    try:
        await servers.start()
        url = f"http://127.0.0.1:{servers.http_port}"
        async with httpx.AsyncClient(base_url=url, timeout=10) as http, asyncio.timeout(10):
            while (await http.get("/readyz")).status_code != 200:  # noqa: ASYNC110 (polling a server)
                await asyncio.sleep(0.05)
        yield url, {"image_id": image_id("beach"), "face_id": str(row[0]), "person_id": str(people["ann"])}
    finally:
        await servers.stop()
        stop_search.set()
        await asyncio.wait_for(search_task, 10)
        for bus in (gateway_bus, search_bus):
            await bus.drain()
        await store.close()
        await pool.close()

async def test_no_generated_request_gets_a_server_error(gateway_url: tuple[str, dict[str, str]]) -> None:
    url, seeds = gateway_url
    report = await asyncio.to_thread(fuzz, url, EXAMPLES, None, seeds, 0, None, PHASES)
    assert report.requests > 300 and len(report.by_operation) >= 40
    assert report.engine_errors == []
    assert [error.describe() for error in report.errors] == []
