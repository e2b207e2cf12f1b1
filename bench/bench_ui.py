"""What the web UI's pages cost on a 100k-photo library. Run by `make bench-ui`.

Embedded PostgreSQL (a fresh data dir), migrations applied, and a library made in SQL (bench/ui_library.py):
BENCH_PHOTOS photos (default 100,000) in ~1,000 folders over 15 years, ~60k faces, 300 people (one on
~20k photos), 2,000 clusters, eras and prototypes, 25 finished imports (one of every photo). The gateway
is built in-process as bootstrap.build_gateway builds it, with the real repositories and services over
that database, and its FastAPI app is asked through httpx's ASGITransport (no socket, no auth). Not part
of it:

- NATS: nothing here publishes on a read (the publishing ports refuse, so a write would show);
- the search service: a stand-in answers every search with the same 60 photos of the library, as hits
  with their path and date; the search service's own latency (CLIP, qdrant) is what ``make bench-embed``
  and the search tests measure. The search page still reads its people and camera filter lists here;
- caches as shipped: the camera list (counted again after 30 s) and session progress (a report kept 2 s,
  30 s once a finished session has settled), so warm reads mostly find them. The rows "(no cache)" ask a
  gateway whose progress cache is off, what a first view pays (/import reads the progress of each of the
  20 sessions it lists, one after the other); the camera count itself is printed on its own line.

The library is at rest (VACUUM ANALYZE, as autovacuum leaves it after an import).

Each page is requested 3 times to warm up, then BENCH_READS times (default 20): the median and 90th
percentile wall time of a GET, and the page's size. The naive alternative, in the same run: the big
person's page with every photo on it (~20k tiles: what an unpaged UI, or a single-page app that loads the
whole list, does), through the same route and template with a store that answers the whole list.

Last line: ``ui: photos=N slowest=PAGE p50=Xms naive_person=Yms ratio=Rx`` (ratio: naive / the paged
person page)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx
from google.protobuf.timestamp_pb2 import Timestamp
from psycopg_pool import AsyncConnectionPool
from ui_library import Library, fill, make_folders

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.db.cameras import CameraRepository
from imgsearch.common.db.duplicates import DuplicatesRepository
from imgsearch.common.db.images import ImageRepository
from imgsearch.common.db.people import PeopleRepository
from imgsearch.common.db.people_records import Page
from imgsearch.common.db.pool import open_pool
from imgsearch.common.db.sessions import SessionRepository
from imgsearch.common.errors import Unavailable
from imgsearch.common.infra.postgres import EmbeddedPostgres
from imgsearch.common.settings import DuplicatesSettings, IngestSettings
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.browse import DirectoryBrowser
from imgsearch.gateway.files import LibraryRoots
from imgsearch.gateway.library import LibraryCatalog
from imgsearch.gateway.people import PeopleService
from imgsearch.gateway.progress_cache import ProgressCache
from imgsearch.gateway.service import Gateway
from imgsearch.gateway.sessions import IngestSessions
from imgsearch.gateway.ui.people_pages import PHOTOS_PER_PAGE

WARMUP = 3
PHOTO_TILE = '<li><a href="/photos/'  # one per photo on a person's page


class StandInSearch:
    """Every search finds the same 60 photos (the real ones, with their path and date)."""

    def __init__(self, hits: Sequence[pb.SearchHit]) -> None:
        self.hits = list(hits)

    async def text(self, request: pb.TextSearchRequest) -> pb.SearchResponse:
        return pb.SearchResponse(hits=self.hits[: request.limit or len(self.hits)])

    async def similar(self, request: pb.SimilarSearchRequest) -> pb.SearchResponse:
        return pb.SearchResponse(hits=self.hits[: request.limit or len(self.hits)])

    async def info(self, timeout_s: float | None = None) -> pb.SearchInfo:
        raise Unavailable("the bench has no search service")


class UnpagedPeople(PeopleRepository):
    """The naive person page: every photo of the person, whatever page was asked for."""

    async def person_photos(self, person_id: int, limit: int, offset: int) -> Page[str]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT i.id FROM images i WHERE EXISTS (SELECT 1 FROM faces f WHERE f.image_id = i.id"
                " AND f.person_id = %s) ORDER BY i.taken_at DESC NULLS LAST, i.id", (person_id,))
            ids = [str(row[0]) for row in await cur.fetchall()]
        return Page(ids, len(ids))


async def refuse(*args: object) -> NoReturn:
    raise RuntimeError("the bench only reads: nothing may publish")


async def search_hits(images: ImageRepository, ids: Sequence[str]) -> list[pb.SearchHit]:
    records = await images.get_many(ids)
    hits = []
    for rank, image_id in enumerate(ids):
        record = records[image_id]
        hit = pb.SearchHit(image_id=image_id, score=0.9 - rank / 1000, path=record.paths[0],
                           width=record.width or 0, height=record.height or 0)
        if record.taken_at is not None:
            stamp = Timestamp()
            stamp.FromDatetime(record.taken_at)
            hit.taken_at.CopyFrom(stamp)
        hits.append(hit)
    return hits


async def build(pool: AsyncConnectionPool, library: Library, folder: Path, unpaged: bool = False,
                progress: ProgressCache | None = None) -> Gateway:
    """build_gateway's parts over this database (no bus, no reconciler, no system monitor); progress: the
    session progress cache (None: as shipped)."""
    images = ImageRepository(pool)
    roots = LibraryRoots([library.root])
    store = UnpagedPeople(pool) if unpaged else PeopleRepository(pool)
    catalog = LibraryCatalog(DirectoryBrowser(roots, IngestSettings().exclude), DuplicatesRepository(pool),
                             DuplicatesSettings().near_threshold)
    return Gateway(
        search=StandInSearch(await search_hits(images, library.sample_ids)), images=images,
        request_ingest=refuse, library=roots, thumbnails_dir=folder / "thumbs", probes={},
        people=PeopleService(store, refuse, folder / "crops"), cameras=CameraRepository(pool),
        catalog=catalog, sessions=IngestSessions(SessionRepository(pool), roots, refuse, progress),
    )


@dataclass(frozen=True)
class Timing:
    page: str
    p50_ms: float
    p90_ms: float
    kb: float


async def timed(client: httpx.AsyncClient, page: str, url: str, reads: int, tiles: int | None = None
                ) -> Timing:
    """tiles: how many photo tiles the page must show (a check that it is the page meant)."""
    times, size = [], 0
    for k in range(WARMUP + reads):
        start = time.perf_counter()
        response = await client.get(url)
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: {response.status_code} {response.text[:500]}")
        shown = response.text.count(PHOTO_TILE)
        if tiles is not None and shown != tiles:
            raise SystemExit(f"GET {url}: {shown} photos shown, {tiles} expected")
        size = len(response.content)
        if k >= WARMUP:
            times.append(elapsed * 1000)
    deciles = statistics.quantiles(times, n=10) if len(times) > 1 else times * 9
    return Timing(page, statistics.median(times), deciles[-1], size / 1024)


async def lookups(images: ImageRepository, ids: list[str], reads: int) -> tuple[float, float]:
    """A page of photos' records (ms): one get per photo, all at once (photo_views before get_many), and
    one get_many."""
    async def each() -> object:
        return await asyncio.gather(*(images.get(i) for i in ids))

    async def together() -> object:
        return await images.get_many(ids)

    medians = []
    for call in (each, together):
        times = []
        for _ in range(WARMUP + reads):
            start = time.perf_counter()
            await call()
            times.append((time.perf_counter() - start) * 1000)
        medians.append(statistics.median(times[WARMUP:]))
    return medians[0], medians[1]


async def elapsed_ms(call: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await call()
    return (time.perf_counter() - start) * 1000


def client(gateway: Gateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://ui")


async def run(url: str, folder: Path, photos: int, reads: int, naive_reads: int) -> None:
    pool = await open_pool(url, max_size=4)
    try:
        root = folder / "library"
        make_folders(root)
        start = time.perf_counter()
        library = await fill(pool, root, photos, folders=1000, people=300, clusters=2000)
        print(f"filled a library of {photos} photos in {time.perf_counter() - start:.1f}s", flush=True)
        big, photo = library.big_person, library.sample_ids[7]
        photos_of_big = (await PeopleRepository(pool).get_person(big)).photo_count
        deep = max(photos_of_big - 1000, 0)  # 19000 of 20000 at 100k photos
        pages = [
            ("search", "/?q=beach"),
            ("photo", f"/photos/{photo}"),
            ("people", "/people"),
            ("clusters", "/people/clusters"),
            ("person", f"/people/{big}"),
            ("person deep", f"/people/{big}?offset={deep}"),
            ("import", "/import"),
            ("import session", f"/import/sessions/{library.session_id}"),
        ]
        timings = []
        async with client(await build(pool, library, folder)) as ui:
            for page, path in pages:
                tiles = PHOTOS_PER_PAGE if page.startswith("person") else None
                timings.append(await timed(ui, page, path, reads, tiles))
                print(f"  {page}: {timings[-1].p50_ms:.1f} ms", flush=True)
        async with client(await build(pool, library, folder, progress=ProgressCache(0, 0))) as ui:
            for page, path in pages[-2:]:
                timings.append(await timed(ui, f"{page} (no cache)", path, reads))
                print(f"  {timings[-1].page}: {timings[-1].p50_ms:.1f} ms", flush=True)
        async with client(await build(pool, library, folder, unpaged=True)) as ui:
            naive = await timed(ui, "person unpaged", f"/people/{big}", naive_reads, photos_of_big)
        page_ids = (await PeopleRepository(pool).person_photos(big, PHOTOS_PER_PAGE, 0)).items
        each_ms, together_ms = await lookups(ImageRepository(pool), page_ids, reads)
        counting = CameraRepository(pool, ttl_s=0)
        camera_ms = statistics.median([await elapsed_ms(counting.counts) for _ in range(5)])
    finally:
        await pool.close()
    print(f"{'page':<26} {'p50 ms':>8} {'p90 ms':>8} {'KB':>8}")
    for t in [*timings, naive]:
        print(f"{t.page:<26} {t.p50_ms:8.1f} {t.p90_ms:8.1f} {t.kb:8.0f}")
    print(f"a person page's {PHOTOS_PER_PAGE} photo records: {PHOTOS_PER_PAGE} gets {each_ms:.1f} ms,"
          f" one get_many {together_ms:.1f} ms; the unpaged page shows {photos_of_big} photos")
    print(f"the camera list (search page), counted: {camera_ms:.1f} ms")
    slowest = max(timings, key=lambda t: t.p50_ms)
    slowest_name = slowest.page.replace(" (", "_").replace(")", "").replace(" ", "_")  # import_no_cache
    person = next(t for t in timings if t.page == "person")
    print(f"ui: photos={photos} slowest={slowest_name} p50={slowest.p50_ms:.1f}ms"
          f" naive_person={naive.p50_ms:.0f}ms ratio={naive.p50_ms / person.p50_ms:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--photos", type=int, default=int(os.environ.get("BENCH_PHOTOS", "100000")))
    parser.add_argument("--reads", type=int, default=int(os.environ.get("BENCH_READS", "20")))
    parser.add_argument("--naive-reads", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bu-", dir="/tmp"))
    server = EmbeddedPostgres(folder / "pg")
    try:
        url = server.start()
        asyncio.run(run(url, folder, args.photos, args.reads, args.naive_reads))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
