"""A face detection whose rows were committed (faces_status done) but whose vectors were not written —
the worker was SIGKILLed in between, or the vector write failed — must store the vectors when the
message comes back, not skip the image as done (found by `make test-faults`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from nats.aio.msg import Msg

from imgsearch.common.bus import Delivery
from imgsearch.common.db.face_records import BackendRecord
from imgsearch.common.db.faces import FaceRepository
from imgsearch.common.db.pool import open_pool
from imgsearch.common.errors import Unavailable
from imgsearch.common.ids import content_hash
from imgsearch.common.subjects import IMAGES_INGESTED
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.common.vectors.port import FACES_COLLECTION, VectorPoint, VectorStore
from imgsearch.events.v1 import events_pb2 as ev
from imgsearch.faces.backends.dlib_backend import DlibBackend
from imgsearch.faces.backends.port import BackendConfig
from imgsearch.faces.bootstrap import faces_collection_spec
from imgsearch.faces.calibration import DLIB
from imgsearch.faces.detection import DetectionConfig, FaceDetection

pytestmark = pytest.mark.integration


class VectorsDownOnce:
    """The vector store whose first upsert fails (the crash window between PostgreSQL and Qdrant)."""

    def __init__(self, store: VectorStore) -> None:
        self._store = store
        self.failed = False

    async def upsert(self, name: str, points: Sequence[VectorPoint]) -> None:
        if not self.failed:
            self.failed = True
            raise Unavailable("vector store down")
        await self._store.upsert(name, points)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class Published:
    async def publish(self, subject: str, message: object, msg_id: str) -> bool:
        return True


def delivery(event: ev.ImageIngested, deliveries: int) -> Delivery:
    return Delivery(IMAGES_INGESTED, event.SerializeToString(), deliveries, 1, cast(Msg, None))


async def test_a_redelivery_stores_the_vectors_of_faces_already_committed(
    pg_url: str, tmp_path: Path, shared_data: Path
) -> None:
    photo = shared_data / "faces" / "lfw" / "Angelina_Jolie" / "Angelina_Jolie_0001.jpg"
    image_id = content_hash(photo)
    pool = await open_pool(pg_url)
    edge = QdrantEdgeStore(tmp_path / "vectors", background_optimize=False)
    backend = DlibBackend(BackendConfig(models_dir=tmp_path / "no-insightface"))
    try:
        async with pool.connection() as conn:
            await conn.execute("INSERT INTO images (id, size_bytes) VALUES (%s, %s)",
                               [image_id, photo.stat().st_size])
        store = FaceRepository(pool)
        info = backend.info
        await store.record_backend(BackendRecord(info.name, info.model, info.dim, "test"))
        await edge.ensure_collection(FACES_COLLECTION, faces_collection_spec(backend))
        vectors = VectorsDownOnce(edge)
        detection = FaceDetection(backend, store, cast(VectorStore, vectors), Published(), DLIB,
                                  DetectionConfig(tmp_path / "crops", 160, 10**8, 1))
        event = ev.ImageIngested(image_id=image_id, path=str(photo))

        first = await detection.detect_batch([delivery(event, 1)])
        assert isinstance(first[0], Unavailable)  # nak: the message comes back
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM faces WHERE image_id = %s", [image_id])
                         ).fetchone()
        faces = int(row[0]) if row else 0
        assert faces >= 1 and await store.faces_done(image_id)
        assert await edge.count(FACES_COLLECTION) == 0  # committed in PostgreSQL, missing in Qdrant

        assert await detection.detect_batch([delivery(event, 2)]) == [None]
        assert await edge.count(FACES_COLLECTION) == faces
        async with pool.connection() as conn:
            again = await (await conn.execute("SELECT count(*) FROM faces WHERE image_id = %s", [image_id])
                           ).fetchone()
        assert again is not None and again[0] == faces  # nothing doubled

        # A first delivery of an image already done (known content at a new path) is still skipped.
        assert await detection.detect_batch([delivery(event, 1)]) == [None]
    finally:
        backend.close()
        await edge.close()
        await pool.close()
