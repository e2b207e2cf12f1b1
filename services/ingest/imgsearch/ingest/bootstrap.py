"""Build the ingest service from settings and deps: the command consumer (commands → sessions), the
folder walks (discovery), the claim loop (sessions → files read) and the library watcher."""

from __future__ import annotations

import asyncio
import logging
import socket
from concurrent.futures import ThreadPoolExecutor

from imgsearch.common.bus import ConsumerSpec, Delivery, configured_consumer
from imgsearch.common.db.session_work import SessionWork
from imgsearch.common.db.sessions import SessionRepository
from imgsearch.common.deps import Deps
from imgsearch.common.imaging import configure_decoders
from imgsearch.common.runtime import run_together
from imgsearch.common.settings import Settings
from imgsearch.common.subjects import COMMANDS, COMMANDS_INGEST, EVENTS
from imgsearch.ingest.admission import DownstreamGate
from imgsearch.ingest.command_handler import IngestCommandHandler
from imgsearch.ingest.discovery import Discovery
from imgsearch.ingest.handlers import IngestConfig, IngestHandler
from imgsearch.ingest.probe import ProbeLimits
from imgsearch.ingest.repository import IngestRepository
from imgsearch.ingest.scheduling import PriorityScheduler
from imgsearch.ingest.watch_bootstrap import watch_library
from imgsearch.ingest.worker import SessionWorker, WorkerConfig

log = logging.getLogger(__name__)
DURABLE = "ingest"


def ingest_config(settings: Settings) -> IngestConfig:
    ingest = settings.ingest
    return IngestConfig(
        roots=tuple(root.expanduser().resolve() for root in settings.library_roots),
        limits=ProbeLimits(ingest.max_image_pixels, ingest.max_file_bytes, ingest.thumbnail_size),
        thumbnails_dir=settings.thumbnails_dir, thumbnail_size=ingest.thumbnail_size,
        workers=max(1, ingest.workers), default_include=tuple(ingest.include),
        default_exclude=tuple(ingest.exclude),
    )


def worker_config(settings: Settings, config: IngestConfig) -> WorkerConfig:
    ingest = settings.ingest
    return WorkerConfig(
        roots=config.roots, in_flight=2 * config.workers, claim_batch=max(1, ingest.claim_batch),
        lease_s=max(1.0, ingest.lease_s), max_attempts=max(1, ingest.max_attempts),
    )


def worker_id(settings: Settings) -> str:
    return settings.ingest.worker_id or socket.gethostname()


def consumer_spec(settings: Settings) -> ConsumerSpec:
    return configured_consumer(settings.consumer, COMMANDS.name, DURABLE, COMMANDS_INGEST, batch_size=1)


async def serve(settings: Settings, deps: Deps, stop: asyncio.Event) -> None:
    """Run until stop is set; the files in flight are finished and settled, walks resume at next start."""
    configure_decoders(settings.ingest.max_image_pixels)
    config = ingest_config(settings)
    if not config.roots:
        log.warning("no library roots configured (IMGSEARCH_LIBRARY_ROOTS): every ingest is refused")
    executor = ThreadPoolExecutor(config.workers, thread_name_prefix="ingest")
    store = IngestRepository(deps.pool, settings.duplicates.near_threshold)
    handler = IngestHandler(config, store, deps.bus, executor, stop)
    work = SessionWork(deps.pool, worker_id(settings), max(1.0, settings.ingest.lease_s))
    worker = SessionWorker(
        handler, work, DownstreamGate(deps.bus.js, EVENTS.name, settings.ingest.max_downstream_backlog,
                                      stale_s=settings.ingest.downstream_stale_s),
        PriorityScheduler(tuple(settings.ingest.priority_weights)), worker_config(settings, config), stop,
    )
    discovery = Discovery(
        work, config.roots, config.default_include, config.default_exclude,
        settings.ingest.discovery_chunk, stop, on_files=worker.wake.set,
    )
    commands = IngestCommandHandler(
        SessionRepository(deps.pool), config.roots, discovery.start, worker.wake.set
    )

    async def dead_letter(delivery: Delivery, error: BaseException) -> None:
        reason = f"{type(error).__name__}: {error}"
        log.error("ingest command seq %d dead-lettered: %s", delivery.stream_seq, reason)
        await deps.images.record_dead_letter(
            COMMANDS.name, DURABLE, delivery.subject, delivery.stream_seq, delivery.deliveries, reason,
            delivery.data,
        )

    try:
        await run_together([
            discovery.keep_walking(),  # walks a stop, an outage or a lost command left undone
            deps.bus.consume(consumer_spec(settings), commands, dead_letter, stop),
            worker.run(),
            watch_library(settings, deps, stop),  # new, changed, moved, deleted files of the roots
        ], stop)
    finally:
        await discovery.close()
        # In a thread: in the one-process runner the other services drain on this loop meanwhile.
        await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
