"""The ingest handler driven with fakes at its ports (store, publisher, message)."""

from __future__ import annotations

import asyncio
import errno
import shutil
import threading
from collections.abc import Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from google.protobuf.message import Message

from imgsearch.common.bus import Delivery
from imgsearch.common.errors import BadImage, InvalidInput, NotFound, OutsideLibrary, Unavailable
from imgsearch.common.imaging import configure_decoders
from imgsearch.common.subjects import IMAGES_INGESTED, failed_subject
from imgsearch.events.v1.events_pb2 import ImageFailed, ImageIngested, IngestRequested
from imgsearch.ingest import domain, handlers
from imgsearch.ingest.domain import folders_of
from imgsearch.ingest.handlers import IngestConfig, IngestHandler
from imgsearch.ingest.probe import ImageInfo, ProbeLimits
from imgsearch.ingest.repository import KnownPath
from imgsearch.ingest.scan import ScannedFile


@dataclass
class FakeStore:
    files: dict[str, tuple[int, int, str, str | None, str | None]] = field(default_factory=dict)
    images: dict[str, ImageInfo] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)

    async def unchanged(self, files: Sequence[ScannedFile]) -> set[Path]:
        return {f.path for f in files if self.files.get(str(f.path), (0, 0))[:2] == (f.size, f.mtime_ns)}

    async def upsert_image(self, image_id: str, size: int, image: ImageInfo, thumbnail: Path) -> None:
        assert thumbnail.name == f"{image_id}.jpg"
        assert type(image) is ImageInfo  # no pixels are carried past the thumbnail
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
    failures: list[ImageFailed] = field(default_factory=list)

    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool:
        if msg_id in self.seen:
            return False
        self.seen.add(msg_id)
        if subject == failed_subject("ingest"):
            assert isinstance(message, ImageFailed)
            self.failures.append(message)
        else:
            assert subject == IMAGES_INGESTED and isinstance(message, ImageIngested)
            self.events.append(message)
        return True


@dataclass
class StoppingPublisher(FakePublisher):
    """Sets stop while publishing: the shutdown arrives after the last file was listed."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool:
        self.stop.set()
        return await super().publish(subject, message, msg_id)


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
    assert list(photo.folders) == [*_ancestors(library), str(library), str(library / "a")]
    assert photo.library_root == str(library)
    # integrators hear about the bad files too: one images.failed.ingest event each, with the reason
    failures = {Path(f.path).name: f for f in publisher.failures}
    assert set(failures) == {"bad.jpg", "bomb.png"}
    bad_event = failures["bad.jpg"]
    assert (bad_event.stage, bad_event.reason) == ("ingest", "not a recognised image format")

    again = await handler.ingest(_request(library))
    assert (again.scanned, again.unchanged, again.published) == (4, 4, 0)
    assert len(publisher.failures) == 2  # a rescan says nothing new about unchanged bad files


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
    assert list(event.folders) == [*_ancestors(library)] + [str(library / p) if p else str(library)
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


async def test_stop_after_the_scan_finished_still_acks(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path
) -> None:
    handler, store, _ = handler_parts
    handler.publisher = StoppingPublisher(stop=handler.stop)
    report = await handler.ingest(_request(library / "a" / "photo.jpg"))
    assert handler.stop.is_set() and (report.ingested, report.published) == (1, 1)
    assert store.files[str(library / "a" / "photo.jpg")][2] == "ingested"


async def test_transient_os_error_while_hashing_is_retried_not_failed(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, store, publisher = handler_parts

    def no_descriptors(path: Path) -> str:
        raise OSError(errno.EMFILE, "Too many open files", str(path))

    monkeypatch.setattr(handlers, "content_hash", no_descriptors)
    with pytest.raises(Unavailable, match="Too many open files"):
        await handler.ingest(_request(library))
    for good in ("a/photo.jpg", "z/late/flower.jpg"):
        assert str(library / good) not in store.files  # no failed row: the next delivery reads it
    assert publisher.events == []
    monkeypatch.undo()
    report = await handler.ingest(_request(library))
    assert report.ingested == 2


async def test_transient_os_error_while_decoding_is_retried_not_failed(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, store, _ = handler_parts

    def no_descriptors(*args: object, **kwargs: object) -> object:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr("PIL.Image.open", no_descriptors)
    with pytest.raises(Unavailable, match="Too many open files"):
        await handler.ingest(_request(library / "a" / "photo.jpg"))
    assert store.files == {}


async def test_request_is_resolved_off_the_event_loop(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = handler_parts[0]
    threads: list[int] = []

    def recording(raw_path: str, roots: Sequence[Path]) -> tuple[Path, Path]:
        threads.append(threading.get_ident())
        return domain.resolve_request(raw_path, roots)

    monkeypatch.setattr(handlers, "resolve_request", recording)
    await handler.ingest(_request(library / "a" / "photo.jpg"))
    assert threads and threads[0] != threading.get_ident()


async def test_link_swapped_after_the_scan_is_not_read_outside_the_roots(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, store, publisher = handler_parts
    outside = tmp_path / "secret.jpg"
    shutil.copy(library / "a" / "photo.jpg", outside)
    link = library / "a" / "link.jpg"
    link.symlink_to(library / "a" / "photo.jpg")
    listed = ScannedFile(link, link.stat().st_size, link.stat().st_mtime_ns)

    def scan_then_swap(*args: object) -> Generator[ScannedFile, None, None]:
        yield listed  # checked inside the roots at scan time ...
        link.unlink()
        link.symlink_to(outside)  # ... and swapped before the read

    monkeypatch.setattr(handlers, "scan", scan_then_swap)
    report = await handler.ingest(_request(library))
    assert (report.failed, report.published) == (1, 0) and publisher.events == []
    assert store.files[str(link)][2:] == ("failed", None, "file lies outside the library roots")
    with pytest.raises(BadImage, match="outside the library roots"):
        handler._read(link)


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
        "/", "/lib", "/lib/a", "/lib/a/b", "/lib/c", "/other",
    ]
    # folders above the library root match too: a filter on /home/me finds photos in /home/me/Pictures
    assert folders_of([("/home/me/Pictures/x.jpg", "/home/me/Pictures")]) == [
        "/", "/home", "/home/me", "/home/me/Pictures",
    ]
    assert folders_of([("/elsewhere/x.jpg", "/lib")]) == []


def _ancestors(folder: Path) -> list[str]:
    """Folders above a library root, root-most first: they are in every event's folders too."""
    return [str(parent) for parent in reversed(folder.parents)]
