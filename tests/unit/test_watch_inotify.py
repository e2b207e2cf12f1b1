"""inotify through ctypes on a real tmp tree, and the watcher loop that turns its events into passes."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from imgsearch.common.settings import WatchSettings
from imgsearch.ingest.inotify import Inotify
from imgsearch.ingest.rescan import LibraryRescan, RescanReport
from imgsearch.ingest.scan import PathFilter
from imgsearch.ingest.watch import LibraryWatcher

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux only")


def changed(inotify: Inotify) -> tuple[set[Path], bool]:
    folders: set[Path] = set()
    everything = inotify.read(folders.add)
    return folders, everything


def test_events_name_the_folders_that_changed(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    (root / "a").mkdir()
    (root / ".hidden").mkdir()
    inotify = Inotify([root], PathFilter.of([], [".*"]))
    try:
        assert inotify.watched == 2  # root and a; the excluded folder is not watched
        assert changed(inotify) == (set(), False)
        (root / "a" / "x.jpg").write_bytes(b"x")
        assert changed(inotify) == ({root / "a"}, False)
        (root / "b" / "c").mkdir(parents=True)
        folders, _ = changed(inotify)
        assert root / "b" in folders
        assert inotify.watched == 4  # the new folders are watched at once
        os.rename(root / "a" / "x.jpg", root / "b" / "c" / "x.jpg")
        assert changed(inotify)[0] == {root / "a", root / "b" / "c"}
        (root / "b" / "c" / "x.jpg").unlink()
        assert changed(inotify)[0] == {root / "b" / "c"}
    finally:
        inotify.close()


def library(tmp_path: Path) -> Path:
    root = tmp_path.resolve()
    (root / "a").mkdir()
    return root


class RecordingRescan(LibraryRescan):
    def __init__(self) -> None:
        self.passes: list[list[Path] | None] = []
        self.happened = asyncio.Event()

    async def run(self, folders: Sequence[Path] | None = None) -> RescanReport:
        self.passes.append(None if folders is None else list(folders))
        self.happened.set()
        return RescanReport()


async def test_an_event_brings_a_folder_pass_long_before_the_next_rescan(tmp_path: Path) -> None:
    root = library(tmp_path)
    rescan = RecordingRescan()
    settings = WatchSettings(rescan_interval_s=3600, debounce_s=0.05)
    watcher = LibraryWatcher(rescan, [root], PathFilter(), settings)
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    try:
        await asyncio.wait_for(rescan.happened.wait(), 30)
        assert rescan.passes == [None] and watcher.events  # the full pass at start
        rescan.happened.clear()
        (root / "a" / "x.jpg").write_bytes(b"x")
        await asyncio.wait_for(rescan.happened.wait(), 30)
        assert rescan.passes[1:] == [[root / "a"]]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_without_events_the_periodic_rescan_still_runs(tmp_path: Path) -> None:
    rescan = RecordingRescan()
    watcher = LibraryWatcher(rescan, [tmp_path], PathFilter(),
                             WatchSettings(rescan_interval_s=0.05, inotify=False))
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    try:
        while len(rescan.passes) < 3:
            await asyncio.wait_for(rescan.happened.wait(), 30)
            rescan.happened.clear()
        assert set(map(str, rescan.passes)) == {"None"} and not watcher.events
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
