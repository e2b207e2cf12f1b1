"""Build the embed handlers from their adapters and consume images.ingested until stopped."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from imgsearch.common.bus import ConsumerSpec, configured_consumer
from imgsearch.common.db.image_paths import ImagePaths
from imgsearch.common.deps import Deps
from imgsearch.common.image_deletions import dead_letters
from imgsearch.common.imaging import configure_decoders
from imgsearch.common.runtime import run_together
from imgsearch.common.settings import Settings
from imgsearch.common.subjects import EVENTS, IMAGES_DELETED, IMAGES_INGESTED
from imgsearch.common.vectors.port import IMAGES_COLLECTION
from imgsearch.embed.deletions import DURABLE_DELETES, EmbedDeletions
from imgsearch.embed.handlers import DURABLE, EmbedHandlers
from imgsearch.embed.pipeline import EmbedPipeline

if TYPE_CHECKING:
    from imgsearch.embed.ports import ImageEncoder

log = logging.getLogger(__name__)


def load_image_encoder(settings: Settings) -> ImageEncoder:
    from imgsearch.clip import load_clip  # torch is imported here, not when this module is

    return load_clip(settings.clip, towers=frozenset({"image"}))


def consumer_spec(settings: Settings) -> ConsumerSpec:
    return configured_consumer(
        settings.consumer, EVENTS.name, DURABLE, IMAGES_INGESTED, batch_size=settings.clip.batch_size,
        concurrency=2,  # decode of one batch overlaps inference
    )


async def serve(
    settings: Settings, deps: Deps, stop: asyncio.Event, clip: ImageEncoder | None = None
) -> None:
    """Embed images until stop is set; returns once the batches in flight are settled."""
    configure_decoders(settings.ingest.max_image_pixels)  # same limits and formats (HEIC) as ingest
    encoder = clip if clip is not None else await asyncio.to_thread(load_image_encoder, settings)
    info = encoder.info
    if info.random_weights:
        log.warning("embed runs CLIP %s with RANDOM weights: its vectors are meaningless", info.model)
    await deps.vectors.ensure_collection(IMAGES_COLLECTION, encoder.collection_spec())
    pipeline = EmbedPipeline(encoder, max_pixels=settings.ingest.max_image_pixels)
    handlers = EmbedHandlers(pipeline, deps.vectors, deps.images, deps.bus)
    log.info("embed consumes %s (durable %s) with %s/%s, batch %d", IMAGES_INGESTED, DURABLE, info.model,
             info.pretrained, settings.clip.batch_size)
    try:
        await run_together([
            deps.bus.consume(consumer_spec(settings), handlers.embed_batch, handlers.dead_letter, stop),
            deps.bus.consume(
                configured_consumer(settings.consumer, EVENTS.name, DURABLE_DELETES, IMAGES_DELETED, 64),
                EmbedDeletions(deps.vectors, ImagePaths(deps.pool)).handle_batch,
                dead_letters(deps.images, EVENTS.name, DURABLE_DELETES), stop,
            ),
        ], stop)
    finally:
        await asyncio.to_thread(pipeline.close)
