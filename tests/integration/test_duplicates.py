"""Duplicates through the real ingest service (nats-server, PostgreSQL): the JPEG/WebP copies of
../shared/data/robustness/duplicates and the near-duplicate pairs of scenes/photoprism are grouped, one
picture at two paths is an exact duplicate, and the gateway (as bootstrap builds it) serves the groups
over REST."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.bus import Bus
from imgsearch.common.db.duplicates import MAX_CANDIDATES, DuplicatePage, DuplicatesRepository
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.perceptual import PerceptualHashes
from imgsearch.common.settings import IngestSettings, Settings
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.bootstrap import build_gateway
from imgsearch.ingest.bootstrap import serve
from imgsearch.ingest.commands import request_ingest

pytestmark = pytest.mark.integration

NEAR = [
    {"pillow_flower.jpg", "pillow_flower.webp"},
    {"pillow_flower2.jpg", "pillow_flower2.webp"},
    {"dog_created_1919.jpg", "dog_toshi_yellow.jpg"},
    {"IMG_4120.JPG", "IMG_E4120.JPG"},  # a square crop of the original, in black and white
]


@dataclass
class Ingested:
    deps: Deps
    settings: Settings
    library: Path


async def _files_settled(pool: AsyncConnectionPool, expected: int, timeout_s: float = 120.0) -> None:
    """Until every file of the library has its files row (ingested or failed)."""
    async with asyncio.timeout(timeout_s):
        while True:
            async with pool.connection() as conn:
                cur = await conn.execute("SELECT count(*) FROM files")
                row = await cur.fetchone()
            if row is not None and row[0] >= expected:
                return
            await asyncio.sleep(0.1)


@pytest.fixture
def threshold() -> int:
    """The configured near-duplicate threshold (read when a test runs, not at import)."""
    return Settings().duplicates.near_threshold


@pytest.fixture
async def ingested(nats_url: str, pg_url: str, tmp_path: Path, shared_data: Path) -> AsyncIterator[Ingested]:
    library = tmp_path / "library"
    shutil.copytree(shared_data / "robustness" / "duplicates", library / "duplicates")
    shutil.copytree(shared_data / "scenes" / "photoprism", library / "photoprism")
    scene = sorted((shared_data / "scenes" / "coco").glob("*.jpg"))[0]
    for copy in ("copies/one", "copies/two"):  # one picture at two paths: an exact duplicate
        (library / copy).mkdir(parents=True)
        shutil.copy(scene, library / copy / "scene.jpg")
    expected = sum(1 for p in library.rglob("*") if p.is_file())
    settings = Settings(data_dir=tmp_path / "data", library_roots=[library],
                        ingest=IngestSettings(workers=4))
    bus = await Bus.connect(nats_url, name="duplicates-test")
    await bus.ensure_streams()
    pool = await open_pool(pg_url, 1, 8)
    deps = Deps(bus=bus, pool=pool, vectors=cast(Any, None))  # neither ingest nor these APIs use vectors
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, deps, stop))
    try:
        await request_ingest(bus, library)
        await _files_settled(pool, expected)
        yield Ingested(deps, settings, library)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        await bus.drain()
        await pool.close()


def names(page: DuplicatePage) -> list[set[str]]:
    return [{Path(p).name for image in group.images for p in image.paths} for group in page.groups]


async def test_near_and_exact_duplicates_are_grouped(ingested: Ingested, threshold: int) -> None:
    repository = DuplicatesRepository(ingested.deps.pool)
    near = await repository.near_groups(100, 0, threshold)
    assert near.total == len(NEAR)
    assert sorted(names(near), key=sorted) == sorted(NEAR, key=sorted)  # and no unrelated photos
    edit = next(g for g in near.groups if "IMG_E4120.JPG" in {Path(i.paths[0]).name for i in g.images})
    # the picture with more pixels first: here the 500x500 edit, not the 500x375 original
    assert [Path(i.paths[0]).name for i in edit.images] == ["IMG_E4120.JPG", "IMG_4120.JPG"]
    assert edit.images[0].distance == 0 and 0 < edit.images[1].distance <= threshold

    first = await repository.near_groups(2, 0, threshold)
    second = await repository.near_groups(2, 2, threshold)
    assert (first.total, len(first.groups), len(second.groups)) == (4, 2, 2)
    assert sorted(names(first) + names(second), key=sorted) == sorted(NEAR, key=sorted)
    assert (await repository.near_groups(10, 0, 0)).total == 3  # at threshold 0 only the exact re-encodings

    exact = await repository.exact_groups(10, 0)
    assert exact.total == 1
    [group] = exact.groups
    assert [Path(p).relative_to(ingested.library).parts[:2] for p in group.images[0].paths] == [
        ("copies", "one"), ("copies", "two")]

    # a deleted image leaves its group
    dog = next(g for g in near.groups if any("dog_" in p for i in g.images for p in i.paths))
    async with ingested.deps.pool.connection() as conn:
        await conn.execute("DELETE FROM images WHERE id = %s", (dog.images[0].image_id,))
    assert (await repository.near_groups(100, 0, threshold)).total == len(NEAR) - 1


async def test_duplicates_over_rest(ingested: Ingested) -> None:
    app = create_app(build_gateway(ingested.settings, ingested.deps))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        near = (await client.get("/api/v1/duplicates", params={"kind": "near"})).json()
        exact = (await client.get("/api/v1/duplicates", params={"kind": "exact"})).json()
        browse = (await client.get("/api/v1/browse", params={"path": str(ingested.library)})).json()
    assert near["total"] == len(NEAR)
    found = [{Path(p).name for image in g["images"] for p in image["paths"]} for g in near["groups"]]
    assert sorted(found, key=sorted) == sorted(NEAR, key=sorted)
    for group in near["groups"]:
        assert group["kind"] == "near" and group["images"][0]["distance"] == 0
        for image in group["images"]:
            assert image["thumbnail_url"] == f"/api/v1/images/{image['image_id']}/thumbnail"
    assert exact["total"] == 1 and len(exact["groups"][0]["images"][0]["paths"]) == 2
    assert {d["name"]: d["image_files"] for d in browse["directories"]} == {
        "copies": 2, "duplicates": 4, "photoprism": 46}


async def test_pairs_are_found_whatever_the_order_and_rewrites_are_idempotent(pg_url: str, threshold: int
                                                                              ) -> None:
    pool = await open_pool(pg_url, 1, 8)
    try:
        ids = [f"{n:064x}" for n in range(1, 5)]
        async with pool.connection() as conn:
            for image_id in ids:
                await conn.execute("INSERT INTO images (id, size_bytes) VALUES (%s, 1)", (image_id,))
        repository = DuplicatesRepository(pool)
        base = 0xF0F0_1234_8001_7FFE
        hashes = [
            PerceptualHashes(base),
            PerceptualHashes(base ^ 0b111, ()),  # 3 bits from the first
            # unlike the first as a whole, but one window is 1 bit from it
            PerceptualHashes(0x0F0F_0000_1111_2222, (0x1111_1111_1111_1111, base ^ (1 << 63))),
            PerceptualHashes(~base & (2**64 - 1)),  # far from everything
        ]
        # all at once, and each twice (two paths of one picture): every pair is found exactly once
        await asyncio.gather(*(repository.record_hashes(i, h, threshold)
                               for i, h in [*zip(ids, hashes, strict=True), *zip(ids, hashes, strict=True)]))
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT a, b, distance FROM near_duplicates ORDER BY a, b")
            pairs = await cur.fetchall()
            cur = await conn.execute("SELECT count(*) FROM image_hashes")
            stored = await cur.fetchone()
        assert pairs == [(ids[0], ids[1], 3), (ids[0], ids[2], 1), (ids[1], ids[2], 4)]
        assert stored == (6,)
        page = await repository.near_groups(10, 0, threshold)
        assert [[i.image_id for i in g.images] for g in page.groups] == [ids[:3]]
        assert [i.distance for i in page.groups[0].images] == [0, 3, 1]
        assert (await repository.near_groups(10, 0, 3)).total == 1  # the 4-bit pair drops, still connected
        assert (await repository.near_groups(10, 0, 0)).total == 0
    finally:
        await pool.close()


async def test_a_crowd_of_identical_pictures_pairs_a_bounded_number_and_real_pairs_still_pair(
        pg_url: str, threshold: int) -> None:
    """300 black frames share every hash band: each looks at no more than MAX_CANDIDATES of the others
    (not all before it), they still make one group, and a real pair whose hashes share a band with the
    crowd is still found."""
    pool = await open_pool(pg_url, 1, 4)
    try:
        crowd = [f"{n:064x}" for n in range(1, 301)]
        pair = [f"{n:064x}" for n in (1001, 1002)]
        async with pool.connection() as conn:
            await conn.execute("INSERT INTO images (id, size_bytes) SELECT unnest(%s::text[]), 1",
                               (crowd + pair,))
        repository = DuplicatesRepository(pool)
        black = PerceptualHashes(0, (0, 0))
        found = [await repository.record_hashes(i, black, threshold) for i in crowd]
        assert found == [min(n, MAX_CANDIDATES) for n in range(300)]  # bounded, not one more per picture
        # a real pair: its first band is the crowd's (zero), the rest its own; two bits apart
        photo = 0x0000_3C5A_9E71_42B8
        assert await repository.record_hashes(pair[0], PerceptualHashes(photo), threshold) == 0
        assert await repository.record_hashes(pair[1], PerceptualHashes(photo ^ 0b101), threshold) == 1
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM near_duplicates")
            total = await cur.fetchone()
        assert total is not None and total[0] == sum(found) + 1
        page = await repository.near_groups(10, 0, threshold)
        assert [len(g.images) for g in page.groups] == [300, 2]
        assert sorted(i.image_id for i in page.groups[1].images) == pair
    finally:
        await pool.close()
