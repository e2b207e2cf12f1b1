"""One pass of the watcher: walk folders of the library, compare with the files table, apply the difference.

Order inside a pass: first the rows whose path is gone are counted; then the walk, chunk by chunk: each
chunk is compared with the files rows of its paths, and when rows are gone, its new files whose size
equals a gone row's image are hashed: same content → a move (the image keeps its names and faces: only the
files row changes). The chunk's other new and changed files are added to the root's ingest session
(origin "watch", opened with the first such chunk, closed after the walk). A changed file is hashed: same
content → only its row's size and time are updated; other content → the old image loses that path
(removed if it was its last) and the file is ingested as new content. Last, the rows still gone are
removed. Memory is bounded by the chunk: nothing is held per file of the library.

Safety: a path counts as vanished only when it no longer exists (os.path.lexists), so an unreadable or
newly excluded folder removes nothing; a root that is missing or empty (an unmounted drive) is skipped.
New files are picked up in folders that hold ingested files already, and in new folders below them,
unless ``import_new_folders`` (then everything under the roots is).

One pass per root at a time across processes (ingest replicas): a pass works only on the roots whose lock
(imgsearch.ingest.watch_locks) it gets, and skips the others."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from imgsearch.common.ids import content_hash
from imgsearch.ingest.removals import Publisher, announce
from imgsearch.ingest.scan import PathFilter, ScannedFile, inside, scan, storable, take
from imgsearch.ingest.watch_repository import FileRow, Removal, WatchStore

log = logging.getLogger(__name__)


class SessionPort(Protocol):
    """imgsearch.ingest.watch_sessions.WatchSessions (a fake in unit tests)."""

    async def open(self, root: Path, priority: str, files: Sequence[ScannedFile]) -> int: ...
    async def add(self, session_id: int, files: Sequence[ScannedFile]) -> bool: ...
    async def close(self, session_id: int) -> None: ...
    async def close_left_open(self, roots: Sequence[Path] | None = None) -> list[int]: ...


class LockPort(Protocol):
    """imgsearch.ingest.watch_locks.RootLocks: one pass per root at a time across processes."""

    def hold(self, roots: Sequence[Path]) -> contextlib.AbstractAsyncContextManager[set[Path]]: ...


class LocalLocks:
    """Every root, always: one watcher in one process (unit tests)."""

    @contextlib.asynccontextmanager
    async def hold(self, roots: Sequence[Path]) -> AsyncIterator[set[Path]]:
        yield set(roots)


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
    skipped: list[Path] = field(default_factory=list)  # roots another process's pass holds now

    @property
    def quiet(self) -> bool:
        return not (self.new or self.changed or self.touched or self.moved or self.removed)


@dataclass
class _Pass:
    scopes: list[tuple[Path, Path]]
    gone: int = 0  # rows whose path was gone before the walk: 0 → no move to look for, nothing to remove
    sessions: dict[Path, int] = field(default_factory=dict)  # root → its open watch session


class LibraryRescan:
    def __init__(self, roots: Sequence[Path], path_filter: PathFilter, store: WatchStore,
                 sessions: SessionPort, publisher: Publisher, thumbnails_dir: Path,
                 import_new_folders: bool = False, priority: str = "normal", chunk: int = 512,
                 locks: LockPort | None = None) -> None:
        self.roots = tuple(roots)
        self.path_filter = path_filter
        self.store, self.sessions, self.publisher = store, sessions, publisher
        self.thumbnails_dir = thumbnails_dir
        self.import_new_folders = import_new_folders
        self.priority = priority
        self.chunk = max(1, chunk)
        self.locks: LockPort = locks or LocalLocks()
        # Removals done whose images.deleted could not be published (the bus was away): published first
        # in the next pass, or the image's vectors and faces would stay (its files row is gone already).
        self._unannounced: list[tuple[Removal, str, str]] = []

    async def run(self, folders: Sequence[Path] | None = None) -> RescanReport:
        """Rescan these folders (each inside a root; None = every root) as one pass. A root whose pass
        another process runs now (its lock held) is skipped."""
        report = RescanReport()
        while self._unannounced:
            removal, reason, moved_to = self._unannounced[0]
            await announce(self.publisher, removal, reason, self.thumbnails_dir, moved_to)
            self._unannounced.pop(0)
        wanted = self._scopes(folders)
        roots = [root for root in self.roots if any(root == r for r, _ in wanted)]
        async with self.locks.hold(roots) as held:
            report.skipped = [root for root in roots if root not in held]
            for root in report.skipped:
                log.debug("library root %s: another watcher's pass runs now, skipped", root)
            locked = [root for root in roots if root in held]
            if locked:
                await self._run(locked, [(r, f) for r, f in wanted if r in held], report)
        return report

    async def _run(self, roots: list[Path], wanted: list[tuple[Path, Path]], report: RescanReport) -> None:
        # Under these roots' locks: a watch session still open was left by a pass that died.
        for session in await self.sessions.close_left_open(roots):
            log.info("watch session %d: closed, left open by an interrupted pass", session)
        scopes: list[tuple[Path, Path]] = []
        for root, folder in wanted:
            if not await asyncio.to_thread(_mounted, root):
                log.warning("library root %s is missing or empty: not rescanned (unmounted?)", root)
                continue
            scopes.append((root, folder))
        walk = _Pass(scopes)
        try:
            for root, folder in scopes:
                async for rows in self.store.rows_under(str(root), str(folder), self.chunk):
                    walk.gone += len(await asyncio.to_thread(_gone, rows))
            for root, folder in scopes:
                await self._walk(root, folder, walk, report)
            if walk.gone:
                for root, folder in scopes:
                    await self._remove_gone(root, folder, report)
        finally:
            for session in walk.sessions.values():
                await self._close(session)

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

    async def _walk(self, root: Path, folder: Path, walk: _Pass, report: RescanReport) -> None:
        imported = None if self.import_new_folders else await self.store.imported_folders(str(root))
        files = scan(folder, self.roots, self.path_filter)
        try:
            while chunk := await asyncio.to_thread(take, files, self.chunk):
                chunk = [f for f in chunk if storable(f.path)]
                report.scanned += len(chunk)
                paths = [str(f.path) for f in chunk]
                rows = await self.store.rows(paths)
                queued = await self.store.queued(paths)
                new: list[ScannedFile] = []
                # Not in an imported folder: not ingested, but it may be where a gone file went.
                elsewhere: list[ScannedFile] = []
                changed: list[tuple[ScannedFile, FileRow]] = []
                for file in chunk:
                    row = rows.get(str(file.path))
                    if row is not None and (row.size, row.mtime_ns) == (file.size, file.mtime_ns):
                        continue
                    if (str(file.path), file.size, file.mtime_ns) in queued:
                        continue  # an open session reads it already
                    if row is not None:
                        changed.append((file, row))
                    elif imported is None or _under_imported(file.path, root, imported):
                        new.append(file)
                    else:
                        elsewhere.append(file)
                await self._apply(root, walk, new, elsewhere, changed, report)
        finally:
            files.close()

    async def _apply(self, root: Path, walk: _Pass, new: list[ScannedFile], elsewhere: list[ScannedFile],
                     changed: list[tuple[ScannedFile, FileRow]], report: RescanReport) -> None:
        """One chunk's difference: moves first, then the new and changed files to the root's session."""
        if walk.gone and (new or elsewhere):
            moved = await self._moves(root, walk, [*new, *elsewhere], report)
            new = [file for file in new if str(file.path) not in moved]
        to_ingest = list(new)
        report.new += len(new)
        for file, row in changed:
            if row.image_id is not None and await asyncio.to_thread(_hash_or_none, file.path) == row.image_id:
                await self.store.touch(file)
                report.touched += 1
                continue
            if row.image_id is not None:
                await self._remove(row.path, "changed", report)
            to_ingest.append(file)
            report.changed += 1
        if not to_ingest:
            return
        session = walk.sessions.get(root)
        if session is None or not await self.sessions.add(session, to_ingest):
            session = await self.sessions.open(root, self.priority, to_ingest)
            walk.sessions[root] = session
            report.sessions.append(session)

    async def _moves(self, root: Path, walk: _Pass, candidates: list[ScannedFile],
                     report: RescanReport) -> set[str]:
        """Move the gone rows whose content is one of these new files; their paths. Only the files whose
        size equals a gone row's image are hashed."""
        scopes = [(str(r), str(f)) for r, f in walk.scopes]
        sized = await self.store.rows_of_size(scopes, sorted({file.size for file in candidates}))
        gone = set(await asyncio.to_thread(_gone, [row for _, row in sized]))
        by_image: dict[str, list[FileRow]] = {}
        wanted: set[int] = set()
        for size, row in sized:
            if row in gone and row.image_id is not None:
                by_image.setdefault(row.image_id, []).append(row)
                wanted.add(size)
        moved: set[str] = set()
        for file in candidates:
            if file.size not in wanted:
                continue
            image_id = await asyncio.to_thread(_hash_or_none, file.path)
            rows = by_image.get(image_id, []) if image_id is not None else []
            if not rows:
                continue
            while rows:  # False: that row is gone already (removed meanwhile): the next copy, if any
                row = rows.pop(0)
                if await self.store.move(row.path, file, root):
                    moved.add(str(file.path))
                    report.moved += 1
                    await self._announce(Removal(row.path, str(image_id), False, life=row.seen), "moved",
                                         str(file.path))
                    break
        return moved

    async def _remove_gone(self, root: Path, folder: Path, report: RescanReport) -> None:
        async for rows in self.store.rows_under(str(root), str(folder), self.chunk):
            for row in await asyncio.to_thread(_gone, rows):
                await self._remove(row.path, "deleted", report)

    async def _close(self, session: int) -> None:
        try:
            await self.sessions.close(session)
        except Exception as exc:  # the next pass closes it
            log.warning("watch session %d not closed now (%r): the next pass closes it", session, exc)

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
