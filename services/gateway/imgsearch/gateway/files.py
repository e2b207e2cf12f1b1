"""Path safety: the gateway reads or ingests only what lies under a configured library root.

A path is judged by where it really leads (symlinks resolved), so a link inside a root that points out of
it is refused, and '..' in a path given by a client is refused outright. A client's path is taken
literally ('~' is not expanded) and anything the filesystem or protobuf cannot take (a loop of links, an
over-long name, text that is not UTF-8) is an InvalidInput, never an internal error."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from imgsearch.common.errors import Conflict, InvalidInput, NotFound, OutsideLibrary
from imgsearch.search.domain import normalise_folder

ROOTS_SETTING = "IMGSEARCH_LIBRARY_ROOTS"
# pathlib reports a loop of links as RuntimeError; UnicodeEncodeError is a ValueError
PATH_ERRORS = (OSError, RuntimeError, ValueError)


class LibraryRoots:
    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = tuple(Path(root).expanduser().resolve() for root in roots)

    def contains(self, path: Path) -> bool:
        """True when path, symlinks resolved, is a root or lies under one; False if it cannot be resolved."""
        try:
            real = path.resolve()
        except PATH_ERRORS:
            return False
        return self._holds(real)

    def resolve_request(self, raw: str) -> Path:
        """A folder or file named by a client: absolute, or relative to the (first) library root."""
        if not self.roots:
            raise OutsideLibrary(f"no library roots are configured (set {ROOTS_SETTING})")
        if not raw.strip():
            raise InvalidInput("path is empty")
        check_path_text(raw, "path")
        if ".." in PurePosixPath(raw).parts:
            raise OutsideLibrary(f"{raw!r}: '..' is not allowed in a path")
        path = Path(raw)
        if not path.is_absolute():
            path = self.roots[0] / path
        try:
            real = path.resolve()
        except PATH_ERRORS as exc:
            raise InvalidInput(f"{raw!r} cannot be resolved: {exc}") from exc
        if not self._holds(real):
            raise OutsideLibrary(f"{raw!r} is outside the library roots ({self.describe()})")
        check_path_text(str(real), "path", shown=raw)  # a link may lead to a name that is not UTF-8
        return real

    def folder(self, raw: str) -> Path:
        path = self.resolve_request(raw)
        try:
            exists, is_dir = path.exists(), path.is_dir()
        except PATH_ERRORS as exc:  # e.g. ENAMETOOLONG, which resolve() lets through
            raise InvalidInput(f"{raw!r} is not a usable path: {exc}") from exc
        if not exists:
            raise NotFound(f"{raw!r} does not exist")
        if not is_dir:
            raise InvalidInput(f"{raw!r} is not a directory")
        return path

    def stored_file(self, paths: Sequence[str]) -> Path:
        """The first of an image's recorded paths that still exists and lies under a root."""
        existing = [Path(p) for p in paths if _is_file(Path(p))]
        if not existing:
            raise NotFound("the original file is no longer on disk")
        for path in existing:
            if self.contains(path):
                return path.resolve()
        raise OutsideLibrary(f"the original file is outside the library roots ({self.describe()})")

    def describe(self) -> str:
        return ", ".join(str(root) for root in self.roots) or "none configured"

    def _holds(self, real: Path) -> bool:
        return any(real.is_relative_to(root) for root in self.roots)


def check_path_text(text: str, name: str, shown: str | None = None) -> None:
    """Refuse text no path can hold (NUL) or that protobuf and PostgreSQL cannot carry (not UTF-8)."""
    if "\x00" in text:
        raise InvalidInput(f"{name} contains a NUL byte")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{name} {shown if shown is not None else text!r} is not valid UTF-8") from exc


def search_folder(raw: str) -> str:
    """A search's folder filter as the vector payload spells it: absolute, single slashes, no trailing
    slash, and symlinks resolved when the folder exists (ingest stores resolved paths). '' = no filter."""
    check_path_text(raw, "folder")
    folder = normalise_folder(raw)
    if folder is None:
        return ""
    if not os.path.isdir(folder):  # False on any error: an unknown folder simply matches nothing
        return folder
    try:
        real = os.path.realpath(folder, strict=True)
    except PATH_ERRORS as exc:
        raise InvalidInput(f"folder {raw!r} cannot be resolved: {exc}") from exc
    check_path_text(real, "folder", shown=raw)
    return real


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except PATH_ERRORS:
        return False


async def read_capped(path: Path, max_bytes: int, what: str) -> bytes:
    """A small file of ours (a thumbnail, a face crop) whole, for APIs that cannot stream: unreadable ->
    NotFound, bigger than max_bytes -> Conflict (it is not one we wrote)."""

    def read() -> bytes:
        with path.open("rb") as handle:
            return handle.read(max_bytes + 1)

    try:
        data = await asyncio.to_thread(read)
    except OSError as exc:
        raise NotFound(f"{what} cannot be read: {exc}") from exc
    if len(data) > max_bytes:
        raise Conflict(f"{what} is larger than {max_bytes} bytes")
    return data
