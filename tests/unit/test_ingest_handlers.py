"""The per-file ingest pipeline driven with fakes at its ports (store, publisher)."""

from __future__ import annotations

import asyncio
import errno
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from google.protobuf.message import Message

from imgsearch.common.errors import BadImage, Unavailable
from imgsearch.common.imaging import configure_decoders
from imgsearch.common.perceptual import PerceptualHashes
from imgsearch.common.subjects import IMAGES_INGESTED, failed_subject
from imgsearch.events.v1.events_pb2 import ImageFailed, ImageIngested
from imgsearch.ingest import domain, handlers
from imgsearch.ingest.domain import folders_of
from imgsearch.ingest.handlers import FileOutcome, IngestConfig, IngestHandler, IngestReport
from imgsearch.ingest.probe import ImageInfo, ProbeLimits
from imgsearch.ingest.repository import KnownPath
from imgsearch.ingest.scan import PathFilter, ScannedFile, scan


@dataclass
class FakeStore:
    files: dict[str, tuple[int, int, str, str | None, str | None]] = field(default_factory=dict)
    images: dict[str, ImageInfo] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, PerceptualHashes] = field(default_factory=dict)
    lives: dict[str, str] = field(default_factory=dict)  # image id → its row's life (made: a new one)
    made: int = 0

    async def unchanged(self, files: Sequence[ScannedFile]) -> set[Path]:
        return {f.path for f in files if self.files.get(str(f.path), (0, 0))[:2] == (f.size, f.mtime_ns)}

    async def upsert_image(self, image_id: str, size: int, image: ImageInfo, thumbnail: Path) -> str:
        assert thumbnail.name == f"{image_id}.jpg"
        assert type(image) is ImageInfo  # no pixels are carried past the thumbnail
        self.images[image_id] = image
        if image_id not in self.lives:
            self.made += 1
            self.lives[image_id] = f"life-{self.made}"
        return self.lives[image_id]

    def delete(self, path: Path) -> None:
        """What the watcher does when the image's last path is deleted: its files and image rows go."""
        image_id = self.files.pop(str(path))[3]
        assert image_id is not None
        del self.images[image_id], self.lives[image_id]

    async def record_hashes(self, image_id: str, hashes: PerceptualHashes) -> None:
        assert image_id in self.images  # after the image row
        self.hashes[image_id] = hashes

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


async def _ingest(handler: IngestHandler, path: Path, include: Sequence[str] = ()) -> IngestReport:
    """What an ingest session does with a folder: walk it, settle the unchanged files, read the others
    through the handler (concurrently, as the claim loop does)."""
    config = handler.config
    target, root = domain.resolve_request(str(path), config.roots)
    path_filter = PathFilter.of(list(include) or config.default_include, config.default_exclude)
    files = list(scan(target, config.roots, path_filter))
    unchanged = await handler.store.unchanged(files)
    report = IngestReport(scanned=len(files), unchanged=len(unchanged))
    outcomes = await asyncio.gather(
        *(handler.ingest_file(f, root, report) for f in files if f.path not in unchanged),
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return report


async def test_good_bad_and_rescan(handler_parts: tuple[IngestHandler, FakeStore, FakePublisher],
                                   library: Path) -> None:
    handler, store, publisher = handler_parts
    report = await _ingest(handler, library)
    assert (report.scanned, report.ingested, report.failed, report.published) == (4, 2, 2, 2)
    bad = store.files[str(library / "a" / "bad.jpg")]
    assert bad[2:] == ("failed", None, "not a recognised image format")
    assert "decompression bomb" in str(store.files[str(library / "a" / "bomb.png")][4])
    photo = next(e for e in publisher.events if e.path.endswith("photo.jpg"))
    assert (photo.width, photo.height, photo.format) == (600, 450, "JPEG")
    assert list(photo.folders) == [*_ancestors(library), str(library), str(library / "a")]
    assert photo.library_root == str(library)
    assert set(store.hashes) == set(store.images)  # every good image is hashed for near duplicates
    # integrators hear about the bad files too: one images.failed.ingest event each, with the reason
    failures = {Path(f.path).name: f for f in publisher.failures}
    assert set(failures) == {"bad.jpg", "bomb.png"}
    bad_event = failures["bad.jpg"]
    assert (bad_event.stage, bad_event.reason) == ("ingest", "not a recognised image format")

    again = await _ingest(handler, library)
    assert (again.scanned, again.unchanged, again.published) == (4, 4, 0)
    assert len(publisher.failures) == 2  # a rescan says nothing new about unchanged bad files


async def test_same_content_at_a_second_path_is_published_with_all_folders(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path
) -> None:
    handler, store, publisher = handler_parts
    await _ingest(handler, library)
    copy = library / "b" / "c" / "flower.jpg"
    copy.parent.mkdir(parents=True)
    shutil.copy(library / "z" / "late" / "flower.jpg", copy)
    report = await _ingest(handler, library, include=["*.jpg"])
    assert (report.ingested, report.published) == (1, 1)
    event = publisher.events[-1]
    assert event.path == str(copy)
    assert list(event.folders) == [*_ancestors(library)] + [str(library / p) if p else str(library)
                                                            for p in ("", "b", "b/c", "z", "z/late")]
    assert len(store.images) == 2


async def test_changed_file_is_read_again(handler_parts: tuple[IngestHandler, FakeStore, FakePublisher],
                                          library: Path, shared_data: Path) -> None:
    handler, _, publisher = handler_parts
    await _ingest(handler, library)
    shutil.copy(shared_data / "robustness" / "orientation" / "portrait_1.jpg", library / "a" / "bad.jpg")
    report = await _ingest(handler, library)
    assert (report.unchanged, report.ingested, report.published) == (3, 1, 1)
    assert publisher.events[-1].path.endswith("bad.jpg")


async def test_a_replay_keeps_its_message_id_and_a_file_put_back_gets_a_new_one(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path
) -> None:
    handler, store, publisher = handler_parts
    photo = await asyncio.to_thread(lambda: library.resolve() / "a" / "photo.jpg")
    await _ingest(handler, library)
    assert len(publisher.events) == 2
    # A crash after the publish, before the files row: the file is read again, under the same id.
    del store.files[str(photo)]
    replay = await _ingest(handler, library)
    assert (replay.ingested, replay.published) == (1, 0)
    # The file deleted (its image row with it) and put back, unchanged: a new image row, a new event.
    store.delete(photo)
    back = await _ingest(handler, library)
    assert (back.ingested, back.published) == (1, 1)
    assert publisher.events[-1].path == str(photo)


async def test_transient_os_error_while_hashing_is_retried_not_failed(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, store, publisher = handler_parts

    def no_descriptors(path: Path) -> str:
        raise OSError(errno.EMFILE, "Too many open files", str(path))

    monkeypatch.setattr(handlers, "content_hash", no_descriptors)
    with pytest.raises(Unavailable, match="Too many open files"):
        await _ingest(handler, library)
    for good in ("a/photo.jpg", "z/late/flower.jpg"):
        assert str(library / good) not in store.files  # no failed row: its session reads it again
    assert publisher.events == []
    monkeypatch.undo()
    report = await _ingest(handler, library)
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
        await _ingest(handler, library / "a" / "photo.jpg")
    assert store.files == {}


async def test_link_swapped_after_the_scan_is_not_read_outside_the_roots(
    handler_parts: tuple[IngestHandler, FakeStore, FakePublisher], library: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, store, publisher = handler_parts
    outside = tmp_path / "secret.jpg"
    shutil.copy(library / "a" / "photo.jpg", outside)
    link = library / "a" / "link.jpg"
    link.symlink_to(library / "a" / "photo.jpg")
    listed = ScannedFile(link, link.stat().st_size, link.stat().st_mtime_ns)  # inside the roots when found
    link.unlink()
    link.symlink_to(outside)  # ... and swapped before the read
    report = IngestReport()
    outcome = await handler.ingest_file(listed, library, report)
    assert outcome == FileOutcome(None, "file lies outside the library roots")
    assert (report.failed, report.published) == (1, 0) and publisher.events == []
    assert store.files[str(link)][2:] == ("failed", None, "file lies outside the library roots")
    with pytest.raises(BadImage, match="outside the library roots"):
        handler._read(link)


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
