"""Run every service in one process, sharing one connection set and the qdrant-edge shards.

Events still travel through JetStream: the in-process services are wired exactly as separate pods
would be, only the vector store and the CLIP model are shared objects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from imgsearch.common.deps import open_deps
from imgsearch.common.settings import Settings
from imgsearch.runner.infrastructure import Infrastructure

log = logging.getLogger(__name__)


async def run_stack(settings: Settings, stop: asyncio.Event, ingest: Sequence[Path] = (),
                    reindex_faces: str | None = None) -> None:
    # Imported here: the services pull in torch, dlib, FastAPI and gRPC.
    import imgsearch.embed.bootstrap as embed
    import imgsearch.faces.bootstrap as faces
    import imgsearch.faces.clustering.bootstrap as clustering
    import imgsearch.gateway.bootstrap as gateway
    import imgsearch.ingest.bootstrap as ingest_service
    import imgsearch.search.bootstrap as search
    from imgsearch.clip import load_clip
    from imgsearch.ingest.commands import request_ingest

    # The model first: without weights we fail in seconds, before starting anything.
    clip = await asyncio.to_thread(load_clip, settings.clip, frozenset({"image", "text"}))
    infra = await asyncio.to_thread(Infrastructure.start, settings)
    try:
        deps = await open_deps(settings, "runner", infra.nats_url, infra.postgres_url)
        try:
            if reindex_faces:
                from imgsearch.faces.reindex import reindex

                queued = await reindex(settings, deps, reindex_faces)
                log.info("faces re-index with %s: %d images queued", reindex_faces, queued)
            services = {
                "ingest": ingest_service.serve(settings, deps, stop),
                "embed": embed.serve(settings, deps, stop, clip=clip),
                "faces": faces.serve(settings, deps, stop),
                "clustering": clustering.serve(settings, deps, stop),
                "search": search.serve(settings, deps, stop, clip=clip),
                "gateway": gateway.serve(settings, deps, stop),
            }
            tasks = [asyncio.create_task(coro, name=name) for name, coro in services.items()]
            try:
                for path in ingest:
                    request_id = await request_ingest(deps.bus, path)
                    log.info("ingest of %s requested (%s)", path, request_id)
            except BaseException:
                stop.set()  # the services drain before the connections close
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            await _supervise(tasks, stop)
        finally:
            await deps.close()
    finally:
        await asyncio.to_thread(infra.stop)


async def _supervise(tasks: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    """Wait for stop; if a service dies first, stop the others and re-raise its error."""
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    failed = [t for t in done if t is not stopper and t.exception() is not None]
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    stopper.cancel()
    if failed:
        raise failed[0].exception()  # type: ignore[misc]
