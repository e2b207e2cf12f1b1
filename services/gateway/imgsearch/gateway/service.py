"""What the gateway does, whichever API asks: REST (api/http.py) and gRPC (api/grpc.py) both call this."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.api.v1 import system_pb2
from imgsearch.common.db.cameras import CameraCount
from imgsearch.common.db.images import ImageRecord
from imgsearch.common.db.people_records import Page
from imgsearch.common.errors import ImgSearchError, InvalidInput, NotFound, OutsideLibrary, Unavailable
from imgsearch.gateway.files import PATH_ERRORS, LibraryRoots, check_path_text, search_folder
from imgsearch.gateway.paging import check_page
from imgsearch.gateway.system import SystemMonitor, readiness_status
from imgsearch.search.domain import DEFAULT_LIMIT
from imgsearch.search.domain import MAX_OFFSET as MAX_SEARCH_OFFSET

if TYPE_CHECKING:  # people.py builds on this module
    from imgsearch.gateway.admin import ReconcilePort
    from imgsearch.gateway.library import LibraryCatalog
    from imgsearch.gateway.people import PeopleService
    from imgsearch.gateway.sessions import IngestSessions

_IMAGE_ID = re.compile(r"[0-9a-f]{64}")
PROBE_TIMEOUT_S = 2.0
MAX_PATH_CHARS = 4096
MAX_PATTERNS = 100  # include / exclude globs per ingest request: the command must fit one NATS message
MAX_PATTERN_CHARS = 1024


class SearchPort(Protocol):
    """imgsearch.search.client.SearchClient."""

    async def text(self, request: pb.TextSearchRequest) -> pb.SearchResponse: ...
    async def similar(self, request: pb.SimilarSearchRequest) -> pb.SearchResponse: ...
    async def info(self, timeout_s: float | None = None) -> pb.SearchInfo: ...


class ImageLookup(Protocol):
    """imgsearch.common.db.images.ImageRepository."""

    async def get(self, image_id: str) -> ImageRecord | None: ...
    async def get_many(self, ids: Sequence[str]) -> dict[str, ImageRecord]: ...


class CameraLister(Protocol):
    """imgsearch.common.db.cameras.CameraRepository."""

    async def counts(self) -> list[CameraCount]: ...


# request_ingest(path, include, exclude) -> request id (publishes an IngestRequested command)
IngestRequester = Callable[[Path, Sequence[str], Sequence[str]], Awaitable[str]]
# a readiness probe: returns when the dependency answers, raises otherwise
Probe = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class IngestAccepted:
    request_id: str
    path: Path
    session_id: int = 0  # the ingest session made for it (0: this gateway has no sessions)


class Gateway:
    def __init__(
        self, search: SearchPort, images: ImageLookup, request_ingest: IngestRequester,
        library: LibraryRoots, thumbnails_dir: Path, probes: Mapping[str, Probe],
        people: PeopleService | None = None, cameras: CameraLister | None = None,
        catalog: LibraryCatalog | None = None, reconciler: ReconcilePort | None = None,
        sessions: IngestSessions | None = None, status: SystemMonitor | None = None,
    ) -> None:
        self.search = search
        self.images = images
        self.request_ingest = request_ingest
        self.library = library
        self.thumbnails_dir = thumbnails_dir
        self.probes = probes
        self.people = people  # None: no People API (REST routes and gRPC service left out)
        self.catalog = catalog  # None: no browse / duplicates API (REST routes and gRPC service left out)
        self.reconciler = reconciler  # None: no operator API (POST /api/v1/reconcile, gRPC Admin)
        self.camera_lister = cameras  # None: GET /api/v1/cameras answers Unavailable
        self.sessions = sessions  # None: no sessions API; an ingest only sends the command
        self.status = status  # None: the system status is readiness, model and warnings only (no queues)

    async def search_text(self, request: pb.TextSearchRequest) -> pb.SearchResponse:
        request.filters.folder = search_folder(request.filters.folder)  # the search service checks the rest
        return with_next_offset(request.limit, request.offset, await self.search.text(request))

    async def search_similar(self, request: pb.SimilarSearchRequest) -> pb.SearchResponse:
        request.image_id = check_image_id(request.image_id)
        request.filters.folder = search_folder(request.filters.folder)
        return with_next_offset(request.limit, request.offset, await self.search.similar(request))

    async def image(self, image_id: str) -> ImageRecord:
        image_id = check_image_id(image_id)
        record = await self.images.get(image_id)
        if record is None:
            raise NotFound(f"no image {image_id}")
        return record

    async def cameras(self) -> list[CameraCount]:
        if self.camera_lister is None:
            raise Unavailable("this gateway has no image database to list cameras from")
        return await self.camera_lister.counts()

    async def camera_page(self, limit: int, offset: int) -> Page[CameraCount]:
        """GET /api/v1/cameras, gRPC ListCameras: a page (limit 0: the default one) and how many there are.
        The names are folded in Python (two EXIF spellings may be one camera), so the page is cut here."""
        limit, offset = check_page(limit, offset)
        cameras = await self.cameras()
        return Page(cameras[offset:offset + limit], len(cameras))

    async def thumbnail(self, image_id: str) -> Path:
        """The thumbnail's file, which must resolve (symlinks too) inside the thumbnails folder: a row or a
        link that leads elsewhere is refused, never served."""
        record = await self.image(image_id)
        if not record.thumbnail_path:
            raise NotFound(f"image {record.id} has no thumbnail")
        try:
            root = self.thumbnails_dir.resolve()
            path = (root / record.thumbnail_path).resolve()  # an absolute thumbnail_path replaces root
            is_file = path.is_file()
        except PATH_ERRORS as exc:  # NUL bytes, loops of links, over-long names
            raise NotFound(f"the thumbnail of image {record.id} cannot be read: {exc}") from exc
        if not path.is_relative_to(root):
            raise OutsideLibrary(f"the thumbnail of image {record.id} lies outside the thumbnails folder")
        if not is_file:
            raise NotFound(f"the thumbnail of image {record.id} is missing")
        return path

    async def original(self, image_id: str) -> Path:
        record = await self.image(image_id)
        return self.library.stored_file(record.paths)

    async def ingest(self, path: str, include: Sequence[str], exclude: Sequence[str]) -> IngestAccepted:
        if self.sessions is not None:  # a normal-priority session over the whole folder (same checks)
            view = await self.sessions.create(path, (), "normal", include, exclude)
            return IngestAccepted(f"session-{view.record.id}", Path(view.record.root), view.record.id)
        check_ingest_request(path, include, exclude)
        folder = self.library.folder(path)
        request_id = await self.request_ingest(folder, tuple(include), tuple(exclude))
        return IngestAccepted(request_id=request_id, path=folder)

    async def system_info(self) -> pb.SystemInfo:
        """Readiness: every probe answers and the search service replies to info."""
        info = pb.SystemInfo()
        for name, probe in self.probes.items():
            info.checks.append(await _check(name, probe))
        try:
            search_info = await self.search.info(timeout_s=PROBE_TIMEOUT_S)
        except ImgSearchError as exc:
            info.checks.append(pb.ReadinessCheck(name="search", ok=False, detail=exc.message))
        else:
            info.checks.append(pb.ReadinessCheck(name="search", ok=True))
            info.model.CopyFrom(search_info.model)
            info.indexed = search_info.indexed
            info.warnings.extend(search_info.warnings)
        info.ready = all(check.ok for check in info.checks)
        return info

    async def system_status(self) -> system_pb2.SystemStatus:
        """GET /api/v1/system, gRPC System.GetStatus, the System page: readiness plus queues and backends."""
        if self.status is not None:
            return await self.status.collect(self.system_info())
        return readiness_status(await self.system_info())


def with_next_offset(limit: int, offset: int, response: pb.SearchResponse) -> pb.SearchResponse:
    """A full page may have a next one (a ranking has no total); the last page, or one whose next offset
    the search would refuse, has none."""
    following = offset + (limit or DEFAULT_LIMIT)
    if len(response.hits) >= (limit or DEFAULT_LIMIT) and following <= MAX_SEARCH_OFFSET:
        response.next_offset = following
    return response


def check_image_id(image_id: str) -> str:
    normalised = image_id.strip().lower()
    if not _IMAGE_ID.fullmatch(normalised):
        raise InvalidInput(f"{image_id!r} is not an image id (64 hex characters, the sha256 of the file)")
    return normalised


def check_ingest_request(path: str, include: Sequence[str], exclude: Sequence[str]) -> None:
    """The REST schema enforces these too; gRPC callers get the same limits here."""
    if len(path) > MAX_PATH_CHARS:
        raise InvalidInput(f"path is longer than {MAX_PATH_CHARS} characters")
    for name, patterns in (("include", include), ("exclude", exclude)):
        if len(patterns) > MAX_PATTERNS:
            raise InvalidInput(f"{name} has {len(patterns)} patterns; at most {MAX_PATTERNS} are allowed")
        if any(len(p) > MAX_PATTERN_CHARS for p in patterns):
            raise InvalidInput(f"an {name} pattern is longer than {MAX_PATTERN_CHARS} characters")
        for pattern in patterns:  # PostgreSQL text (the session row) cannot hold NUL: a 400, not a 500
            check_path_text(pattern, f"an {name} pattern")


async def _check(name: str, probe: Probe) -> pb.ReadinessCheck:
    try:
        await asyncio.wait_for(probe(), PROBE_TIMEOUT_S)
    except TimeoutError:
        return pb.ReadinessCheck(name=name, ok=False, detail=f"no answer within {PROBE_TIMEOUT_S:g}s")
    except Exception as exc:  # a probe reports any failure as "not ready", never as an error
        return pb.ReadinessCheck(name=name, ok=False, detail=str(exc) or repr(exc))
    return pb.ReadinessCheck(name=name, ok=True)
