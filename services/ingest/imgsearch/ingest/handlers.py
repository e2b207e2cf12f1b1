"""One file through the ingest: probe, hash, thumbnail, upsert, publish ImageIngested, files row.
A bad file becomes a failed files row (and an images.failed.ingest event) and the caller goes on.

The files come from ingest sessions (imgsearch.ingest.worker claims them); CPU work (decode, hash,
thumbnail) runs in a thread pool of ``workers``, and a file's pixels are dropped once its thumbnail is
written, so memory stays bounded. A transient system error (Unavailable) propagates: the file is given
back to its session and read again later; it never becomes a failed row. The files row is written after
the publish, so a crash in between only means the file is read again and republished under the same
Nats-Msg-Id (dropped as a duplicate).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from google.protobuf.message import Message

from imgsearch.common.errors import BadImage, Unavailable
from imgsearch.common.ids import content_hash, message_id
from imgsearch.common.ingested_metadata import add_metadata
from imgsearch.common.perceptual import PerceptualHashes
from imgsearch.common.phash import perceptual_hashes
from imgsearch.common.subjects import IMAGES_INGESTED, failed_subject
from imgsearch.events.v1.events_pb2 import ImageFailed, ImageIngested
from imgsearch.ingest.domain import folders_of
from imgsearch.ingest.probe import ImageInfo, ProbeLimits, probe, raise_if_transient, reason_of
from imgsearch.ingest.repository import IngestStore
from imgsearch.ingest.scan import ScannedFile, inside
from imgsearch.ingest.thumbnails import write_thumbnail

log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool: ...


@dataclass(frozen=True)
class IngestConfig:
    roots: tuple[Path, ...]  # resolved library roots
    limits: ProbeLimits
    thumbnails_dir: Path
    thumbnail_size: int
    workers: int
    default_exclude: tuple[str, ...] = ()
    default_include: tuple[str, ...] = ()


@dataclass
class IngestReport:
    scanned: int = 0
    unchanged: int = 0
    ingested: int = 0
    failed: int = 0
    published: int = 0  # accepted by JetStream (duplicates inside the window not counted)


@dataclass(frozen=True)
class FileOutcome:
    image_id: str | None  # None: the file failed, error says why
    error: str | None = None


@dataclass(frozen=True)
class _Read:
    image_id: str
    image: ImageInfo  # no pixels: many of these wait on PostgreSQL and the bus at once
    thumbnail: Path
    hashes: PerceptualHashes | None = None  # for near duplicates; None when the pixels could not be hashed


class IngestHandler:
    def __init__(self, config: IngestConfig, store: IngestStore, publisher: Publisher, executor: Executor,
                 stop: asyncio.Event) -> None:
        self.config, self.store, self.publisher = config, store, publisher
        self.executor, self.stop = executor, stop
        self._image_locks = [asyncio.Lock() for _ in range(64)]  # striped by image id

    async def ingest_file(self, file: ScannedFile, root: Path, report: IngestReport) -> FileOutcome:
        """Read and store one file under its library root; what became of it (Unavailable: retry later)."""
        loop = asyncio.get_running_loop()
        try:
            read = await loop.run_in_executor(self.executor, self._read, file.path)
        except BadImage as exc:
            # Event first, row second (as for good files): a crash in between republishes, deduplicated.
            subject = failed_subject("ingest")
            failed = ImageFailed(path=str(file.path), stage="ingest", reason=exc.message, deliveries=1)
            await self.publisher.publish(
                subject, failed, message_id(subject, str(file.path), str(file.size), str(file.mtime_ns))
            )
            await self.store.record_failed(file, root, exc.message)
            report.failed += 1
            return FileOutcome(None, exc.message)
        # Two copies of one picture in flight at once must not both miss each other's path: the
        # later one's event has to carry the folders of both.
        async with self._image_locks[int(read.image_id[:8], 16) % len(self._image_locks)]:
            await self._store_and_publish(file, root, read, report)
        return FileOutcome(read.image_id)

    async def _store_and_publish(self, file: ScannedFile, root: Path, read: _Read, report: IngestReport
                                 ) -> None:
        image = read.image
        life = await self.store.upsert_image(read.image_id, file.size, image, read.thumbnail)
        if read.hashes is not None:
            await self.store.record_hashes(read.image_id, read.hashes)
        known = [(k.path, k.library_root) for k in await self.store.paths_of(read.image_id)]
        event = ImageIngested(
            image_id=read.image_id, path=str(file.path), library_root=str(root), size_bytes=file.size,
            width=image.width, height=image.height, format=image.format,
            folders=folders_of([*known, (str(file.path), str(root))]),
        )
        add_metadata(event, image)
        # The image row's life and the file's mtime: a crash before the files row below republishes under
        # this id (dropped as a repeat), while the file deleted and put back is a new fact, published.
        msg_id = message_id(IMAGES_INGESTED, read.image_id, str(file.path), life, str(file.mtime_ns))
        if await self.publisher.publish(IMAGES_INGESTED, event, msg_id):
            report.published += 1
        await self.store.record_ingested(file, root, read.image_id)
        report.ingested += 1

    def _read(self, path: Path) -> _Read:
        """Thread-pool side: decode and validate, hash, write the thumbnail.

        The file is read by its resolved path, checked again here: a link swapped since the scan
        cannot lead outside the library roots."""
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError) as exc:  # vanished, or a loop of links
            raise_if_transient(exc, "cannot resolve file")
            raise BadImage(f"cannot resolve file: {exc}") from exc
        if inside(real, self.config.roots) is None:
            raise BadImage("file lies outside the library roots")
        image = probe(real, self.config.limits)
        try:
            image_id = content_hash(real)
        except OSError as exc:
            raise_if_transient(exc, "cannot read file")
            raise BadImage(f"cannot read file: {exc.strerror or exc}") from exc
        try:
            thumbnail = write_thumbnail(image.preview, self.config.thumbnails_dir, image_id,
                                        self.config.thumbnail_size)
            hashes = perceptual_hashes(image.preview)  # never raises
        except OSError as exc:
            if exc.errno is not None:  # our disk (full, read-only): retry the command later
                raise Unavailable(f"cannot write thumbnail: {exc}") from exc
            raise BadImage(f"cannot encode thumbnail: {reason_of(exc)}") from exc
        except (ValueError, TypeError) as exc:  # a pixel mode Pillow cannot convert
            raise BadImage(f"cannot encode thumbnail: {reason_of(exc)}") from exc
        finally:
            image.preview.close()
        return _Read(image_id, image.info(), thumbnail, hashes)
