"""Build the library watcher from settings and deps (the ingest service runs it beside its consumer)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from imgsearch.common.deps import Deps
from imgsearch.common.settings import Settings
from imgsearch.ingest.rescan import LibraryRescan
from imgsearch.ingest.scan import PathFilter
from imgsearch.ingest.watch import LibraryWatcher
from imgsearch.ingest.watch_locks import RootLocks
from imgsearch.ingest.watch_repository import WatchRepository
from imgsearch.ingest.watch_sessions import WatchSessions

log = logging.getLogger(__name__)


def build_watcher(settings: Settings, deps: Deps) -> LibraryWatcher:
    roots = tuple(root.expanduser().resolve() for root in settings.library_roots)
    path_filter = PathFilter.of(settings.ingest.include, settings.ingest.exclude)
    rescan = LibraryRescan(
        roots, path_filter, WatchRepository(deps.pool), WatchSessions(deps.pool), deps.bus,
        Path(settings.thumbnails_dir), import_new_folders=settings.watch.import_new_folders,
        chunk=settings.watch.chunk, locks=RootLocks(deps.pool),
    )
    return LibraryWatcher(rescan, roots, path_filter, settings.watch)


async def watch_library(settings: Settings, deps: Deps, stop: asyncio.Event) -> None:
    """Watch the library roots until stop is set (returns at once when watching is off or has no roots).
    First, the watch sessions an interrupted pass left open over roots no longer watched are closed (all of
    them when watching is off): no pass would ever close them."""
    watching = settings.watch.enabled and bool(settings.library_roots)
    roots = [root.expanduser().resolve() for root in settings.library_roots] if watching else []
    try:
        for session in await WatchSessions(deps.pool).close_outside(roots):
            log.info("watch session %d: closed, left open over a root no longer watched", session)
    except Exception as exc:  # PostgreSQL away: the next start tries again
        log.warning("watch sessions left open not closed now: %r", exc)
    if not watching:
        return
    await build_watcher(settings, deps).run(stop)
