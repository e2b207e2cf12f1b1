"""gRPC Sessions service (imgsearch.api.v1.Sessions): the REST ingest-session operations, same checks."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from imgsearch.api.v1 import sessions_pb2 as pb
from imgsearch.api.v1 import sessions_pb2_grpc
from imgsearch.common.db.session_records import SessionProgress
from imgsearch.gateway.api.grpc_errors import answer
from imgsearch.gateway.sessions import IngestSessions, SessionView
from imgsearch.search.messages import timestamp

Context: TypeAlias = grpc.aio.ServicerContext
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Sessions"].full_name
DEFAULT_PAGE = 50


class SessionsServicer(sessions_pb2_grpc.SessionsServicer):
    def __init__(self, sessions: IngestSessions) -> None:
        self.sessions = sessions

    async def CreateSession(self, request: pb.CreateSessionRequest, context: Context) -> pb.Session:
        view = await answer(context, self.sessions.create(
            request.path, list(request.subdirectories), request.priority or "normal", list(request.include),
            list(request.exclude),
        ))
        return session_message(view)

    async def GetSession(self, request: pb.GetSessionRequest, context: Context) -> pb.Session:
        return session_message(await answer(context, self.sessions.get(request.id)))

    async def ListSessions(self, request: pb.ListSessionsRequest, context: Context
                           ) -> pb.ListSessionsResponse:
        views, total = await answer(context, self.sessions.list_sessions(
            request.state or None, request.limit or DEFAULT_PAGE, request.offset
        ))
        return pb.ListSessionsResponse(sessions=[session_message(v) for v in views], total=total)

    async def PauseSession(self, request: pb.SessionActionRequest, context: Context) -> pb.Session:
        return session_message(await answer(context, self.sessions.pause(request.id)))

    async def ResumeSession(self, request: pb.SessionActionRequest, context: Context) -> pb.Session:
        return session_message(await answer(context, self.sessions.resume(request.id)))

    async def CancelSession(self, request: pb.SessionActionRequest, context: Context) -> pb.Session:
        return session_message(await answer(context, self.sessions.cancel(request.id)))

    async def ListSessionFailures(self, request: pb.ListSessionFailuresRequest, context: Context
                                  ) -> pb.ListSessionFailuresResponse:
        failures, total = await answer(context, self.sessions.failures(
            request.id, request.limit or DEFAULT_PAGE, request.offset
        ))
        return pb.ListSessionFailuresResponse(total=total, files=[
            pb.SessionFailure(path=f.path, stage=f.stage, reason=f.reason) for f in failures
        ])


def session_message(view: SessionView) -> pb.Session:
    r = view.record
    message = pb.Session(
        id=r.id, path=r.root, subdirectories=r.subdirectories, priority=r.priority, state=r.state,
        origin=r.origin, created_at=timestamp(r.created_at), updated_at=timestamp(r.updated_at),
        progress=progress_message(view.report.total),
        subdirectory_progress=[
            pb.SubdirectoryProgress(subdirectory=sub, progress=progress_message(p))
            for sub, p in view.report.subdirectories
        ],
    )
    if r.finished_at is not None:
        message.finished_at.CopyFrom(timestamp(r.finished_at))
    return message


def progress_message(progress: SessionProgress) -> pb.SessionProgress:
    rates = progress.rates
    return pb.SessionProgress(
        discovered=progress.discovered, ingested=progress.ingested, embedded=progress.embedded,
        faces_done=progress.faces_done, failed=progress.failed,
        discovery_complete=progress.discovery_complete, percent=progress.percent,
        rates=pb.StageRates(ingested=rates.ingested, embedded=rates.embedded, faces_done=rates.faces_done),
        eta_s=progress.eta_s or 0.0, has_eta=progress.eta_s is not None,
    )


def add_sessions_service(server: grpc.aio.Server, sessions: IngestSessions) -> str:
    """Register the servicer; returns its full name (for health and reflection)."""
    sessions_pb2_grpc.add_SessionsServicer_to_server(  # type: ignore[no-untyped-call]
        SessionsServicer(sessions), server
    )
    return SERVICE_NAME
