"""UI pages / and /photos/{image_id}: search with filters, result grid, photo detail.

The search page renders its form (people and camera options) and one page of results; search.js asks for
the next pages with the PARTIAL_HEADER, which renders the results alone (no option lists to load)."""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.cameras import camera_name
from imgsearch.common.db.images import ImageRecord
from imgsearch.common.db.people_records import FaceRecord
from imgsearch.common.errors import ImgSearchError, Unavailable
from imgsearch.gateway.service import Gateway
from imgsearch.gateway.ui.render import Pages, query
from imgsearch.gateway.ui.search_form import PAGE_SIZE, PEOPLE_FIELDS, SearchForm
from imgsearch.search.domain import MAX_PEOPLE

log = logging.getLogger(__name__)

PARTIAL_HEADER = "X-Imgsearch-Partial"
MAX_PEOPLE_OPTIONS = 500  # the people with the most photos, listed by name
MAX_CAMERA_OPTIONS = 500
BROWSER_FORMATS = frozenset({"JPEG", "MPO", "PNG", "GIF", "WEBP"})  # else the page shows the thumbnail


@dataclass(frozen=True)
class ResultTile:
    image_id: str
    name: str
    score: float
    taken: str


@dataclass
class Results:
    tiles: list[ResultTile] = field(default_factory=list)
    source: ImageRecord | None = None  # the photo of a "more like this" search
    source_name: str = ""
    error: str = ""
    status: int = 200
    previous: str = ""  # pager links ("" when there is no such page)
    next: str = ""


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class FaceBox:
    """A face drawn on the photo: its box in % of the upright image (as FaceRecord.box and the stored
    width and height are), so it lines up at any displayed size."""

    face: FaceRecord
    left: float
    top: float
    width: float
    height: float


def search_pages(gateway: Gateway, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    async def search(request: Request) -> HTMLResponse:
        form = SearchForm.from_query(request.query_params)
        results = await run_search(gateway, form)
        context: dict[str, object] = {"form": form, "results": results}
        if request.headers.get(PARTIAL_HEADER) == "results":
            return pages.render(request, "search_results.html", context, status=results.status)
        context["people"] = await people_options(gateway, form)
        context["cameras"] = await camera_options(gateway, form)
        return pages.render(request, "search.html", context, status=results.status)

    @router.get("/photos/{image_id}", response_class=HTMLResponse)
    async def photo(request: Request, image_id: str) -> HTMLResponse:
        record = await gateway.image(image_id)  # NotFound: the 404 page
        faces = (await gateway.people.image_faces(record.id))[1] if gateway.people is not None else []
        thumbnail = f"/api/v1/images/{record.id}/thumbnail"
        displayable = (record.format or "").upper() in BROWSER_FORMATS
        return pages.render(request, "photo.html", {
            "image": record, "name": file_name(record.paths, record.id), "thumbnail": thumbnail,
            "src": f"/api/v1/images/{record.id}/original" if displayable else thumbnail,
            "camera": camera_name(record.camera_make, record.camera_model),
            "faces": faces, "boxes": face_boxes(faces, record.width, record.height),
        })

    return router


async def run_search(gateway: Gateway, form: SearchForm) -> Results:
    """One page of hits (none without a query); a bad value or a failed search is the page's message
    (and its status)."""
    results = Results()
    try:
        offset, filters = form.page(), form.filters()
        if not form.active:
            return results
        if form.similar:
            results.source = await gateway.image(form.similar)
            results.source_name = file_name(results.source.paths, results.source.id)
            similar = pb.SimilarSearchRequest(image_id=form.similar, limit=PAGE_SIZE, offset=offset,
                                              filters=filters)
            response = await gateway.search_similar(similar)
        else:
            text = pb.TextSearchRequest(query=form.q, limit=PAGE_SIZE, offset=offset, filters=filters)
            response = await gateway.search_text(text)
    except ImgSearchError as exc:
        results.error, results.status = exc.message, exc.http_status
        return results
    results.tiles = [tile(hit) for hit in response.hits]
    if offset > 0:
        results.previous = _page_url(form, max(offset - PAGE_SIZE, 0))
    if response.HasField("next_offset"):  # set by the gateway on a full page the search can go beyond
        results.next = _page_url(form, response.next_offset)
    return results


def tile(hit: pb.SearchHit) -> ResultTile:
    taken = hit.taken_at.ToDatetime().strftime("%Y-%m-%d") if hit.HasField("taken_at") else ""
    return ResultTile(hit.image_id, file_name([hit.path], hit.image_id), hit.score, taken)


async def people_options(gateway: Gateway, form: SearchForm) -> list[Option]:
    """The people with the most photos (a page of them), by name, and any chosen person beyond those."""
    if gateway.people is None:
        return []
    names = {p.id: p.name for p in (await gateway.people.list_people(MAX_PEOPLE_OPTIONS, 0)).items}
    # isdecimal, not isdigit ("²" is a digit int() refuses); a longer one is no person id (and int() of
    # thousands of digits raises): the search's own message covers both
    chosen = {int(v) for name in PEOPLE_FIELDS for v in getattr(form, name) if v.isdecimal() and len(v) <= 19}
    for person_id in sorted(chosen - names.keys())[: 3 * MAX_PEOPLE]:  # more is an error the page shows
        try:
            names[person_id] = (await gateway.people.person(person_id)).name
        except ImgSearchError:
            names[person_id] = f"Person {person_id}"  # unknown: the search says so; the choice stays
    ranked = sorted(names.items(), key=lambda item: (item[1].casefold(), item[0]))
    return [Option(str(person_id), name) for person_id, name in ranked]


async def camera_options(gateway: Gateway, form: SearchForm) -> list[Option]:
    try:
        cameras = [c.camera for c in (await gateway.cameras())[:MAX_CAMERA_OPTIONS]]
    except Unavailable as exc:  # no image database here: the filter still takes a typed-in URL value
        log.debug("no camera options: %s", exc.message)
        cameras = []
    if form.camera and form.camera not in cameras:
        cameras.append(form.camera)
    return [Option(name, name) for name in sorted(cameras, key=str.casefold)]


def face_boxes(faces: list[FaceRecord], width: int | None, height: int | None) -> list[FaceBox]:
    if not width or not height:
        return []
    boxes = []
    for face in faces:
        x1, y1, x2, y2 = face.box
        x1, x2 = (min(max(x, 0), width) for x in (x1, x2))
        y1, y2 = (min(max(y, 0), height) for y in (y1, y2))
        boxes.append(FaceBox(face, 100 * x1 / width, 100 * y1 / height,
                             100 * (x2 - x1) / width, 100 * (y2 - y1) / height))
    return boxes


def file_name(paths: list[str], image_id: str) -> str:
    return next((posixpath.basename(p) for p in paths if p), image_id[:12])


def _page_url(form: SearchForm, offset: int) -> str:
    return query("/", **form.params(offset=offset or ""))
