"""Discovery: walk a session's folders and write what is found as its files, in chunks.

One task per session, beside the claim loop: files are read while the walk goes on. The walk is
resumable the simple way: after a restart it runs again from the start and the insert ignores the
files already there (ON CONFLICT DO NOTHING). A paused session's walk waits; a cancelled one stops.
keep_walking looks for open sessions whose walk is not running (made while the bus was away, or a walk
that PostgreSQL interrupted) and starts them again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from imgsearch.common.db.session_work import DiscoveryJob
from imgsearch.common.runtime import sleep_unless_stopped
from imgsearch.ingest.scan import PathFilter, ScannedFile, inside, scan, storable, take

log = logging.getLogger(__name__)
PAUSE_POLL_S = 1.0
REWALK_S = 10.0  # how often keep_walking looks for open sessions without a running walk


class DiscoveryStore(Protocol):
    """imgsearch.common.db.session_work.SessionWork."""

    async def discovery_job(self, session_id: int) -> DiscoveryJob | None: ...
    async def discovery_state(self, session_id: int) -> str: ...
    async def add_files(self, session_id: int, files: Sequence[ScannedFile], subdirectory: str) -> None: ...
    async def complete_discovery(self, session_id: int) -> None: ...
    async def undiscovered(self) -> list[int]: ...


class Discovery:
    def __init__(self, store: DiscoveryStore, roots: Sequence[Path], default_include: Sequence[str],
                 default_exclude: Sequence[str], chunk: int, stop: asyncio.Event,
                 on_files: Callable[[], None] = lambda: None) -> None:
        self.store, self.roots, self.chunk, self.stop = store, tuple(roots), max(1, chunk), stop
        self.default_include, self.default_exclude = tuple(default_include), tuple(default_exclude)
        self.on_files = on_files
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def start(self, session_id: int) -> None:
        """Walk the session's folders unless a walk of it runs already."""
        task = self._tasks.get(session_id)
        if task is not None and not task.done():
            return
        self._tasks[session_id] = asyncio.create_task(
            self._guarded(session_id), name=f"discover-{session_id}"
        )

    async def keep_walking(self, interval_s: float = REWALK_S) -> None:
        """Until stop: start the walk of every open session not yet discovered (at once, then every
        interval_s); a walk that runs already is left alone. PostgreSQL away: logged, tried again."""
        while not self.stop.is_set():
            self._tasks = {sid: task for sid, task in self._tasks.items() if not task.done()}
            try:
                for session_id in await self.store.undiscovered():
                    self.start(session_id)
            except Exception as exc:
                log.warning("could not look for sessions to walk: %r", exc)
            await sleep_unless_stopped(self.stop, interval_s)

    async def close(self) -> None:
        """Stop the walks (stop is set: each ends after its current chunk) and wait for them."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _guarded(self, session_id: int) -> None:
        try:
            await self.discover(session_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # PostgreSQL gone: keep_walking starts the walk again
            log.warning("discovery of session %d stopped: %r", session_id, exc)

    async def discover(self, session_id: int) -> bool:
        """Walk the session to the end; False when it stopped early (shutdown, cancel)."""
        job = await self.store.discovery_job(session_id)
        if job is None or not await self._may_go_on(session_id):  # gone, cancelled or walked already
            return False
        path_filter = PathFilter.of(
            list(job.include) or self.default_include, [*self.default_exclude, *job.exclude]
        )
        found = 0
        for folder, label in self._folders(job):
            files = scan(folder, self.roots, path_filter)
            try:
                while chunk := await asyncio.to_thread(take, files, self.chunk):
                    if not await self._may_go_on(session_id):
                        return False
                    keyed = [f for f in chunk if storable(f.path)]
                    await self.store.add_files(session_id, keyed, label)
                    found += len(keyed)
                    self.on_files()
            finally:
                with contextlib.suppress(ValueError):  # still running in its thread after a cancel
                    files.close()
        if not await self._may_go_on(session_id):
            return False
        await self.store.complete_discovery(session_id)
        self.on_files()
        log.info("session %d: discovery complete, %d files", session_id, found)
        return True

    def _folders(self, job: DiscoveryJob) -> list[tuple[Path, str]]:
        """(folder to walk, its label); a subdirectory that no longer lies inside the session's folder
        (a link changed since the session was made) is skipped."""
        if not job.subdirectories:
            return [(job.root, "")]
        folders = []
        for sub in job.subdirectories:
            try:
                real = (job.root / sub).resolve(strict=True)
            except (OSError, RuntimeError) as exc:
                log.warning("session %d: skipping subdirectory %s: %s", job.id, sub, exc)
                continue
            if inside(real, [job.root]) is None or inside(real, self.roots) is None:
                log.warning("session %d: subdirectory %s leads outside the folder: skipped", job.id, sub)
                continue
            folders.append((real, sub))
        return folders

    async def _may_go_on(self, session_id: int) -> bool:
        while not self.stop.is_set():
            state = await self.store.discovery_state(session_id)
            if state != "paused":
                return state == "go"
            await sleep_unless_stopped(self.stop, PAUSE_POLL_S)
        return False
