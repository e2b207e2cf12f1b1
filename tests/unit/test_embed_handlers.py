"""The embed handlers with fakes at the ports: outcomes per message, stored payloads, events, poison path."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import torch
from google.protobuf.message import Message
from PIL import Image

from imgsearch.clip.model import ModelInfo
from imgsearch.common.bus import Delivery
from imgsearch.common.errors import BadImage, InvalidInput, Unavailable
from imgsearch.common.ids import message_id, point_id
from imgsearch.common.subjects import IMAGES_EMBEDDED, IMAGES_INGESTED, failed_subject
from imgsearch.common.vectors.port import IMAGES_COLLECTION, CollectionSpec, VectorPoint
from imgsearch.embed.handlers import EmbedHandlers
from imgsearch.embed.pipeline import EmbedPipeline
from imgsearch.events.v1 import events_pb2 as ev
from tests.support.tiny_clip import render_shape


class FakeEncoder:
    """Vector = mean colour of the image: enough to tell a red picture from a blue one."""

    info = ModelInfo(model="fake-clip", pretrained="fake-weights", dim=3, random_weights=False, device="cpu",
                     precision="fp32", image_size=32, towers=frozenset({"image"}))

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return torch.from_numpy(np.asarray(image.resize((32, 32)), dtype=np.float32)).permute(2, 0, 1)

    def encode_images(self, pixels: torch.Tensor) -> np.ndarray[Any, np.dtype[np.float32]]:
        means = pixels.mean(dim=(2, 3))
        return torch.nn.functional.normalize(means, dim=-1).numpy().astype(np.float32)

    def collection_spec(self) -> CollectionSpec:
        return CollectionSpec(self.info.model, self.info.pretrained, self.info.dim)


class FakeVectors:
    def __init__(self) -> None:
        self.points: dict[str, VectorPoint] = {}
        self.down = False

    async def retrieve(self, name: str, ids: Sequence[str]) -> list[VectorPoint]:
        return [self.points[i] for i in ids if i in self.points]

    async def upsert(self, name: str, points: Sequence[VectorPoint]) -> None:
        if self.down:
            raise ConnectionError("qdrant is down")
        assert name == IMAGES_COLLECTION
        self.points.update({point.id: point for point in points})


class FakeStatus:
    def __init__(self) -> None:
        self.embedded: list[str] = []
        self.failed: dict[str, str] = {}
        self.dead_letters: list[tuple[int, str]] = []

    async def mark_embedded(self, ids: Sequence[str], model: str) -> None:
        self.embedded.extend(ids)

    async def mark_failed(self, image_id: str, stage: str, reason: str) -> None:
        self.failed[image_id] = reason

    async def record_dead_letter(self, stream: str, consumer: str, subject: str, stream_seq: int,
                                 deliveries: int, reason: str, payload: bytes) -> None:
        self.dead_letters.append((stream_seq, reason))


class FakePublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Message | bytes, str]] = []

    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool:
        self.sent.append((subject, message, msg_id))
        return True


@dataclass
class World:
    handlers: EmbedHandlers
    vectors: FakeVectors
    status: FakeStatus
    publisher: FakePublisher


@pytest.fixture
def world() -> Iterator[World]:
    pipeline = EmbedPipeline(FakeEncoder())
    vectors, status, publisher = FakeVectors(), FakeStatus(), FakePublisher()
    yield World(EmbedHandlers(pipeline, cast(Any, vectors), status, publisher), vectors, status, publisher)
    pipeline.close()


def delivery(data: bytes, seq: int, deliveries: int = 1) -> Delivery:
    return Delivery(IMAGES_INGESTED, data, deliveries, seq, msg=cast(Any, None))


def ingested(image_id: str, path: Path, taken_at: datetime | None = None) -> bytes:
    event = ev.ImageIngested(image_id=image_id, path=str(path), folders=[str(path.parent)])
    if taken_at is not None:
        event.taken_at.FromDatetime(taken_at)
    return event.SerializeToString()


def shape_file(folder: Path, color: str) -> Path:
    path = folder / f"{color}.jpg"
    render_shape(color, "circle", seed=1).save(path, quality=90)
    return path


async def test_good_bad_and_unparseable_messages_settle_separately(world: World, tmp_path: Path) -> None:
    red, blue = shape_file(tmp_path, "red"), shape_file(tmp_path, "blue")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(red.read_bytes()[:300])
    taken = datetime(2024, 5, 1, 12, tzinfo=UTC)
    batch = [delivery(ingested("red", red, taken), 1), delivery(ingested("bad", corrupt), 2),
             delivery(b"\xff\xfe not protobuf", 3), delivery(ingested("blue", blue), 4)]

    outcomes = await world.handlers.embed_batch(batch)

    assert outcomes[0] is None and outcomes[3] is None
    assert isinstance(outcomes[1], BadImage)
    assert isinstance(outcomes[2], InvalidInput)
    stored = world.vectors.points[point_id("red")]
    assert stored.payload == {"image_id": "red", "folders": [str(tmp_path)], "taken_at": taken.timestamp()}
    assert "taken_at" not in world.vectors.points[point_id("blue")].payload
    assert np.argmax(stored.vector) == 0 and np.argmax(world.vectors.points[point_id("blue")].vector) == 2
    assert world.status.embedded == ["red", "blue"]
    embedded = [(subject, msg_id) for subject, _, msg_id in world.publisher.sent]
    assert embedded == [(IMAGES_EMBEDDED, message_id(IMAGES_EMBEDDED, i, "fake-clip", "fake-weights"))
                        for i in ("red", "blue")]


async def test_store_down_naks_the_good_ones_and_still_terms_the_bad(world: World, tmp_path: Path) -> None:
    world.vectors.down = True
    corrupt = tmp_path / "empty.jpg"
    corrupt.write_bytes(b"")
    outcomes = await world.handlers.embed_batch(
        [delivery(ingested("red", shape_file(tmp_path, "red")), 1), delivery(ingested("bad", corrupt), 2)]
    )
    assert isinstance(outcomes[0], Unavailable)
    assert isinstance(outcomes[1], BadImage)
    assert world.status.embedded == [] and world.publisher.sent == []


async def test_an_image_at_two_paths_keeps_both_folders(world: World, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = shape_file(tmp_path / "a", "red"), shape_file(tmp_path / "b", "red")
    await world.handlers.embed_batch([delivery(ingested("red", first), 1)])
    await world.handlers.embed_batch([delivery(ingested("red", second), 2)])
    folders = world.vectors.points[point_id("red")].payload["folders"]
    assert folders == [str(tmp_path / "a"), str(tmp_path / "b")]


async def test_dead_letter_records_marks_failed_and_publishes(world: World, tmp_path: Path) -> None:
    data = ingested("bad", tmp_path / "corrupt.jpg")
    error = BadImage("cannot decode image: truncated")
    await world.handlers.dead_letter(delivery(data, 7, deliveries=1), error)
    assert world.status.dead_letters == [(7, "BadImage: cannot decode image: truncated")]
    assert world.status.failed == {"bad": "BadImage: cannot decode image: truncated"}
    [(subject, message, _)] = world.publisher.sent
    assert subject == failed_subject("embed")
    assert isinstance(message, ev.ImageFailed)
    assert (message.image_id, message.stage, message.deliveries) == ("bad", "embed", 1)


async def test_dead_letter_of_unparseable_message_has_no_image(world: World) -> None:
    await world.handlers.dead_letter(delivery(b"\xff junk", 9, deliveries=1), InvalidInput("not an event"))
    assert world.status.dead_letters and world.status.failed == {}
    [(_, message, _)] = world.publisher.sent
    assert isinstance(message, ev.ImageFailed) and message.image_id == ""


async def test_one_image_at_two_paths_in_one_batch_keeps_both_folders(world: World, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = shape_file(tmp_path / "a", "red"), shape_file(tmp_path / "b", "red")
    outcomes = await world.handlers.embed_batch(
        [delivery(ingested("img", first), 1), delivery(ingested("img", second), 2)]
    )
    assert outcomes == [None, None]
    folders = world.vectors.points[point_id("img")].payload["folders"]
    assert folders == sorted([str(tmp_path / "a"), str(tmp_path / "b")])


async def test_concurrent_batches_for_one_image_do_not_lose_folders(world: World, tmp_path: Path) -> None:
    """Two batches in flight (the consumer runs two) carry the same image at different paths."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = shape_file(tmp_path / "a", "blue"), shape_file(tmp_path / "b", "blue")
    slow_retrieve = world.vectors.retrieve

    async def retrieve(name: str, ids: Sequence[str]) -> list[VectorPoint]:
        found = await slow_retrieve(name, ids)
        await asyncio.sleep(0.05)  # let the other batch read the same (old) payload meanwhile
        return found

    world.vectors.retrieve = retrieve  # type: ignore[method-assign]
    await asyncio.gather(
        world.handlers.embed_batch([delivery(ingested("img", first), 1)]),
        world.handlers.embed_batch([delivery(ingested("img", second), 2)]),
    )
    folders = world.vectors.points[point_id("img")].payload["folders"]
    assert folders == sorted([str(tmp_path / "a"), str(tmp_path / "b")])


async def test_transient_read_error_is_retried_not_condemned(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shape_file(tmp_path, "green")

    def too_many_open_files(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(Image, "open", too_many_open_files)
    outcomes = await world.handlers.embed_batch([delivery(ingested("img", path), 1)])
    assert isinstance(outcomes[0], Unavailable)
    assert world.status.failed == {} and world.vectors.points == {}
