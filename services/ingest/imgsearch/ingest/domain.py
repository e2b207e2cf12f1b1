"""Pure rules of the ingest: which library root a request falls under, and an image's folders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from imgsearch.common.errors import InvalidInput, NotFound, OutsideLibrary
from imgsearch.common.folders import folders_of
from imgsearch.ingest.scan import inside

__all__ = ["folders_of", "resolve_request"]


def resolve_request(raw_path: str, roots: Sequence[Path]) -> tuple[Path, Path]:
    """(resolved folder or file, its library root); refuses paths outside every root.

    Resolving first means ``..`` and symlinks cannot smuggle a path out of a root."""
    if not roots:
        raise OutsideLibrary("no library roots are configured (IMGSEARCH_LIBRARY_ROOTS)")
    path = Path(raw_path)
    if not path.is_absolute():
        raise InvalidInput(f"ingest path must be absolute: {raw_path!r}")
    try:
        resolved = path.resolve(strict=True)
    except FileNotFoundError as exc:
        if inside(Path(os.path.normpath(path)), roots) is None:  # don't tell what exists elsewhere
            raise OutsideLibrary(f"{raw_path} is outside the library roots") from exc
        raise NotFound(f"no such file or folder: {raw_path}") from exc
    except (OSError, RuntimeError) as exc:
        raise InvalidInput(f"cannot resolve {raw_path}: {exc}") from exc
    root = inside(resolved, roots)
    if root is None:
        raise OutsideLibrary(f"{raw_path} is outside the library roots")
    return resolved, root
