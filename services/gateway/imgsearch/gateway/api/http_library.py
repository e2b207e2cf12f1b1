"""REST routes of the library API: GET /api/v1/browse and GET /api/v1/duplicates (mounted by api/http.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from imgsearch.gateway.api import library_schemas as s
from imgsearch.gateway.library import MAX_PATH_CHARS, LibraryCatalog
from imgsearch.gateway.paging import DEFAULT_PAGE, MAX_OFFSET, MAX_PAGE


def library_routes(catalog: LibraryCatalog, errors: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=errors, tags=["library"])

    @router.get("/browse", response_model=s.BrowseListing)
    async def browse(
        path: Annotated[str | None, Query(
            max_length=MAX_PATH_CHARS,
            description="absolute folder under a library root; left out: the library roots",
        )] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="directories per page")] = DEFAULT_PAGE,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="directories to skip")] = 0,
    ) -> s.BrowseListing:
        return s.BrowseListing.from_listing(await catalog.browse(path, limit, offset))

    @router.get("/duplicates", response_model=s.DuplicateGroups)
    async def duplicates(
        kind: Annotated[Literal["exact", "near"], Query(
            description="exact: one image (same content) at several paths; near: similar pictures "
            "(perceptual hash: re-encodings, resizes, crops, colour edits)",
        )] = "near",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="groups per page")] = DEFAULT_PAGE,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="groups to skip")] = 0,
    ) -> s.DuplicateGroups:
        return s.DuplicateGroups.from_page(await catalog.duplicates(kind, limit, offset))

    return router
