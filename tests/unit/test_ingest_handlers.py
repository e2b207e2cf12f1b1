"""The ingest handler driven with fakes at its ports (store, publisher, message)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from google.protobuf.message import Message

from imgsearch.common.bus import Delivery
from imgsearch.common.errors import InvalidInput, NotFound, OutsideLibrary, Unavailable
from imgsearch.common.imaging import configure_decoders
from imgsearch.common.subjects import IMAGES_INGESTED
from imgsearch.events.v1.events_pb2 import ImageIngested, IngestRequested
from imgsearch.ingest.domain import folders_of
from imgsearch.ingest.handlers import IngestConfig, IngestHandler
from imgsearch.ingest.probe import ProbedImage, ProbeLimits
from imgsearch.ingest.repository import KnownPath
from imgsearch.ingest.scan import ScannedFile


@dataclass
class FakeStore:
    files: dict[str, tuple[int, int, str, str | None, str | None]] = field(default_factory=dict)
    images: dict[str, ProbedImage] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)

    async def unchanged(self, files: Sequence[ScannedFile]) -> set[Path]:
        return {f.path for f in files if self.files.get(str(f.path), (0, 0))[:2] == (f.size, f.mtime_ns)}

    async def upsert_image(self, image_id: str, size: int, image: ProbedImage, thumbnail: Path) -> None:
        assert thumbnail.name == f"{image_id}.jpg"
        self.images[image_id] = image

    async def paths_of(self, image_id: str) -> list[KnownPath]:
        return [KnownPath(p, self.roots[p]) for p, row in sorted(self.files.items()) if row[3] == image_id]

    async def record_ingested(self, file: ScannedFile, library_root: Path, image_id: str) -> None:
        self.files[str(file.path)] = (file.size, file.mtime_ns, "ingested", image_id, None)
        self.roots[str(file.path)] = str(library_root)

    async def record_failed(self, file: ScannedFile, library_root: Path, reason: str) -> None:
        self.files[str(file.path)] = (file.size, file.mtime_ns, "failed", None, reason)
        self.roots[str(file.path)] = str(library_root)


@dataclass
class FakePublisher:
    seen: set[str] = field(default_factory=set)
    events: list[ImageIngested] = field(default_factory=list)

    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool:
        assert subject == IMAGES_INGESTED and isinstance(message, ImageIngested)
        if msg_id in self.seen:
            return False
        self.seen.add(msg_id)
        self.events.append(message)
        return True


@dataclass
class FakeMsg:
    beats: int = 0

    async def in_progress(self) -> None:
        self.beats += 1


@pytest.fixture
def library(tmp_path: Path, shared_data: Path) -> Path:
    root = tmp_path / "lib"
    robustness = shared_data / "robustness"
    (root / "a").mkdir(parents=True)
    shutil.copy(robustness / "orientation" / "landscape_6.jpg", root / "a" / "photo.jpg")
    shutil.copy(robustness / "generated" / "not_an_image.jpg", root / "a" / "bad.jpg")
    shutil.copy(robustness / "generated" / "bomb_png_30000x30000_gray.png", root / "a" / "bomb.png")
    (root / "z" / "late").mkdir(parents=True)
    shutil.copy(robustness / "duplicates" / "pillow_flower.jpg", root / "z" / "late" / "flower.jpg")
    (root / ".hidden").mkdir()
    shutil.copy(robustness / "duplicates" / "pillow_flower.jpg", root / ".hidden" / "flower.jpg")
    return root


@pytest.fixture
def handler_parts(tmp_path: Path, library: Path) -> tuple[IngestHandler, FakeStore, FakePublisher]:
    configure_decoders(200_000_000)
    config = IngestConfig(
        roots=(library.resolve(),), limits=ProbeLimits(200_000_000, 1 << 30, 64),
        thumbnails_dir=tmp_path / "thumbs", thumbnail_size=64, workers=2, default_exclude=(".*",),
    )
    store, publisher = FakeStore(), FakePublisher()
    executor = ThreadPoolExecutor(2)
    handler = IngestHandler(config, store, publisher, executor, asyncio.Event())
    return handler, store, publisher


def _request(path: Path, **kwargs: Any) -> IngestRequested:
    return IngestRequested(path=str(path), request_id="r1", **kwargs)


async def test_good_bad_and_rescan(handler_parts: tuple[IngestHandler, FakeStore, FakePublisher],
                                   library: Path) -> None:
    handler, store, publisher = handler_parts
    report = await handler.ingest(_request(library))
    assert (report.scanned, report.ingested, report.failed, report.published) == (4, 2, 2, 2)
    bad = store.files[str(library / "a" / "bad.jpg")]
    assert bad[2:] == ("failed", None, "not a recognised image format")
    assert "decompression bomb" in str(store.files[str(library / "a" / "bomb.png")][4])
    photo = next(e for e in publisher.events if e.path.endswith("photo.jpg"))
    assert (photo.width, photo.height, photo.format) == (600, 450, "JPEG")
    assert list(photo.folders) == [str(library), str(library / "a")]
    assert photo.library_root == str(library)

    again = await handler.ingest(_request(library))
    assert (again.scanned, again.unchanged, again.published) == (4, 4, 0)


async def test_same_content_at_a_second_path_is_published_with_all_folders(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path
) -> None:
    handler, store, publisher = handler_parts
    await handler.ingest(_request(library))
    copy = library / "b" / "c" / "flower.jpg"
    copy.parent.mkdir(parents=True)
    shutil.copy(library / "z" / "late" / "flower.jpg", copy)
    report = await handler.ingest(_request(library, include=["*.jpg"]))
    assert (report.ingested, report.published) == (1, 1)
    event = publisher.events[-1]
    assert event.path == str(copy)
    assert list(event.folders) == [str(library / p) if p else str(library)
                                   for p in ("", "b", "b/c", "z", "z/late")]
    assert len(store.images) == 2


async def test_changed_file_is_read_again(handler_parts: tuple[IngestHandler, FakeStore, FakePublisher],
                                          library: Path, shared_data: Path) -> None:
    handler, _, publisher = handler_parts
    await handler.ingest(_request(library))
    shutil.copy(shared_data / "robustness" / "orientation" / "portrait_1.jpg", library / "a" / "bad.jpg")
    report = await handler.ingest(_request(library))
    assert (report.unchanged, report.ingested, report.published) == (3, 1, 1)
    assert publisher.events[-1].path.endswith("bad.jpg")


async def test_requests_outside_roots_or_odd_are_refused(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path, tmp_path: Path
) -> None:
    handler = handler_parts[0]
    with pytest.raises(OutsideLibrary):
        await handler.ingest(_request(tmp_path))
    with pytest.raises(OutsideLibrary):
        await handler.ingest(_request(library / ".." / "nowhere" / ".."))
    (library / "escape").symlink_to(tmp_path)
    with pytest.raises(OutsideLibrary):
        await handler.ingest(_request(library / "escape"))
    with pytest.raises(NotFound):
        await handler.ingest(_request(library / "missing"))
    with pytest.raises(InvalidInput):
        await handler.ingest(IngestRequested(path="relative/path"))


async def test_stop_finishes_current_files_and_asks_for_redelivery(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path
) -> None:
    handler, store, _ = handler_parts
    handler.stop.set()
    with pytest.raises(Unavailable, match="interrupted"):
        await handler.ingest(_request(library))
    assert store.files == {}


async def test_batch_outcomes_and_keepalive(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path, tmp_path: Path
) -> None:
    handler, _, _ = handler_parts
    handler.config = IngestConfig(**{**handler.config.__dict__, "keepalive_s": 0.001})
    msg = FakeMsg()

    def delivery(data: bytes) -> Delivery:
        return Delivery("imgsearch.v1.commands.ingest", data, 1, 1, cast(Any, msg))

    outcomes = await handler([
        delivery(_request(library).SerializeToString()),
        delivery(_request(tmp_path).SerializeToString()),
        delivery(b"\xff\xff\xff"),
    ])
    assert outcomes[0] is None
    assert isinstance(outcomes[1], OutsideLibrary) and isinstance(outcomes[2], InvalidInput)
    assert msg.beats >= 1


def test_folders_of_every_path() -> None:
    assert folders_of([("/lib/a/b/x.jpg", "/lib"), ("/lib/c/y.jpg", "/lib"), ("/other/z.jpg", "/other")]) == [
        "/lib", "/lib/a", "/lib/a/b", "/lib/c", "/other",
    ]
    assert folders_of([("/elsewhere/x.jpg", "/lib")]) == []
