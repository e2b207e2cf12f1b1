"""An image's folders: what the vector payload keeps so a folder filter finds the image under any path."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath


def folders_of(paths: Iterable[tuple[str, str]]) -> list[str]:
    """Every ancestor folder of each file (from "/" down to its parent), over all (path, root) pairs
    whose path lies under its library root.

    The vector payload keeps them all, so a folder filter finds an image under any of its paths,
    also for a folder above a library root (``/home/me`` for a root ``/home/me/Pictures``)."""
    folders: set[str] = set()
    for path, root in paths:
        parent, top = PurePosixPath(path).parent, PurePosixPath(root)
        if parent != top and not parent.is_relative_to(top):
            continue
        for depth in range(1, len(parent.parts) + 1):
            folders.add(str(PurePosixPath(*parent.parts[:depth])))
    return sorted(folders)
