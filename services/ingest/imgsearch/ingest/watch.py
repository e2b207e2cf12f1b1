"""The library watcher: a rescan at start, file-system events (inotify) rescanning the folders they name
after a short debounce, and a full rescan every ``rescan_interval_s`` — the ground truth whatever the
events missed. Passes never overlap; a failed pass (PostgreSQL or NATS away) is retried."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from imgsearch.common.runtime import sleep_unless_stopped
from imgsearch.common.settings import WatchSettings
from imgsearch.ingest.inotify import Inotify
from imgsearch.ingest.rescan import LibraryRescan, RescanReport
from imgsearch.ingest.scan import PathFilter

log = logging.getLogger(__name__)
RETRY_S = 30.0


class LibraryWatcher:
    def __init__(self, rescan: LibraryRescan, roots: Sequence[Path], path_filter: PathFilter,
                 settings: WatchSettings) -> None:
        self.rescan = rescan
        self.roots = tuple(roots)
        self.path_filter = path_filter
        self.settings = settings
        self.passes = 0  # finished passes (tests and logs)
        self.events = False  # whether file-system events feed it

    async def run(self, stop: asyncio.Event) -> None:
        inotify = await self._open_inotify()
        self.events = inotify is not None
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()

        def readable() -> None:  # level-triggered: stop listening until the events are read
            assert inotify is not None
            loop.remove_reader(inotify.fd)
            wake.set()

        if inotify is not None:
            loop.add_reader(inotify.fd, readable)
        interval = self.settings.rescan_interval_s
        everything, dirty = True, set[Path]()
        due = time.monotonic()  # the next full rescan (the first one now)
        try:
            while not stop.is_set():
                if not everything and not dirty:
                    wait_s = max(0.0, due - time.monotonic()) if interval > 0 else None
                    await _first(stop, wake, wait_s)
                    if stop.is_set():
                        break
                if wake.is_set():
                    wake.clear()
                    await sleep_unless_stopped(stop, self.settings.debounce_s)  # gather the rest of a burst
                    assert inotify is not None
                    everything |= await asyncio.to_thread(inotify.read, dirty.add)
                    loop.add_reader(inotify.fd, readable)
                if interval > 0 and time.monotonic() >= due:
                    everything, due = True, time.monotonic() + interval
                folders = None if everything else sorted(dirty)
                everything, dirty = False, set()
                if (folders is None or folders) and not await self._pass(folders):
                    everything, dirty = folders is None, set(folders or ())
                    await sleep_unless_stopped(stop, RETRY_S)
        finally:
            if inotify is not None:
                loop.remove_reader(inotify.fd)
                inotify.close()

    async def _pass(self, folders: list[Path] | None) -> bool:
        try:
            report: RescanReport = await self.rescan.run(folders)
        except Exception as exc:
            log.warning("library rescan failed (retried in %.0f s): %r", RETRY_S, exc)
            return False
        self.passes += 1
        scope = "library" if folders is None else f"{len(folders)} folder(s)"
        if report.quiet:
            log.debug("rescan of the %s: no change (%d files)", scope, report.scanned)
        else:
            log.info("rescan of the %s: %s", scope, report)
        return True

    async def _open_inotify(self) -> Inotify | None:
        if not self.settings.inotify or not Inotify.available():
            log.info("watching the library by rescans every %.0f s", self.settings.rescan_interval_s)
            return None
        try:
            inotify = await asyncio.to_thread(Inotify, self.roots, self.path_filter)
        except OSError as exc:
            log.warning("inotify unavailable (%s): watching the library by periodic rescans only", exc)
            return None
        log.info("watching %d folders of the library with inotify", inotify.watched)
        return inotify


async def _first(stop: asyncio.Event, wake: asyncio.Event, wait_s: float | None) -> None:
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waits, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            waiter.cancel()

