"""Ingest sessions as the gateway offers them (REST api/http_sessions.py, gRPC api/grpc_sessions.py):
checked paths in, the session with its progress out. The session lives in PostgreSQL; a command on the
bus wakes the ingest service for it (which also finds it on its own within seconds)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from imgsearch.common.db.session_records import FileFailure, ProgressReport, SessionRecord, priority_value
from imgsearch.common.db.sessions import check_subdirectory
from imgsearch.common.errors import InvalidInput, NotFound, OutsideLibrary, Unavailable
from imgsearch.gateway.files import PATH_ERRORS, LibraryRoots, check_path_text
from imgsearch.gateway.progress_cache import ProgressCache
from imgsearch.gateway.service import check_ingest_request

log = logging.getLogger(__name__)
MAX_SUBDIRECTORIES = 1000
MAX_PAGE = 200
MAX_OFFSET = 1_000_000


class SessionStore(Protocol):
    """imgsearch.common.db.sessions.SessionRepository."""

    async def create(self, root: Path, subdirectories: Sequence[str], priority: str, include: Sequence[str],
                     exclude: Sequence[str], origin: str = "user", files: None = None,
                     request_id: str | None = None) -> int: ...
    async def get(self, session_id: int) -> SessionRecord | None: ...
    async def list_sessions(self, state: str | None = None, limit: int = 50, offset: int = 0
                            ) -> tuple[list[SessionRecord], int]: ...
    async def pause(self, session_id: int) -> SessionRecord: ...
    async def resume(self, session_id: int) -> SessionRecord: ...
    async def cancel(self, session_id: int) -> SessionRecord: ...
    async def failures(self, session_id: int, limit: int = 50, offset: int = 0
                       ) -> tuple[list[FileFailure], int]: ...
    async def report(self, session_id: int, now: datetime | None = None) -> ProgressReport: ...


# wake(session id, folder): tell the ingest service a session is there (publishes IngestRequested)
SessionWaker = Callable[[int, Path], Awaitable[object]]


@dataclass(frozen=True)
class SessionView:
    record: SessionRecord
    report: ProgressReport


class IngestSessions:
    def __init__(self, store: SessionStore, library: LibraryRoots, wake: SessionWaker,
                 progress: ProgressCache | None = None) -> None:
        self.store, self.library, self.wake = store, library, wake
        self.progress = progress if progress is not None else ProgressCache()

    async def create(self, path: str, subdirectories: Sequence[str] = (), priority: str = "normal",
                     include: Sequence[str] = (), exclude: Sequence[str] = ()) -> SessionView:
        check_ingest_request(path, include, exclude)
        priority = priority or "normal"
        priority_value(priority)
        folder = self.library.folder(path)
        subs = self.subdirectories(folder, subdirectories)
        session_id = await self.store.create(folder, subs, priority, list(include), list(exclude))
        await self._wake(session_id, folder)
        return await self.get(session_id)

    async def _wake(self, session_id: int, folder: Path) -> None:
        """The session is stored already: a bus that is away only delays it (the ingest service looks
        for open sessions on its own). Failing here would make the client retry into a second session."""
        try:
            await self.wake(session_id, folder)
        except Unavailable as exc:
            log.warning("session %d stored, but the ingest service was not told (%s): it finds it itself",
                        session_id, exc)

    def subdirectories(self, folder: Path, raw: Sequence[str]) -> list[str]:
        """Plain relative names of existing folders inside folder (links too, while they stay inside)."""
        if len(raw) > MAX_SUBDIRECTORIES:
            raise InvalidInput(f"{len(raw)} subdirectories; at most {MAX_SUBDIRECTORIES} are allowed")
        subs: list[str] = []
        for name in raw:
            check_path_text(name, "subdirectory")
            sub = check_subdirectory(name)
            try:
                real = (folder / sub).resolve()
                exists, is_dir = real.exists(), real.is_dir()
            except PATH_ERRORS as exc:
                raise InvalidInput(f"subdirectory {name!r} cannot be resolved: {exc}") from exc
            if not self.library.contains(real):
                raise OutsideLibrary(f"subdirectory {name!r} leads outside the library roots")
            if not real.is_relative_to(folder):
                raise InvalidInput(f"subdirectory {name!r} leads outside {folder}")
            if not exists:
                raise NotFound(f"subdirectory {name!r} does not exist in {folder}")
            if not is_dir:
                raise InvalidInput(f"subdirectory {name!r} is not a directory")
            if sub not in subs:
                subs.append(sub)
        return subs

    async def get(self, session_id: int) -> SessionView:
        record = await self.store.get(session_id)
        if record is None:
            raise NotFound(f"no ingest session {session_id}")
        return await self._view(record)

    async def _view(self, record: SessionRecord) -> SessionView:
        """The record with its progress (cached a moment: the report aggregates the whole session)."""
        return SessionView(record, await self.progress.report(record, self.store.report))

    async def _changed(self, record: SessionRecord) -> SessionView:
        self.progress.forget(record.id)
        return await self._view(record)

    async def list_sessions(self, state: str | None, limit: int, offset: int
                            ) -> tuple[list[SessionView], int]:
        _check_page(limit, offset)
        records, total = await self.store.list_sessions(state or None, limit, offset)
        return [await self._view(r) for r in records], total

    async def pause(self, session_id: int) -> SessionView:
        return await self._changed(await self.store.pause(session_id))

    async def resume(self, session_id: int) -> SessionView:
        record = await self.store.resume(session_id)
        await self._wake(record.id, Path(record.root))
        return await self._changed(record)

    async def cancel(self, session_id: int) -> SessionView:
        return await self._changed(await self.store.cancel(session_id))

    async def failures(self, session_id: int, limit: int, offset: int) -> tuple[list[FileFailure], int]:
        _check_page(limit, offset)
        if await self.store.get(session_id) is None:
            raise NotFound(f"no ingest session {session_id}")
        return await self.store.failures(session_id, limit, offset)


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be 0..{MAX_OFFSET}")

