"""Re-index faces with another backend: the explicit switch (embedding spaces of backends can't be mixed).

Deletes every face, cluster and prototype (people, their names and birth dates stay), drops the faces
collection, records the new backend, and asks the faces service to detect every image again
(imgsearch.v1.commands.faces.detect). People get their faces back by labeling the new clusters."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.face_records import BackendRecord
from imgsearch.common.deps import Deps
from imgsearch.common.ids import message_id
from imgsearch.common.settings import Settings
from imgsearch.common.subjects import COMMANDS_DETECT_FACES
from imgsearch.common.vectors.port import FACES_COLLECTION
from imgsearch.events.v1 import events_pb2 as ev

log = logging.getLogger(__name__)
PAGE = 1000


async def images_to_detect(pool: AsyncConnectionPool) -> AsyncIterator[tuple[str, str]]:
    """(image id, one readable path) for every ingested image, in id order."""
    after = ""
    while True:
        async with pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT DISTINCT ON (image_id) image_id, path FROM files "
                    "WHERE image_id IS NOT NULL AND status = 'ingested' AND image_id > %s "
                    "ORDER BY image_id, path LIMIT %s",
                    (after, PAGE),
                )
            ).fetchall()
        for image_id, path in rows:
            yield str(image_id), str(path)
        if len(rows) < PAGE:
            return
        after = str(rows[-1][0])


async def reindex(settings: Settings, deps: Deps, backend: str) -> int:
    """Returns the number of images queued for detection."""
    from imgsearch.common.db.faces import FaceRepository
    from imgsearch.faces.backends.select import choose_backend, load_backend

    faces = settings.faces.model_copy(update={"backend": backend})
    effective = settings.model_copy(update={"faces": faces})
    choice = choose_backend(effective.faces, effective.face_models_dir)
    loaded = await asyncio.to_thread(load_backend, effective)  # fails here, before deleting anything
    info = loaded.info
    loaded.close()
    deleted = await FaceRepository(deps.pool).reset_faces(
        BackendRecord(info.name, info.model, info.dim, choice.reason)
    )
    await deps.vectors.drop_collection(FACES_COLLECTION)
    request = uuid.uuid4().hex
    queued = 0
    async for image_id, path in images_to_detect(deps.pool):
        command = ev.DetectFacesRequested(image_id=image_id, path=path, request_id=request)
        await deps.bus.publish(
            COMMANDS_DETECT_FACES, command, message_id(COMMANDS_DETECT_FACES, request, image_id)
        )
        queued += 1
    log.info(
        "re-index with %s (%s): %d faces deleted, %d images queued", info.name, info.model, deleted, queued
    )
    return queued
