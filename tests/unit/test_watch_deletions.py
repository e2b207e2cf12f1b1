"""The images.deleted consumers of embed and faces, with fakes at their ports: they act on what
PostgreSQL says when they run (order-safe, idempotent), not on what the event claims."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from imgsearch.common.bus import Delivery
from imgsearch.common.errors import InvalidInput
from imgsearch.common.ids import point_id
from imgsearch.common.subjects import IMAGES_DELETED
from imgsearch.common.vectors.port import FACES_COLLECTION, IMAGES_COLLECTION
from imgsearch.embed.deletions import EmbedDeletions
from imgsearch.events.v1.events_pb2 import ImageDeleted
from imgsearch.faces.crops import crop_relpath
from imgsearch.faces.deletions import FaceDeletions


@dataclass
class FakeVectors:
    deleted: list[tuple[str, list[str]]] = field(default_factory=list)
    payloads: list[tuple[str, dict[str, dict[str, Any]]]] = field(default_factory=list)

    async def delete(self, name: str, ids: Sequence[str]) -> None:
        self.deleted.append((name, list(ids)))

    async def set_payload(self, name: str, payloads: Mapping[str, dict[str, Any]]) -> None:
        self.payloads.append((name, dict(payloads)))


@dataclass
class FakePaths:
    images: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    async def of(self, image_id: str) -> list[tuple[str, str]] | None:
        return self.images.get(image_id)


@dataclass
class FakeFaceStore:
    refreshed: list[tuple[list[int], int]] = field(default_factory=list)

    async def refresh_prototypes(self, person_ids: Sequence[int], per_era: int) -> None:
        self.refreshed.append((list(person_ids), per_era))


def delivery(event: ImageDeleted | bytes) -> Delivery:
    data = event if isinstance(event, bytes) else event.SerializeToString()
    return Delivery(IMAGES_DELETED, data, 1, 1, msg=cast(Any, None))


async def test_embed_drops_the_point_of_an_image_that_is_gone() -> None:
    vectors = FakeVectors()
    handler = EmbedDeletions(cast(Any, vectors), FakePaths())
    event = ImageDeleted(image_id="abc", path="/lib/a.jpg", reason="deleted", image_removed=True)
    assert await handler.handle_batch([delivery(event), delivery(event)]) == [None, None]  # idempotent
    assert vectors.deleted == [(IMAGES_COLLECTION, [point_id("abc")])] * 2


async def test_embed_recomputes_folders_of_an_image_that_keeps_other_paths() -> None:
    vectors = FakeVectors()
    paths = FakePaths({"abc": [("/lib/2024/trip/a.jpg", "/lib")]})
    handler = EmbedDeletions(cast(Any, vectors), paths)
    event = ImageDeleted(image_id="abc", path="/lib/2023/a.jpg", reason="moved",
                         moved_to="/lib/2024/trip/a.jpg")
    assert await handler.handle_batch([delivery(event)]) == [None]
    assert vectors.deleted == []
    assert vectors.payloads == [(IMAGES_COLLECTION, {point_id("abc"): {
        "folders": ["/", "/lib", "/lib/2024", "/lib/2024/trip"]}})]


async def test_embed_keeps_an_image_ingested_again_before_the_delete_arrived() -> None:
    vectors = FakeVectors()
    handler = EmbedDeletions(cast(Any, vectors), FakePaths({"abc": [("/lib/a.jpg", "/lib")]}))
    event = ImageDeleted(image_id="abc", path="/lib/a.jpg", reason="deleted", image_removed=True)
    assert await handler.handle_batch([delivery(event)]) == [None]
    assert vectors.deleted == []


async def test_a_malformed_event_is_poison() -> None:
    handler = EmbedDeletions(cast(Any, FakeVectors()), FakePaths())
    [outcome] = await handler.handle_batch([delivery(b"\xff\xff")])
    assert isinstance(outcome, InvalidInput)


FacesWorld = tuple[FaceDeletions, FakeVectors, FakeFaceStore, list[int]]


def faces_world(tmp_path: Path, paths: FakePaths) -> FacesWorld:
    vectors, store, changes = FakeVectors(), FakeFaceStore(), list[int]()
    handler = FaceDeletions(cast(Any, store), cast(Any, vectors), paths, tmp_path, per_era=10,
                            on_people_changed=lambda: changes.append(1))
    return handler, vectors, store, changes


async def test_faces_of_a_removed_image_lose_points_crops_and_prototypes(tmp_path: Path) -> None:
    handler, vectors, store, changes = faces_world(tmp_path, FakePaths())
    face_ids = ["0f0e0d0c-0000-0000-0000-000000000001", "0f0e0d0c-0000-0000-0000-000000000002"]
    for face_id in face_ids:
        crop = tmp_path / crop_relpath(face_id)
        crop.parent.mkdir(parents=True, exist_ok=True)
        crop.write_bytes(b"jpeg")
    event = ImageDeleted(image_id="abc", path="/lib/a.jpg", reason="deleted", image_removed=True,
                         face_ids=face_ids, person_ids=[3, 3, 9])
    assert await handler.handle_batch([delivery(event)]) == [None]
    assert vectors.deleted == [(FACES_COLLECTION, face_ids)]
    assert not any((tmp_path / crop_relpath(face_id)).exists() for face_id in face_ids)
    assert store.refreshed == [([3, 9], 10)] and changes == [1]


async def test_faces_stay_when_only_a_path_went_or_the_image_is_back(tmp_path: Path) -> None:
    handler, vectors, store, _ = faces_world(tmp_path, FakePaths({"abc": [("/lib/b.jpg", "/lib")]}))
    kept = ImageDeleted(image_id="xyz", path="/lib/x.jpg", reason="deleted", image_removed=False,
                        face_ids=["f"])
    back = ImageDeleted(image_id="abc", path="/lib/a.jpg", reason="deleted", image_removed=True,
                        face_ids=["f"], person_ids=[1])
    assert await handler.handle_batch([delivery(kept), delivery(back)]) == [None, None]
    assert vectors.deleted == [] and store.refreshed == []
