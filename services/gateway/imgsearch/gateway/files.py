"""Path safety: the gateway reads or ingests only what lies under a configured library root.

A path is judged by where it really leads (symlinks resolved), so a link inside a root that points out of
it is refused, and '..' in a path given by a client is refused outright."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from imgsearch.common.errors import InvalidInput, NotFound, OutsideLibrary

ROOTS_SETTING = "IMGSEARCH_LIBRARY_ROOTS"


class LibraryRoots:
    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = tuple(Path(root).expanduser().resolve() for root in roots)

    def contains(self, path: Path) -> bool:
        """True when path, symlinks resolved, is a root or lies under one."""
        real = path.resolve()
        return any(real.is_relative_to(root) for root in self.roots)

    def resolve_request(self, raw: str) -> Path:
        """A folder or file named by a client: absolute, or relative to the (first) library root."""
        if not self.roots:
            raise OutsideLibrary(f"no library roots are configured (set {ROOTS_SETTING})")
        if not raw.strip():
            raise InvalidInput("path is empty")
        if "\x00" in raw:
            raise InvalidInput("path contains a NUL byte")
        if ".." in PurePosixPath(raw).parts:
            raise OutsideLibrary(f"{raw!r}: '..' is not allowed in a path")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = self.roots[0] / path
        if not self.contains(path):
            raise OutsideLibrary(f"{raw!r} is outside the library roots ({self.describe()})")
        return path.resolve()

    def folder(self, raw: str) -> Path:
        path = self.resolve_request(raw)
        if not path.exists():
            raise NotFound(f"{raw!r} does not exist")
        if not path.is_dir():
            raise InvalidInput(f"{raw!r} is not a directory")
        return path

    def stored_file(self, paths: Sequence[str]) -> Path:
        """The first of an image's recorded paths that still exists and lies under a root."""
        existing = [Path(p) for p in paths if Path(p).is_file()]
        if not existing:
            raise NotFound("the original file is no longer on disk")
        for path in existing:
            if self.contains(path):
                return path.resolve()
        raise OutsideLibrary(f"the original file is outside the library roots ({self.describe()})")

    def describe(self) -> str:
        return ", ".join(str(root) for root in self.roots) or "none configured"
