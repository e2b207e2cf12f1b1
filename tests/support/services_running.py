"""Services in-process on one Deps over the real nats-server, PostgreSQL and qdrant-edge, for integration
tests of a whole library: started together, stopped together, and a service's crash raised after the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from imgsearch.common.bus import Bus
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.settings import ConsumerSettings, Settings, WatchSettings
from imgsearch.common.vectors.edge import QdrantEdgeStore
from tests.support.tiny_clip import TinyClip

Serve = Callable[[Settings, Deps, asyncio.Event], Coroutine[Any, Any, None]]


def watched_library_settings(data_dir: Path, root: Path, tiny_clip: TinyClip, **sections: Any) -> Settings:
    """One library root the watcher follows through file system events only (the rescan is an hour away),
    embedded with the tiny CLIP; ``sections`` add to or replace these."""
    base: dict[str, Any] = dict(
        clip=tiny_clip.settings(batch_size=4),
        consumer=ConsumerSettings(max_deliver=2, ack_wait_s=30, backoff_s=[0.2]),
        watch=WatchSettings(rescan_interval_s=3600, debounce_s=0.3),
    )
    return Settings(data_dir=data_dir, library_roots=[root], **(base | sections))


@asynccontextmanager
async def services_running(settings: Settings, nats_url: str, pg_url: str, name: str,
                           services: Sequence[Serve]) -> AsyncIterator[Deps]:
    bus = await Bus.connect(nats_url, name=name)
    await bus.ensure_streams()
    deps = Deps(bus=bus, pool=await open_pool(pg_url),
                vectors=QdrantEdgeStore(settings.vectors_dir, background_optimize=False))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(serve(settings, deps, stop)) for serve in services]
    try:
        yield deps
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await deps.close()
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def query_rows(deps: Deps, sql: str, *args: object) -> list[tuple[object, ...]]:
    async with deps.pool.connection() as conn:
        return list(await (await conn.execute(sql, args or None)).fetchall())
