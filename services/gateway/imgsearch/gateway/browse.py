"""The directory browser: the library roots' subdirectories with how many image files each holds.

Counts are recursive and cached per directory, keyed by its real path and checked against the directory's
mtime (which changes whenever an entry is added, removed or renamed in it): a refresh stats every
directory below and lists only those that changed. The cache holds a bounded number of directories
(least recently used go first). Hidden files, NAS metadata, sidecars and videos — the ingest's default
exclude patterns — are not counted, nor entered. A symlink is followed only when it leads inside a root,
and each directory is counted once per request, so loops end.

Counting walks the disk: it runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from imgsearch.common.errors import NotFound
from imgsearch.gateway.files import PATH_ERRORS, LibraryRoots
from imgsearch.ingest.scan import PathFilter

IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".heif",
    ".avif", ".jxl",
})

# A directory changed this recently may change again without its mtime moving (coarse file-system
# clocks): its listing is used but not cached.
_RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class DirectoryEntry:
    name: str
    path: str
    image_files: int  # recursive
    subdirectories: int  # immediate, counted ones


@dataclass(frozen=True)
class Listing:
    path: str | None  # None: the list of library roots
    root: str | None
    directories: list[DirectoryEntry]  # the page asked for (all of them when no limit was given)
    image_files: int  # recursive, under path (or every root)
    total: int  # directories in path (or roots), whatever the page


@dataclass(frozen=True)
class _Scanned:
    mtime_ns: int
    images: int  # files directly in the directory
    children: tuple[tuple[str, str], ...]  # (name, real path) of the subdirectories to count


class DirectoryBrowser:
    def __init__(self, library: LibraryRoots, exclude: Sequence[str], max_cached: int = 100_000) -> None:
        self.library = library
        self.filter = PathFilter.of((), exclude)
        self.max_cached = max(1, max_cached)
        self._cache: OrderedDict[str, _Scanned] = OrderedDict()
        self._lock = threading.Lock()

    async def browse(self, raw: str | None, limit: int | None = None, offset: int = 0) -> Listing:
        """raw: an absolute folder under a root (or relative to the first root); None or '': the roots.
        limit / offset: the page of subdirectories (by name) to count; None: all of them."""
        page = slice(offset, None if limit is None else offset + limit)
        if raw is None or not raw.strip():
            return await asyncio.to_thread(self._roots, page)
        return await asyncio.to_thread(self._listing, raw, page)

    def _roots(self, page: slice) -> Listing:
        walk: dict[str, _Scanned | None] = {}
        roots = self.library.roots
        entries = [self._entry(root.name or str(root), root, walk) for root in roots[page]]
        total = self._count([str(root) for root in roots], walk)
        return Listing(None, None, entries, total, len(roots))

    def _listing(self, raw: str, page: slice) -> Listing:
        folder = self.library.folder(raw)  # '..', links out, missing, not a folder: refused here
        root = max((r for r in self.library.roots if folder.is_relative_to(r)), key=lambda r: len(r.parts))
        walk: dict[str, _Scanned | None] = {}
        scanned = self._scan(str(folder), walk)
        if scanned is None:
            raise NotFound(f"{folder} cannot be listed")
        entries = [self._entry(name, folder / name, walk, exclude=str(folder))
                   for name, _ in scanned.children[page]]
        return Listing(str(folder), str(root), entries, self._count([str(folder)], walk),
                       len(scanned.children))

    def _entry(self, name: str, path: Path, walk: dict[str, _Scanned | None], exclude: str = ""
               ) -> DirectoryEntry:
        real = os.path.realpath(path)
        scanned = self._scan(real, walk)
        if scanned is None:
            return DirectoryEntry(name, str(path), 0, 0)
        return DirectoryEntry(name, str(path), self._count([real], walk, exclude), len(scanned.children))

    def _count(self, tops: list[str], walk: dict[str, _Scanned | None], exclude: str = "") -> int:
        """Image files under the directories, each counted once (links may lead to one twice, or back up)."""
        total, stack, seen = 0, list(tops), {exclude}
        while stack:
            directory = stack.pop()
            if directory in seen:
                continue
            seen.add(directory)
            scanned = self._scan(directory, walk)
            if scanned is not None:
                total += scanned.images
                stack.extend(child for _, child in scanned.children)
        return total

    def _scan(self, key: str, walk: dict[str, _Scanned | None]) -> _Scanned | None:
        """A directory's own counts: from the cache while its mtime is unchanged, else listed again.
        walk remembers what this request has checked already: one stat per directory and request."""
        if key in walk:
            return walk[key]
        walk[key] = scanned = self._checked(Path(key))
        return scanned

    def _checked(self, directory: Path) -> _Scanned | None:
        key = str(directory)
        try:
            mtime_ns = directory.stat().st_mtime_ns
        except PATH_ERRORS:
            self._forget(key)
            return None
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached.mtime_ns == mtime_ns:
                self._cache.move_to_end(key)
                return cached
        listed_at_ns = time.time_ns()
        scanned = self._list(directory, mtime_ns)
        if mtime_ns > listed_at_ns - _RACY_NS:  # a change in the same clock tick would keep this mtime
            return scanned
        with self._lock:
            self._cache[key] = scanned
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return scanned

    def _list(self, directory: Path, mtime_ns: int) -> _Scanned:
        images, children = 0, []
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except PATH_ERRORS:
            return _Scanned(mtime_ns, 0, ())
        for entry in entries:
            if self.filter.excluded(entry.name, entry.name):
                continue
            try:
                if entry.is_dir():
                    real = Path(os.path.realpath(entry.path))
                    if not entry.is_symlink() or self.library.contains(real):
                        children.append((entry.name, str(real)))
                elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS and (
                        not entry.is_symlink() or self.library.contains(Path(entry.path))):
                    images += 1
            except OSError:  # vanished or unreadable: not counted
                continue
        return _Scanned(mtime_ns, images, tuple(children))

    def _forget(self, key: str) -> None:
        with self._lock:
            self._cache.pop(key, None)

