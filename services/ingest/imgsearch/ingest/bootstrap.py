"""Build the ingest service from settings and deps, and the one way other code asks for an ingest."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from imgsearch.common.bus import ConsumerSpec, Delivery, configured_consumer
from imgsearch.common.deps import Deps
from imgsearch.common.imaging import configure_decoders
from imgsearch.common.settings import Settings
from imgsearch.common.subjects import COMMANDS, COMMANDS_INGEST
from imgsearch.ingest.handlers import IngestConfig, IngestHandler
from imgsearch.ingest.probe import ProbeLimits
from imgsearch.ingest.repository import IngestRepository

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
        keepalive_s=max(1.0, min(30.0, settings.consumer.ack_wait_s / 4)),
    )


def consumer_spec(settings: Settings) -> ConsumerSpec:
    return configured_consumer(settings.consumer, COMMANDS.name, DURABLE, COMMANDS_INGEST, batch_size=1)


async def serve(settings: Settings, deps: Deps, stop: asyncio.Event) -> None:
    """Consume ingest commands until stop is set; the scan in progress stops after its current files."""
    configure_decoders(settings.ingest.max_image_pixels)
    config = ingest_config(settings)
    if not config.roots:
        log.warning("no library roots configured (IMGSEARCH_LIBRARY_ROOTS): every ingest is refused")
    executor = ThreadPoolExecutor(config.workers, thread_name_prefix="ingest")
    handler = IngestHandler(config, IngestRepository(deps.pool), deps.bus, executor, stop)

    async def dead_letter(delivery: Delivery, error: BaseException) -> None:
        reason = f"{type(error).__name__}: {error}"
        log.error("ingest command seq %d dead-lettered: %s", delivery.stream_seq, reason)
        await deps.images.record_dead_letter(
            COMMANDS.name, DURABLE, delivery.subject, delivery.stream_seq, delivery.deliveries, reason,
            delivery.data,
        )

    try:
        await deps.bus.consume(consumer_spec(settings), handler, dead_letter, stop)
    finally:
        # In a thread: in the one-process runner the other services drain on this loop meanwhile.
        await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
