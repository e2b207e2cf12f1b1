"""IngestRequested commands → ingest sessions. The command is acked once its session exists and its
folder walk has started: the session (PostgreSQL), not the command, carries the work from then on.

A command with a session id wakes the service for a session made elsewhere (the gateway); one without
makes a session for its path (the runner's --ingest, older clients), once per request id."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from google.protobuf.message import DecodeError

from imgsearch.common.bus import Delivery
from imgsearch.common.db.session_records import SessionRecord
from imgsearch.common.errors import InvalidInput, NotFound
from imgsearch.events.v1.events_pb2 import IngestRequested
from imgsearch.ingest.domain import resolve_request

log = logging.getLogger(__name__)


class SessionMaker(Protocol):
    """imgsearch.common.db.sessions.SessionRepository."""

    async def create(self, root: Path, subdirectories: Sequence[str], priority: str, include: Sequence[str],
                     exclude: Sequence[str], origin: str = "user", files: None = None,
                     request_id: str | None = None) -> int: ...
    async def get(self, session_id: int) -> SessionRecord | None: ...


class IngestCommandHandler:
    def __init__(self, sessions: SessionMaker, roots: Sequence[Path], start_discovery: Callable[[int], None],
                 wake: Callable[[], None]) -> None:
        self.sessions, self.roots = sessions, tuple(roots)
        self.start_discovery, self.wake = start_discovery, wake

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
                session_id = await self.accept(request)
                log.info("ingest %s of %s: session %d", request.request_id, request.path, session_id)
                outcomes.append(None)
            except Exception as exc:
                log.warning("ingest %s of %s: %r", request.request_id, request.path, exc)
                outcomes.append(exc)
        return outcomes

    async def accept(self, request: IngestRequested) -> int:
        """The session of this request (made now if it has none), its walk started."""
        if request.session_id:
            session = await self.sessions.get(request.session_id)
            if session is None:
                raise NotFound(f"no ingest session {request.session_id}")
            session_id = session.id
        else:
            target, _ = await asyncio.to_thread(resolve_request, request.path, self.roots)
            session_id = await self.sessions.create(
                target, [], request.priority or "normal", list(request.include), list(request.exclude),
                request_id=request.request_id or None,
            )
        self.start_discovery(session_id)
        self.wake()
        return session_id
