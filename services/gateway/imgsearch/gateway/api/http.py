"""REST API (FastAPI; OpenAPI at /docs). Built by create_app(gateway): no module-level app."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.db.outage import as_unavailable
from imgsearch.common.errors import ImgSearchError
from imgsearch.gateway.api import schemas
from imgsearch.gateway.api.http_admin import admin_routes
from imgsearch.gateway.api.http_auth import install_auth
from imgsearch.gateway.api.http_auth_routes import auth_routes
from imgsearch.gateway.api.http_docs import install_docs
from imgsearch.gateway.api.http_hosts import LoopbackHostGuard
from imgsearch.gateway.api.http_library import library_routes
from imgsearch.gateway.api.http_metadata import Metadata, MetadataFilters, metadata_routes
from imgsearch.gateway.api.http_people import people_routes
from imgsearch.gateway.api.http_sessions import session_routes
from imgsearch.gateway.api.http_system import system_routes
from imgsearch.gateway.auth import Authenticator
from imgsearch.gateway.service import Gateway
from imgsearch.gateway.ui.pages import install_ui
from imgsearch.gateway.ui.render import Pages, is_ui_path
from imgsearch.search.domain import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, MAX_PEOPLE, check_people
from imgsearch.search.messages import search_filters

log = logging.getLogger(__name__)

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorBody} for status in (400, 401, 403, 404, 409, 503)
}

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="hits per page")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="hits to skip")]
DATES = "ISO 8601; naive = UTC; years 0001-9999 in UTC"
TakenAfter = Annotated[datetime | None, Query(
    description=f"EXIF date on or after ({DATES}); a date alone (2020-01-01) means the start of that day"
)]
TakenBefore = Annotated[datetime | None, Query(
    description=f"EXIF date on or before ({DATES}); a date alone (2020-12-31) means the end of that day, "
    "so the whole day is included"
)]
Folder = Annotated[str | None, Query(
    max_length=4096,
    description="absolute folder: images with any path below it match (symlinks resolved, '//' and a "
    "trailing '/' ignored)",
)]
PeopleAll = Annotated[list[int] | None, Query(
    max_length=MAX_PEOPLE, description="person ids (repeat the parameter): photos with every one of them"
)]
PeopleAny = Annotated[list[int] | None, Query(
    max_length=MAX_PEOPLE, description="person ids: photos with at least one of them"
)]
PeopleNone = Annotated[list[int] | None, Query(
    max_length=MAX_PEOPLE, description="person ids: photos with none of them"
)]
_DATE_ONLY = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")


def create_app(gateway: Gateway, auth: Authenticator | None = None, cors_origins: Sequence[str] = (),
               loopback_hosts: Sequence[str] | None = None) -> FastAPI:
    """auth None (or not enabled): every call is taken without a key (README "Authentication").
    loopback_hosts not None: only requests naming a loopback host or one of these are answered."""
    app = FastAPI(
        title="imgsearch", version="1",
        summary="Semantic photo search: text and similar-image search, faces and people",
        docs_url=None, redoc_url=None,  # /docs is served from local assets (api/http_docs.py)
    )
    install_docs(app)
    app.state.auth = auth
    app.include_router(_routes(gateway))
    app.include_router(auth_routes(auth, ERRORS))
    app.include_router(metadata_routes(gateway, ERRORS))
    app.include_router(system_routes(gateway, ERRORS))
    if gateway.people is not None:
        app.include_router(people_routes(gateway.people, ERRORS))
    if gateway.sessions is not None:
        app.include_router(session_routes(gateway.sessions, ERRORS))
    if gateway.catalog is not None:
        app.include_router(library_routes(gateway.catalog, ERRORS))
    if gateway.reconciler is not None:
        app.include_router(admin_routes(gateway.reconciler, ERRORS))
    pages = Pages()
    install_ui(app, gateway, pages)
    _install_error_handlers(app, pages)
    install_auth(app, auth, pages, cors_origins)
    if loopback_hosts is not None:
        app.add_middleware(LoopbackHostGuard, pages=pages, allowed_hosts=tuple(loopback_hosts))
    return app


def _routes(gateway: Gateway) -> APIRouter:
    router = APIRouter()

    @router.get("/api/v1/search", response_model=schemas.SearchResults, responses=ERRORS, tags=["search"])
    async def search(
        http: Request, metadata: Metadata,
        q: Annotated[str, Query(min_length=1, max_length=1000, description="what to look for")],
        limit: Limit = DEFAULT_LIMIT, offset: Offset = 0, taken_after: TakenAfter = None,
        taken_before: TakenBefore = None, folder: Folder = None, people_all: PeopleAll = None,
        people_any: PeopleAny = None, people_none: PeopleNone = None,
    ) -> schemas.SearchResults:
        filters = _filters(http, taken_after, taken_before, folder, people_all, people_any, people_none,
                           metadata)
        request = pb.TextSearchRequest(query=q, limit=limit, offset=offset, filters=filters)
        return schemas.SearchResults.from_proto(await gateway.search_text(request))

    @router.get(
        "/api/v1/images/{image_id}/similar", response_model=schemas.SearchResults, responses=ERRORS,
        tags=["search"],
    )
    async def similar(
        http: Request, metadata: Metadata, image_id: str, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
        taken_after: TakenAfter = None, taken_before: TakenBefore = None, folder: Folder = None,
        people_all: PeopleAll = None, people_any: PeopleAny = None, people_none: PeopleNone = None,
    ) -> schemas.SearchResults:
        filters = _filters(http, taken_after, taken_before, folder, people_all, people_any, people_none,
                           metadata)
        request = pb.SimilarSearchRequest(image_id=image_id, limit=limit, offset=offset, filters=filters)
        return schemas.SearchResults.from_proto(await gateway.search_similar(request))

    @router.get("/api/v1/images/{image_id}", response_model=schemas.Image, responses=ERRORS, tags=["images"])
    async def image(image_id: str) -> schemas.Image:
        return schemas.Image.from_record(await gateway.image(image_id))

    @router.get("/api/v1/images/{image_id}/thumbnail", responses=ERRORS, tags=["images"])
    async def thumbnail(image_id: str) -> FileResponse:
        # private: with auth on, a shared cache must not hand one user's thumbnail to another
        return FileResponse(await gateway.thumbnail(image_id),
                            headers={"Cache-Control": "private, max-age=86400"})

    @router.get("/api/v1/images/{image_id}/original", responses=ERRORS, tags=["images"])
    async def original(image_id: str) -> FileResponse:
        path = await gateway.original(image_id)
        return FileResponse(path, filename=path.name, content_disposition_type="inline")

    @router.post(
        "/api/v1/ingest", status_code=202, response_model=schemas.IngestAccepted, responses=ERRORS,
        tags=["ingest"],
    )
    async def ingest(body: schemas.IngestRequest) -> schemas.IngestAccepted:
        accepted = await gateway.ingest(body.path, body.include, body.exclude)
        return schemas.IngestAccepted(
            request_id=accepted.request_id, path=str(accepted.path), session_id=accepted.session_id
        )

    @router.get("/healthz", response_model=schemas.Liveness, tags=["health"])
    async def healthz() -> schemas.Liveness:
        return schemas.Liveness()

    @router.get("/readyz", response_model=schemas.Readiness, responses={503: {"model": schemas.Readiness}},
                tags=["health"])
    async def readyz() -> JSONResponse:
        readiness = schemas.Readiness.from_proto(await gateway.system_info())
        return JSONResponse(readiness.model_dump(mode="json"), status_code=200 if readiness.ready else 503)

    return router


def _filters(
    http: Request, taken_after: datetime | None, taken_before: datetime | None, folder: str | None,
    people_all: list[int] | None, people_any: list[int] | None, people_none: list[int] | None,
    metadata: MetadataFilters | None = None,
) -> pb.SearchFilters:
    """A date alone in taken_before means the end of that day (it parses as midnight, its start)."""
    if taken_before is not None and _DATE_ONLY.fullmatch(http.query_params.get("taken_before", "")):
        taken_before = datetime.combine(taken_before.date(), time.max, taken_before.tzinfo)
    people = check_people(people_all or [], people_any or [], people_none or [])
    near, camera = (metadata.near, metadata.camera) if metadata else (None, None)
    return search_filters(taken_after, taken_before, folder, people, near=near, camera=camera)


def _install_error_handlers(app: FastAPI, pages: Pages) -> None:
    """One error model: {"error": kind, "message": ...} for the API, the same kind and message as a page
    for the UI's paths."""

    def error(request: Request, status: int, kind: str, message: str,
              headers: Mapping[str, str] | None = None) -> Response:
        if is_ui_path(request.url.path):
            page = pages.error(request, status, kind, message)
            page.headers.update(headers or {})
            return page
        return _error(status, kind, message, headers)

    @app.exception_handler(ImgSearchError)
    async def on_error(request: Request, exc: ImgSearchError) -> Response:
        return error(request, exc.http_status, exc.kind, exc.message)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        return error(request, 400, "InvalidInput", _describe(exc))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        kind = "NotFound" if exc.status_code == 404 else "HTTPError"
        return error(request, exc.status_code, kind, str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        outage = as_unavailable(exc)
        if outage is not None:
            log.warning("%s %s: %s", request.method, request.url.path, outage.message)
            return error(request, outage.http_status, outage.kind, outage.message)
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error(request, 500, "ImgSearchError", "internal error: see the gateway log")


def _error(status: int, kind: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": kind, "message": message}, status_code=status, headers=headers)


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"
