"""REST routes of ingest sessions: create, list, get, pause / resume / cancel, failures
(mounted by api/http.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from imgsearch.gateway.api import session_schemas as s
from imgsearch.gateway.sessions import MAX_OFFSET, MAX_PAGE, IngestSessions

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
State = Annotated[
    Literal["discovering", "running", "paused", "cancelled", "done"] | None,
    Query(description="only sessions in this state"),
]


def session_routes(sessions: IngestSessions, errors: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(prefix="/api/v1/sessions", responses=errors, tags=["sessions"])

    @router.post("", status_code=201, response_model=s.Session)
    async def create_session(body: s.CreateSession) -> s.Session:
        return s.Session.of(await sessions.create(
            body.path, body.subdirectories, body.priority, body.include, body.exclude
        ))

    @router.get("", response_model=s.SessionPage)
    async def list_sessions(state: State = None, limit: Limit = 50, offset: Offset = 0) -> s.SessionPage:
        views, total = await sessions.list_sessions(state, limit, offset)
        return s.SessionPage(sessions=[s.Session.of(v) for v in views], total=total)

    @router.get("/{session_id}", response_model=s.Session)
    async def get_session(session_id: int) -> s.Session:
        return s.Session.of(await sessions.get(session_id))

    @router.post("/{session_id}/pause", response_model=s.Session)
    async def pause_session(session_id: int) -> s.Session:
        return s.Session.of(await sessions.pause(session_id))

    @router.post("/{session_id}/resume", response_model=s.Session)
    async def resume_session(session_id: int) -> s.Session:
        return s.Session.of(await sessions.resume(session_id))

    @router.post("/{session_id}/cancel", response_model=s.Session)
    async def cancel_session(session_id: int) -> s.Session:
        return s.Session.of(await sessions.cancel(session_id))

    @router.get("/{session_id}/failures", response_model=s.FailurePage)
    async def session_failures(session_id: int, limit: Limit = 50, offset: Offset = 0) -> s.FailurePage:
        failures, total = await sessions.failures(session_id, limit, offset)
        return s.FailurePage(files=[s.Failure.of(f) for f in failures], total=total)

    return router
