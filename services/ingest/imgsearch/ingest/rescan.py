"""One pass of the watcher: walk folders of the library, compare with the files table, apply the difference.

Order inside a pass: moves first (a vanished path whose content turns up at a new path keeps its image,
names and faces: only the files row changes), then removals, then the new and changed files go to one
ingest session (origin "watch"). A changed file is hashed: same content → only its row's size and time
are updated; other content → the old image loses that path (removed if it was its last) and the file is
ingested as new content.

Safety: a path counts as vanished only when it no longer exists (os.path.lexists), so an unreadable or
newly excluded folder removes nothing; a root that is missing or empty (an unmounted drive) is skipped.
New files are picked up in folders that hold ingested files already, and in new folders below them,
unless ``import_new_folders`` (then everything under the roots is)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from imgsearch.common.ids import content_hash
from imgsearch.ingest.removals import Publisher, announce
from imgsearch.ingest.scan import PathFilter, ScannedFile, inside, scan, storable, take
from imgsearch.ingest.watch_repository import FileRow, Removal, WatchStore

log = logging.getLogger(__name__)
ORIGIN = "watch"
_CHUNK = 512


class SessionStarter(Protocol):
    async def create(self, root: Path, subdirectories: Sequence[str], priority: str, include: Sequence[str],
                     exclude: Sequence[str], origin: str = "user",
                     files: Sequence[ScannedFile] | None = None) -> int: ...


@dataclass
class RescanReport:
    scanned: int = 0
    new: int = 0
    changed: int = 0
    touched: int = 0
    moved: int = 0
    removed: int = 0  # paths
    images_removed: int = 0
    sessions: list[int] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        return not (self.new or self.changed or self.touched or self.moved or self.removed)


@dataclass
class _Found:
    new: list[tuple[Path, ScannedFile]] = field(default_factory=list)  # (root, file) to ingest
    # Not in an imported folder: not ingested, but it may be where a vanished file went.
    elsewhere: list[tuple[Path, ScannedFile]] = field(default_factory=list)
    changed: list[tuple[Path, ScannedFile, FileRow]] = field(default_factory=list)
    vanished: list[FileRow] = field(default_factory=list)


class LibraryRescan:
    def __init__(self, roots: Sequence[Path], path_filter: PathFilter, store: WatchStore,
                 sessions: SessionStarter, publisher: Publisher, thumbnails_dir: Path,
                 import_new_folders: bool = False, priority: str = "normal") -> None:
        self.roots = tuple(roots)
        self.path_filter = path_filter
        self.store, self.sessions, self.publisher = store, sessions, publisher
        self.thumbnails_dir = thumbnails_dir
        self.import_new_folders = import_new_folders
        self.priority = priority
        # Removals done whose images.deleted could not be published (the bus was away): published first
        # in the next pass, or the image's vectors and faces would stay (its files row is gone already).
        self._unannounced: list[tuple[Removal, str, str]] = []

    async def run(self, folders: Sequence[Path] | None = None) -> RescanReport:
        """Rescan these folders (each inside a root; None = every root) as one pass."""
        report = RescanReport()
        while self._unannounced:
            removal, reason, moved_to = self._unannounced[0]
            await announce(self.publisher, removal, reason, self.thumbnails_dir, moved_to)
            self._unannounced.pop(0)
        found = _Found()
        for root, folder in self._scopes(folders):
            if not await asyncio.to_thread(_mounted, root):
                log.warning("library root %s is missing or empty: not rescanned (unmounted?)", root)
                continue
            await self._walk(root, folder, found, report)
            found.vanished.extend(await self._vanished(root, folder))
        await self._apply(found, report)
        return report

    def _scopes(self, folders: Sequence[Path] | None) -> list[tuple[Path, Path]]:
        if folders is None:
            return [(root, root) for root in self.roots]
        scopes: list[tuple[Path, Path]] = []
        for folder in sorted(set(folders), key=lambda f: len(f.parts)):
            root = inside(folder, self.roots)
            if root is None or any(folder.is_relative_to(done) for _, done in scopes):
                continue  # outside the library, or inside a folder already in this pass
            scopes.append((root, folder))
        return scopes

    async def _walk(self, root: Path, folder: Path, found: _Found, report: RescanReport) -> None:
        imported = None if self.import_new_folders else await self.store.imported_folders(str(root))
        files = scan(folder, self.roots, self.path_filter)
        try:
            while chunk := await asyncio.to_thread(take, files, _CHUNK):
                chunk = [f for f in chunk if storable(f.path)]
                report.scanned += len(chunk)
                paths = [str(f.path) for f in chunk]
                rows = await self.store.rows(paths)
                queued = await self.store.queued(paths)
                for file in chunk:
                    row = rows.get(str(file.path))
                    if row is not None and (row.size, row.mtime_ns) == (file.size, file.mtime_ns):
                        continue
                    if (str(file.path), file.size, file.mtime_ns) in queued:
                        continue  # an open session reads it already
                    if row is not None:
                        found.changed.append((root, file, row))
                    elif imported is None or _under_imported(file.path, root, imported):
                        found.new.append((root, file))
                    else:
                        found.elsewhere.append((root, file))
        finally:
            files.close()

    async def _vanished(self, root: Path, folder: Path) -> list[FileRow]:
        vanished: list[FileRow] = []
        async for rows in self.store.rows_under(str(root), str(folder), _CHUNK):
            vanished.extend(await asyncio.to_thread(_gone, rows))
        return vanished

    async def _apply(self, found: _Found, report: RescanReport) -> None:
        moved_to = await self._match_moves(found)
        for row in found.vanished:
            target = moved_to.get(row.path)
            if target is not None:
                root, file = target
                if row.image_id is not None and await self.store.move(row.path, file, root):
                    report.moved += 1
                    await self._announce(Removal(row.path, row.image_id, False, life=row.seen), "moved",
                                         str(file.path))
                continue
            await self._remove(row.path, "deleted", report)
        moved_files = {str(file.path) for _, file in moved_to.values()}
        to_ingest: dict[Path, list[ScannedFile]] = {}
        for root, file in found.new:
            if str(file.path) not in moved_files:
                to_ingest.setdefault(root, []).append(file)
                report.new += 1
        for root, file, row in found.changed:
            if row.image_id is not None and await asyncio.to_thread(_hash_or_none, file.path) == row.image_id:
                await self.store.touch(file)
                report.touched += 1
                continue
            if row.image_id is not None:
                await self._remove(row.path, "changed", report)
            to_ingest.setdefault(root, []).append(file)
            report.changed += 1
        for root, files in to_ingest.items():
            session = await self.sessions.create(root, [], self.priority, [], [], origin=ORIGIN, files=files)
            report.sessions.append(session)

    async def _match_moves(self, found: _Found) -> dict[str, tuple[Path, ScannedFile]]:
        """Vanished path → (root, new file) with the same content. Only new files whose size equals a
        vanished image's are hashed."""
        by_image = {row.image_id: row for row in found.vanished if row.image_id is not None}
        candidates = [*found.new, *found.elsewhere]
        if not by_image or not candidates:
            return {}
        sizes = await self.store.image_sizes(list(by_image))
        wanted = set(sizes.values())
        moves: dict[str, tuple[Path, ScannedFile]] = {}
        for root, file in candidates:
            if file.size not in wanted:
                continue
            image_id = await asyncio.to_thread(_hash_or_none, file.path)
            row = by_image.pop(image_id, None) if image_id is not None else None
            if row is not None:
                moves[row.path] = (root, file)
        return moves

    async def _remove(self, path: str, reason: str, report: RescanReport) -> None:
        removal = await self.store.remove(path)
        report.removed += 1
        if removal is None:
            return
        await self._announce(removal, reason)
        if removal.image_removed:
            report.images_removed += 1
            log.info("%s %s: image %s removed", path, reason, removal.image_id[:12])

    async def _announce(self, removal: Removal, reason: str, moved_to: str = "") -> None:
        try:
            await announce(self.publisher, removal, reason, self.thumbnails_dir, moved_to)
        except Exception:
            self._unannounced.append((removal, reason, moved_to))
            raise


def _mounted(root: Path) -> bool:
    try:
        with os.scandir(root) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


def _gone(rows: Sequence[FileRow]) -> list[FileRow]:
    return [row for row in rows if not os.path.lexists(row.path)]


def _under_imported(path: Path, root: Path, imported: set[str]) -> bool:
    folder = PurePosixPath(path).parent
    top = PurePosixPath(root)
    while True:
        if str(folder) in imported:
            return True
        if folder == top or folder == folder.parent:
            return False
        folder = folder.parent


def _hash_or_none(path: Path) -> str | None:
    try:
        return content_hash(path)
    except OSError:
        return None
