"""The ingest service through the real bus consumer, nats-server and PostgreSQL, over every hostile
file in ../shared/data/robustness: each ends as a files row (ingested, or failed with a reason),
nothing crashes, a good photo sorted after all of them is ingested, a rescan publishes nothing."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from imgsearch.common.bus import Bus
from imgsearch.common.settings import ConsumerSettings, IngestSettings, Settings
from imgsearch.common.subjects import COMMANDS, EVENTS
from imgsearch.ingest.bootstrap import DURABLE
from imgsearch.ingest.commands import request_ingest
from tests.support.ingest_service import IngestService, ingest_service, ingested_events
from tests.support.session_waits import sessions_done

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(nats_url: str, pg_url: str, tmp_path: Path, shared_data: Path
                  ) -> AsyncIterator[IngestService]:
    robustness = shared_data / "robustness"
    library = tmp_path / "library"
    library.mkdir()
    (library / "a_robustness").symlink_to(robustness)  # a second root: the link is followed
    scene = sorted((shared_data / "scenes").rglob("*.JPEG"))[0]
    for copy in ("zz_good/one", "zz_good/two"):  # the same photo twice, after every bad file
        (library / copy).mkdir(parents=True)
        shutil.copy(scene, library / copy / "scene.jpg")
    settings = Settings(
        data_dir=tmp_path / "data", library_roots=[library, robustness],
        consumer=ConsumerSettings(ack_wait_s=30.0, backoff_s=[0.2], max_deliver=2),
        ingest=IngestSettings(workers=2, exclude=[]),
    )
    async with ingest_service(nats_url, pg_url, settings, library, name="ingest-test",
                              max_connections=4) as service:
        yield service


async def _settled(bus: Bus, timeout_s: float = 120.0) -> None:
    """Wait until the ingest consumer has settled every command published so far."""
    last = (await bus.js.stream_info(COMMANDS.name)).state.last_seq
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                info = await bus.js.consumer_info(COMMANDS.name, DURABLE)
            except Exception:  # not created yet
                info = None
            idle = info is not None and not info.num_ack_pending and not info.num_pending
            if info is not None and idle and info.delivered.stream_seq >= last:
                return
            await asyncio.sleep(0.1)


async def test_every_robustness_file_ends_ingested_or_failed(service: IngestService, shared_data: Path
                                                             ) -> None:
    expected = {p.name for p in (shared_data / "robustness").rglob("*") if p.is_file()}
    await request_ingest(service.bus, service.library)
    await _settled(service.bus)
    await sessions_done(service.pool, 1)

    async with service.pool.connection() as conn:
        cur = await conn.execute("SELECT path, status, error, image_id FROM files ORDER BY path")
        rows = await cur.fetchall()
    by_name = {Path(path).name: (status, error, image_id) for path, status, error, image_id in rows}
    assert set(by_name) == expected | {"scene.jpg"}
    assert len(rows) == len(expected) + 2
    for path, status, error, image_id in rows:
        outcome = (status, bool(error), bool(image_id))
        assert outcome in {("ingested", False, True), ("failed", True, False)}, path
    for bad in ("bomb_png_30000x30000_gray.png", "bomb_jpeg_sof_65500x65500.jpg", "empty_0_bytes.jpg",
                "not_an_image.jpg", "pillow_truncated_jpeg.jpg", "truncated_half_coco_000000000139.jpg"):
        assert by_name[bad][0] == "failed", bad
    for good in ("landscape_6.jpg", "exifsamples_IMG_5195.HEIC", "immich_8bit-sRGB.avif",
                 "large_10000x7500_75MP_gradient.jpg", "photoprism_pythagoras.gif",
                 "pillow_pil_sample_cmyk.jpg"):
        assert by_name[good][0] == "ingested", good
    good_copies = [r for r in rows if r[0].startswith(str(service.library / "zz_good"))]
    assert [r[1] for r in good_copies] == ["ingested", "ingested"]
    assert good_copies[0][3] == good_copies[1][3]  # one image, two paths

    events = await ingested_events(service.bus)
    ingested = [r for r in rows if r[1] == "ingested"]
    assert sorted(e.path for e in events) == sorted(r[0] for r in ingested)
    second = [e for e in events if e.path.endswith("scene.jpg")][-1]  # whichever copy came later
    assert {str(service.library / "zz_good" / "one"), str(service.library / "zz_good" / "two")} <= set(
        second.folders)
    for event in events:
        thumb = service.settings.thumbnails_dir / event.image_id[:2] / f"{event.image_id}.jpg"
        assert thumb.is_file()

    reasons = Counter((r[2] or "").split(" (")[0].split(":")[0] for r in rows if r[1] == "failed")
    failed = len(rows) - len(ingested)
    print(f"\nrobustness: {len(ingested)} ingested, {failed} failed; reasons {dict(reasons)}")

    # A rescan reads nothing again and publishes nothing.
    before = (await service.bus.js.stream_info(EVENTS.name)).state.messages
    await request_ingest(service.bus, service.library)
    await _settled(service.bus)
    await sessions_done(service.pool, 2)
    assert (await service.bus.js.stream_info(EVENTS.name)).state.messages == before


async def test_outside_root_is_refused_and_dead_lettered(service: IngestService, tmp_path: Path) -> None:
    await request_ingest(service.bus, Path("/etc"))
    await request_ingest(service.bus, service.library / ".." / "data")
    await _settled(service.bus)
    async with service.pool.connection() as conn:
        cur = await conn.execute("SELECT reason FROM dead_letters ORDER BY stream_seq")
        reasons = [row[0] for row in await cur.fetchall()]
        cur = await conn.execute("SELECT count(*) FROM files")
        assert (await cur.fetchone()) == (0,)
    assert len(reasons) == 2 and all(r.startswith("OutsideLibrary") for r in reasons)
