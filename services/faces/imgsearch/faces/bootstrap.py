"""Build the faces service: the library's recorded backend, the faces collection, three consumers."""

from __future__ import annotations

import asyncio
import logging
import os

from imgsearch.common.bus import configured_consumer
from imgsearch.common.db.face_records import BackendRecord, FaceStore
from imgsearch.common.db.image_paths import ImagePaths
from imgsearch.common.deps import Deps
from imgsearch.common.errors import ModelMismatch
from imgsearch.common.image_deletions import dead_letters
from imgsearch.common.imaging import configure_decoders
from imgsearch.common.runtime import run_together
from imgsearch.common.settings import Settings
from imgsearch.common.subjects import (
    CLUSTERS_UPDATED,
    COMMANDS,
    COMMANDS_DETECT_FACES,
    EVENTS,
    IMAGES_DELETED,
    IMAGES_INGESTED,
    PEOPLE_CHANGED,
)
from imgsearch.common.vectors.port import FACES_COLLECTION, CollectionSpec
from imgsearch.faces.backends.port import FaceBackend
from imgsearch.faces.calibration import calibration_for
from imgsearch.faces.dead_letters import FacesDeadLetters
from imgsearch.faces.deletions import DURABLE_DELETES, FaceDeletions
from imgsearch.faces.detection import DetectionConfig, FaceDetection
from imgsearch.faces.people_events import PeopleEvents

log = logging.getLogger(__name__)

DURABLE = "faces"
DURABLE_REINDEX = "faces-reindex"
DURABLE_PEOPLE = "faces-people"
DURABLE_CLUSTERS = "faces-clusters"


def backend_settings(settings: Settings, recorded: BackendRecord | None) -> Settings:
    """The backend to load: the one recorded for the library, unless none is recorded yet.

    An explicit IMGSEARCH_FACES__BACKEND that differs from the recorded one is refused: the two embedding
    spaces can't be mixed, so switching is the re-index command's job."""
    wanted = settings.faces.backend.strip().lower()
    if recorded is None:
        return settings
    if wanted not in ("auto", recorded.backend):
        raise ModelMismatch(
            f"this library's faces were built with {recorded.backend} ({recorded.model}), but "
            f"IMGSEARCH_FACES__BACKEND={wanted}: run `python -m imgsearch.faces reindex --backend {wanted}` "
            f"to rebuild them, or unset the variable"
        )
    faces = settings.faces.model_copy(update={"backend": recorded.backend})
    return settings.model_copy(update={"faces": faces})


async def open_backend(settings: Settings, store: FaceStore) -> FaceBackend:
    from imgsearch.faces.backends.select import choose_backend, load_backend

    recorded = await store.recorded_backend()
    effective = backend_settings(settings, recorded)
    backend = await asyncio.to_thread(load_backend, effective)
    info = backend.info
    if recorded is None:
        reason = choose_backend(effective.faces, effective.face_models_dir).reason
        await store.record_backend(BackendRecord(info.name, info.model, info.dim, reason))
        log.info("faces of this library will be built with %s (%s)", info.name, reason)
    elif (recorded.model, recorded.dim) != (info.model, info.dim):
        backend.close()
        raise ModelMismatch(
            f"this library's faces were built with {recorded.model} ({recorded.dim}-d), "
            f"the loaded backend is "
            f"{info.model} ({info.dim}-d): run `python -m imgsearch.faces reindex` to rebuild them"
        )
    return backend


def faces_collection_spec(backend: FaceBackend) -> CollectionSpec:
    return CollectionSpec(
        model=f"faces/{backend.info.name}", pretrained=backend.info.model, dim=backend.info.dim
    )


async def serve(
    settings: Settings, deps: Deps, stop: asyncio.Event, backend: FaceBackend | None = None
) -> None:
    from imgsearch.common.db.faces import FaceRepository

    configure_decoders(settings.ingest.max_image_pixels)
    store = FaceRepository(deps.pool)
    backend = backend if backend is not None else await open_backend(settings, store)
    info = backend.info
    await deps.vectors.ensure_collection(FACES_COLLECTION, faces_collection_spec(backend))
    cal = calibration_for(info.name, settings.faces.match_threshold)
    workers = settings.faces.workers or os.cpu_count() or 1
    detection = FaceDetection(
        backend,
        store,
        deps.vectors,
        deps.bus,
        cal,
        DetectionConfig(
            crops_dir=settings.face_crops_dir,
            crop_size=settings.faces.crop_size,
            max_pixels=settings.ingest.max_image_pixels,
            workers=workers,
        ),
    )
    people = PeopleEvents(
        store,
        deps.vectors,
        deps.bus,
        info.dim,
        cal,
        settings.faces.prototypes_per_era,
        on_people_changed=detection.invalidate_people,
    )
    deletions = FaceDeletions(
        store, deps.vectors, ImagePaths(deps.pool), settings.face_crops_dir,
        settings.faces.prototypes_per_era, on_people_changed=detection.invalidate_people,
    )
    letters = FacesDeadLetters(deps.images, store, deps.bus, EVENTS.name, DURABLE)
    reindex_letters = FacesDeadLetters(deps.images, store, deps.bus, COMMANDS.name, DURABLE_REINDEX)
    batch = max(settings.faces.batch_size, workers)
    log.info(
        "faces consumes %s with %s/%s (%d-d), %d workers",
        IMAGES_INGESTED,
        info.name,
        info.model,
        info.dim,
        workers,
    )
    policy = settings.consumer
    consumers = [
        deps.bus.consume(
            configured_consumer(policy, EVENTS.name, DURABLE, IMAGES_INGESTED, batch),
            detection.detect_batch,
            letters.detection,
            stop,
        ),
        deps.bus.consume(
            configured_consumer(policy, COMMANDS.name, DURABLE_REINDEX, COMMANDS_DETECT_FACES, batch),
            detection.detect_batch,
            reindex_letters.detection,
            stop,
        ),
        deps.bus.consume(
            configured_consumer(policy, EVENTS.name, DURABLE_PEOPLE, PEOPLE_CHANGED, 64),
            people.handle_batch,
            letters.people,
            stop,
        ),
        deps.bus.consume(
            configured_consumer(policy, EVENTS.name, DURABLE_CLUSTERS, CLUSTERS_UPDATED, 16),
            people.handle_batch,
            letters.people,
            stop,
        ),
        deps.bus.consume(
            configured_consumer(policy, EVENTS.name, DURABLE_DELETES, IMAGES_DELETED, 64),
            deletions.handle_batch,
            dead_letters(deps.images, EVENTS.name, DURABLE_DELETES),
            stop,
        ),
    ]
    try:
        await run_together(consumers, stop)
    finally:
        await asyncio.to_thread(detection.close)
        await asyncio.to_thread(backend.close)
