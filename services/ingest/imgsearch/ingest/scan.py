"""Walk a folder and yield the candidate files, cheaply (os.scandir), in a deterministic order.

Rules:
- Patterns are shell globs matched case-insensitively against the path relative to the scanned
  folder ("2023/*.jpg", "*.jpg" — ``*`` crosses "/") and against the bare name (".*", "@eaDir").
  An excluded directory is not entered. Include patterns (empty = everything) apply to files only.
- Symbolic links are followed only when their target stays inside a library root. A linked
  directory whose target lies inside the scanned folder is skipped (it is walked under its own
  name anyway), and every directory is entered at most once (by device and inode): loops end.
- A directory that cannot be listed is logged and skipped; the walk goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import islice
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScannedFile:
    path: Path  # as reached from the scanned folder (links not resolved): the files row's key
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class PathFilter:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, include: Sequence[str], exclude: Sequence[str]) -> PathFilter:
        return cls(tuple(p.lower() for p in include if p), tuple(p.lower() for p in exclude if p))

    def excluded(self, relative: str, name: str) -> bool:
        return _matches(self.exclude, relative, name)

    def wanted_file(self, relative: str, name: str) -> bool:
        if self.excluded(relative, name):
            return False
        return not self.include or _matches(self.include, relative, name)


def _matches(patterns: tuple[str, ...], relative: str, name: str) -> bool:
    relative, name = relative.lower(), name.lower()
    return any(fnmatchcase(relative, p) or fnmatchcase(name, p) for p in patterns)


def inside(path: Path, roots: Sequence[Path]) -> Path | None:
    """The deepest root that contains path (both already resolved), or None."""
    found = [root for root in roots if path == root or path.is_relative_to(root)]
    return max(found, key=lambda root: len(root.parts), default=None)


def scan(folder: Path, roots: Sequence[Path], path_filter: PathFilter = PathFilter()
         ) -> Generator[ScannedFile, None, None]:
    """Yield the wanted files under folder (resolved, inside a root), or folder itself if a file."""
    if folder.is_file():
        stat = folder.stat()
        yield ScannedFile(folder, stat.st_size, stat.st_mtime_ns)
        return
    try:
        top = folder.stat()
    except OSError as exc:
        log.warning("cannot scan %s: %s", folder, exc)
        return
    visited = {(top.st_dev, top.st_ino)}
    stack: list[tuple[Path, str]] = [(folder, "")]  # (directory, its path relative to folder)
    while stack:
        directory, relative = stack.pop()
        subdirs: list[tuple[Path, str]] = []
        for entry in _sorted_entries(directory):
            rel = f"{relative}/{entry.name}" if relative else entry.name
            if path_filter.excluded(rel, entry.name):
                continue
            try:
                if entry.is_symlink() and not _link_allowed(entry, folder, roots):
                    continue
                if entry.is_dir():  # follows an allowed link
                    stat = entry.stat()
                    key = (stat.st_dev, stat.st_ino)
                    if key not in visited:
                        visited.add(key)
                        subdirs.append((Path(entry.path), rel))
                elif entry.is_file() and path_filter.wanted_file(rel, entry.name):
                    stat = entry.stat()
                    yield ScannedFile(Path(entry.path), stat.st_size, stat.st_mtime_ns)
            except OSError as exc:  # vanished, dangling link, permission: skip this entry only
                log.warning("skipping %s: %s", entry.path, exc)
        stack.extend(reversed(subdirs))  # depth-first, children in name order


def _sorted_entries(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return sorted(entries, key=lambda e: e.name)
    except OSError as exc:
        log.warning("cannot list %s: %s", directory, exc)
        return []


def _link_allowed(entry: os.DirEntry[str], folder: Path, roots: Sequence[Path]) -> bool:
    try:
        target = Path(entry.path).resolve(strict=True)
    except (OSError, RuntimeError):  # dangling or a loop of links
        return False
    if inside(target, roots) is None:
        return False
    # A directory inside the scanned folder is walked under its real name already (or it is an
    # ancestor of the link: a loop).
    return not (target.is_dir() and inside(target, [folder]) is not None)


def take(files: Generator[ScannedFile, None, None], n: int) -> list[ScannedFile]:
    """The next n files of a scan (run in a thread: the walk blocks)."""
    return list(islice(files, n))


def storable(path: Path) -> bool:
    """PostgreSQL text and protobuf strings need UTF-8; a name with undecodable bytes cannot be a key."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        log.warning("skipping a file whose name is not valid UTF-8: %r", path)
        return False
    return True
