"""Linux inotify through ctypes (no dependency): which folders of the library changed.

Only an accelerator: what it reports is rescanned, and the periodic rescan catches whatever it misses
(a queue overflow, a watch limit reached, network file systems that send no events). Every directory
under a root gets a watch (excluded folders and links excepted); a new directory gets its own at once.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from imgsearch.ingest.scan import PathFilter

log = logging.getLogger(__name__)

IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

_MASK = (IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF
         | IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR | IN_DONT_FOLLOW)
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len


class Inotify:
    """Watches the roots' folders; ``read()`` turns pending events into changed folders (None: all)."""

    def __init__(self, roots: Sequence[Path], path_filter: PathFilter) -> None:
        self.roots = tuple(roots)
        self.path_filter = path_filter
        self._libc = ctypes.CDLL(None, use_errno=True)
        fd = int(self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC))
        if fd < 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        self.fd = fd
        self._folders: dict[int, Path] = {}
        self._full = False  # a watch could not be added: events alone are not enough
        for root in self.roots:
            self.add_tree(root)

    @classmethod
    def available(cls) -> bool:
        return sys.platform.startswith("linux")

    @property
    def watched(self) -> int:
        return len(self._folders)

    def add_tree(self, top: Path) -> None:
        """Watch top and every folder below it (by its own name: links are not followed)."""
        root = next((r for r in self.roots if top == r or top.is_relative_to(r)), None)
        if root is None:
            return
        for folder in _folders(top, root, self.path_filter):
            self._add(folder)

    def read(self, on_folder: Callable[[Path], None]) -> bool:
        """Consume the pending events, calling on_folder for each changed folder. Returns True when
        everything must be rescanned (the kernel dropped events, or a root itself moved)."""
        everything = self._full
        self._full = False
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                return everything
            if not data:
                return everything
            for wd, mask, name in _events(data):
                if mask & IN_Q_OVERFLOW:
                    everything = True
                    continue
                folder = self._folders.get(wd)
                if mask & IN_IGNORED:
                    self._folders.pop(wd, None)
                    continue
                if folder is None:
                    continue
                if mask & (IN_DELETE_SELF | IN_MOVE_SELF):
                    if folder in self.roots:
                        everything = True
                    continue  # the parent's event covers it
                path = folder / name if name else folder
                if mask & IN_ISDIR and mask & (IN_CREATE | IN_MOVED_TO):
                    self.add_tree(path)
                    on_folder(path)  # files may have landed in it before its watch was added
                elif mask & IN_ISDIR or not mask & IN_CREATE:  # a file created is seen when closed
                    on_folder(folder)
            everything = everything or self._full

    def close(self) -> None:
        os.close(self.fd)

    def _add(self, folder: Path) -> None:
        wd = int(self._libc.inotify_add_watch(self.fd, os.fsencode(folder), _MASK))
        if wd < 0:
            code = ctypes.get_errno()
            if code == errno.ENOSPC:
                if not self._full:
                    log.warning("inotify watch limit reached (fs.inotify.max_user_watches): folders past "
                                "%d are seen by the periodic rescan only", len(self._folders))
                self._full = True
            elif code not in (errno.ENOENT, errno.ENOTDIR):  # gone meanwhile: its parent's event says so
                log.warning("cannot watch %s: %s", folder, os.strerror(code))
            return
        self._folders[wd] = folder


def _events(data: bytes) -> Iterator[tuple[int, int, str]]:
    offset = 0
    while offset + _HEADER.size <= len(data):
        wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
        raw = data[offset + _HEADER.size: offset + _HEADER.size + length]
        offset += _HEADER.size + length
        yield wd, mask, os.fsdecode(raw.split(b"\0", 1)[0])


def _folders(top: Path, root: Path, path_filter: PathFilter) -> Iterator[Path]:
    """top and its folders, not entering excluded ones (patterns relative to the root) or links."""
    stack = [top]
    while stack:
        folder = stack.pop()
        yield folder
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                    path = Path(entry.path)
                    if not path_filter.excluded(path.relative_to(root).as_posix(), entry.name):
                        stack.append(path)
        except OSError:
            continue
