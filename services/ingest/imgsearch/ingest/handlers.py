"""IngestRequested → scan a folder → for each new or changed file: probe, hash, thumbnail, upsert,
publish ImageIngested. A bad file becomes a failed files row and the scan goes on.

CPU work (decode, hash, thumbnail) runs in a thread pool of ``workers``; at most twice that many
files are in flight, and a file's pixels are dropped once its thumbnail is written, so memory stays
bounded on any folder size. A transient system error (Unavailable) stops the scan and the command
is retried; it never becomes a failed row. The files row is written after
the publish, so a crash in between only means the next scan re-reads the file and republishes it
under the same Nats-Msg-Id (dropped as a duplicate).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Generator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Protocol

from google.protobuf.message import DecodeError, Message

from imgsearch.common.bus import Delivery
from imgsearch.common.errors import BadImage, InvalidInput, Unavailable
from imgsearch.common.ids import content_hash, message_id
from imgsearch.common.subjects import IMAGES_INGESTED, failed_subject
from imgsearch.events.v1.events_pb2 import ImageFailed, ImageIngested, IngestRequested
from imgsearch.ingest.domain import folders_of, resolve_request
from imgsearch.ingest.probe import ImageInfo, ProbeLimits, probe, raise_if_transient, reason_of
from imgsearch.ingest.repository import IngestStore
from imgsearch.ingest.scan import PathFilter, ScannedFile, inside, scan
from imgsearch.ingest.thumbnails import write_thumbnail

log = logging.getLogger(__name__)
_SCAN_CHUNK = 256  # paths listed per trip to the scanning thread and per "unchanged" query


class Publisher(Protocol):
    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool: ...


class InProgress(Protocol):
    async def in_progress(self) -> None: ...


@dataclass(frozen=True)
class IngestConfig:
    roots: tuple[Path, ...]  # resolved library roots
    limits: ProbeLimits
    thumbnails_dir: Path
    thumbnail_size: int
    workers: int
    default_exclude: tuple[str, ...] = ()
    default_include: tuple[str, ...] = ()
    keepalive_s: float = 30.0  # well under ack_wait: the command stays ours during long scans


@dataclass
class IngestReport:
    scanned: int = 0
    unchanged: int = 0
    ingested: int = 0
    failed: int = 0
    published: int = 0  # accepted by JetStream (duplicates inside the window not counted)


@dataclass(frozen=True)
class _Read:
    image_id: str
    image: ImageInfo  # no pixels: many of these wait on PostgreSQL and the bus at once
    thumbnail: Path


class IngestHandler:
    def __init__(self, config: IngestConfig, store: IngestStore, publisher: Publisher, executor: Executor,
                 stop: asyncio.Event) -> None:
        self.config, self.store, self.publisher = config, store, publisher
        self.executor, self.stop = executor, stop
        self._image_locks = [asyncio.Lock() for _ in range(64)]  # striped by image id

    async def __call__(self, deliveries: Sequence[Delivery]) -> list[BaseException | None]:
        """The bus's batch handler: one outcome per command (None → ack)."""
        outcomes: list[BaseException | None] = []
        for delivery in deliveries:
            try:
                request = IngestRequested.FromString(delivery.data)
            except DecodeError as exc:
                outcomes.append(InvalidInput(f"not an IngestRequested message: {exc}"))
                continue
            try:
                async with _keepalive(delivery.msg, self.config.keepalive_s):
                    report = await self.ingest(request)
                log.info("ingest %s of %s done: %s", request.request_id, request.path, report)
                outcomes.append(None)
            except Exception as exc:
                log.warning("ingest %s of %s: %r", request.request_id, request.path, exc)
                outcomes.append(exc)
        return outcomes

    async def ingest(self, request: IngestRequested) -> IngestReport:
        target, root = await asyncio.to_thread(resolve_request, request.path, self.config.roots)
        path_filter = PathFilter.of(
            list(request.include) or self.config.default_include,
            [*self.config.default_exclude, *request.exclude],
        )
        report = IngestReport()
        files = scan(target, self.config.roots, path_filter)
        in_flight: set[asyncio.Task[None]] = set()
        interrupted = False
        try:
            # Once stopping, one more file is listed only to learn whether the scan was complete.
            while not interrupted and (chunk := await asyncio.to_thread(
                    _take, files, 1 if self.stop.is_set() else _SCAN_CHUNK)):
                if self.stop.is_set():
                    interrupted = True
                    break
                report.scanned += len(chunk)
                unchanged = await self.store.unchanged(chunk)
                report.unchanged += len(unchanged)
                for file in chunk:
                    if file.path in unchanged or not _storable(file.path):
                        continue
                    if self.stop.is_set():
                        interrupted = True
                        break
                    while len(in_flight) >= 2 * self.config.workers:
                        await _settle_one(in_flight)
                    in_flight.add(asyncio.create_task(self._ingest_file(file, root, report)))
            while in_flight:
                await _settle_one(in_flight)
        finally:
            for task in in_flight:
                task.cancel()
            with contextlib.suppress(ValueError):  # still running in its thread after a cancel
                files.close()
        if interrupted:
            raise Unavailable(f"ingest of {request.path} interrupted by shutdown; resumes on redelivery")
        return report

    async def _ingest_file(self, file: ScannedFile, root: Path, report: IngestReport) -> None:
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
            return
        # Two copies of one picture in flight at once must not both miss each other's path: the
        # later one's event has to carry the folders of both.
        async with self._image_locks[int(read.image_id[:8], 16) % len(self._image_locks)]:
            await self._store_and_publish(file, root, read, report)

    async def _store_and_publish(self, file: ScannedFile, root: Path, read: _Read, report: IngestReport
                                 ) -> None:
        image = read.image
        await self.store.upsert_image(read.image_id, file.size, image, read.thumbnail)
        known = [(k.path, k.library_root) for k in await self.store.paths_of(read.image_id)]
        event = ImageIngested(
            image_id=read.image_id, path=str(file.path), library_root=str(root), size_bytes=file.size,
            width=image.width, height=image.height, format=image.format,
            folders=folders_of([*known, (str(file.path), str(root))]),
        )
        if image.taken_at is not None:
            event.taken_at.FromDatetime(image.taken_at)
        msg_id = message_id(IMAGES_INGESTED, read.image_id, str(file.path))
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
        except OSError as exc:
            if exc.errno is not None:  # our disk (full, read-only): retry the command later
                raise Unavailable(f"cannot write thumbnail: {exc}") from exc
            raise BadImage(f"cannot encode thumbnail: {reason_of(exc)}") from exc
        except (ValueError, TypeError) as exc:  # a pixel mode Pillow cannot convert
            raise BadImage(f"cannot encode thumbnail: {reason_of(exc)}") from exc
        finally:
            image.preview.close()
        return _Read(image_id, image.info(), thumbnail)


def _take(files: Generator[ScannedFile, None, None], n: int) -> list[ScannedFile]:
    return list(islice(files, n))


def _storable(path: Path) -> bool:
    """PostgreSQL text and protobuf strings need UTF-8; a name with undecodable bytes cannot be a key."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        log.warning("skipping a file whose name is not valid UTF-8: %r", path)
        return False
    return True


async def _settle_one(in_flight: set[asyncio.Task[None]]) -> None:
    done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
    in_flight.difference_update(done)
    # A store, bus or transient system failure stops the scan: the command is retried.
    failures = [exc for task in done if (exc := task.exception()) is not None]
    if failures:
        raise failures[0]


@contextlib.asynccontextmanager
async def _keepalive(msg: InProgress, every_s: float) -> AsyncIterator[None]:
    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await msg.in_progress()
            except Exception as exc:  # a lost beat only risks a redelivery, which resumes cheaply
                log.warning("could not extend the ingest command's ack deadline: %r", exc)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
