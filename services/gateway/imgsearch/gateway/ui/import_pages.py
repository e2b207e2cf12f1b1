"""UI pages /import, /import/sessions/{session_id}: choose folders, follow sessions.

/import browses the library (gateway.catalog) and starts a session (gateway.sessions) over the current
folder or the subdirectories ticked in it; /import/sessions/{id} shows a session's progress, its
subdirectories and failed files, with Pause / Resume / Cancel. static/import.js keeps the numbers current
by polling the REST API; without it a meta refresh does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse

from imgsearch.common.db.session_records import PRIORITIES, FileFailure
from imgsearch.common.errors import Unavailable
from imgsearch.gateway.library import MAX_PATH_CHARS, LibraryCatalog
from imgsearch.gateway.service import Gateway
from imgsearch.gateway.sessions import MAX_OFFSET, IngestSessions, SessionView
from imgsearch.gateway.ui import import_view as v
from imgsearch.gateway.ui.render import Pages, query, redirect

DIRECTORIES_PAGE = 100
SESSIONS_PAGE = 20
FAILURES_PAGE = 50
SUBDIRECTORIES_PAGE = 50
REFRESH_S = 5  # the <noscript> meta refresh of a session that is still moving
NOT_AVAILABLE = ("Import is not available here: this gateway runs without the library catalog and the "
                 "ingest session store (PostgreSQL).")

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
SessionId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
FolderQuery = Annotated[str | None, Query(max_length=MAX_PATH_CHARS)]


def import_pages(gateway: Gateway, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def parts() -> tuple[LibraryCatalog, IngestSessions]:
        if gateway.catalog is None or gateway.sessions is None:
            raise Unavailable(NOT_AVAILABLE)
        return gateway.catalog, gateway.sessions

    @router.get("/import")
    async def import_page(request: Request, path: FolderQuery = None, offset: Offset = 0,
                          sessions_offset: Offset = 0) -> HTMLResponse:
        if gateway.catalog is None or gateway.sessions is None:
            return pages.render(request, "import.html", {"available": False, "unavailable": NOT_AVAILABLE})
        catalog, sessions = gateway.catalog, gateway.sessions
        roots = gateway.library.roots
        if not path and len(roots) == 1:  # one root: start inside it
            path = str(roots[0])
        listing = await catalog.browse(path or None, DIRECTORIES_PAGE, offset)  # counts only this page

        def folder_url(folder: str | None, at: int = 0) -> str:
            return query("/import", path=folder, offset=at or None)

        def sessions_url(at: int) -> str:
            return query("/import", path=listing.path, offset=offset or None, sessions_offset=at or None)

        views, total = await sessions.list_sessions(None, SESSIONS_PAGE, sessions_offset)
        return pages.render(request, "import.html", {
            "available": True, "listing": listing, "folder": listing.path,
            "crumbs": v.breadcrumb(listing, folder_url, len(roots) > 1),
            "rows": v.directory_rows(listing, offset, folder_url),
            "directories": v.pager(offset, DIRECTORIES_PAGE, listing.total,
                                   lambda at: folder_url(listing.path, at)),
            "priorities": PRIORITIES, "sessions": [v.session_row(view) for view in views],
            "sessions_pager": v.pager(sessions_offset, SESSIONS_PAGE, total, sessions_url),
        })

    @router.post("/import")
    async def start_import(
        path: Annotated[str, Form(min_length=1, max_length=MAX_PATH_CHARS)],
        subdirectories: Annotated[list[str] | None, Form()] = None,
        priority: Annotated[str, Form(max_length=20)] = "normal",
    ) -> RedirectResponse:
        _, sessions = parts()
        view = await sessions.create(path, subdirectories or [], priority)
        return redirect(f"/import/sessions/{view.record.id}",
                        f"Import started: {v.ticked(view.record.subdirectories)} of {view.record.root}.")

    @router.get("/import/sessions/{session_id}")
    async def session_page(request: Request, session_id: SessionId, offset: Offset = 0,
                           subdirectories_offset: Offset = 0) -> HTMLResponse:
        _, sessions = parts()
        view = await sessions.get(session_id)
        failures, failed = await sessions.failures(session_id, FAILURES_PAGE, offset)
        return pages.render(request, "import_session.html", _session_context(
            view, failures, failed, offset, subdirectories_offset))

    @router.post("/import/sessions/{session_id}/pause")
    async def pause(session_id: SessionId) -> RedirectResponse:
        return _changed(await parts()[1].pause(session_id), "Paused")

    @router.post("/import/sessions/{session_id}/resume")
    async def resume(session_id: SessionId) -> RedirectResponse:
        return _changed(await parts()[1].resume(session_id), "Resumed")

    @router.post("/import/sessions/{session_id}/cancel")
    async def cancel(session_id: SessionId) -> RedirectResponse:
        return _changed(await parts()[1].cancel(session_id), "Cancelled")

    return router


def _session_context(view: SessionView, failures: list[FileFailure], failed: int, offset: int,
                     subdirectories_offset: int) -> dict[str, Any]:
    session_id = view.record.id
    base = f"/import/sessions/{session_id}"
    subdirectories = v.subdirectory_summaries(view)

    def page_url(failures_at: int, subdirectories_at: int) -> str:
        return query(base, offset=failures_at or None, subdirectories_offset=subdirectories_at or None)

    def failures_url(at: int) -> str:
        return page_url(at, subdirectories_offset) + "#failures"

    def subdirectories_url(at: int) -> str:
        return page_url(offset, at) + "#subdirectories"

    return {
        "s": v.session_row(view),
        "self_url": page_url(offset, subdirectories_offset),
        "refresh_s": REFRESH_S,
        "subdirectories": subdirectories[subdirectories_offset:subdirectories_offset + SUBDIRECTORIES_PAGE],
        "subdirectories_pager": v.pager(subdirectories_offset, SUBDIRECTORIES_PAGE, len(subdirectories),
                                        subdirectories_url),
        "failures": failures, "failures_pager": v.pager(offset, FAILURES_PAGE, failed, failures_url),
    }


def _changed(view: SessionView, done: str) -> RedirectResponse:
    record = view.record
    return redirect(f"/import/sessions/{record.id}", f"{done}: session {record.id} is {record.state}.")
