"""The on-disk side of QdrantEdgeStore: the folder lock, and crash-safe shard swaps and their recovery.

An optimize swaps the live shard ``<name>/`` for an optimized copy. Side folders next to it:

- ``<name>.optimizing``  the copy being optimized, then brought up to date (never live).
- ``<name>.replaced``    the pre-swap shard, complete, kept until the swap commits.
- ``<name>.trash``       garbage being deleted; always safe to delete.

The swap sequence (EdgeCollection.swap_in) and what ``recover`` finds after a crash at each step:

1. copy live → ``.optimizing``; a child optimizes it; fsync its files; load it, replay the writes
   journaled since the copy, flush, close it.
   Crash: live intact, ``.optimizing`` partial → delete ``.optimizing``.
2. close live; rename live → ``.replaced``; fsync the folder.
   Crash: no live, ``.replaced`` complete → rename ``.replaced`` back to live.
3. rename ``.optimizing`` → live; fsync the folder; load it.
   Crash: live is the optimized copy *with every write replayed* (step 1), ``.replaced`` complete →
   keep live, discard ``.replaced``. A failed load in-process is undone by discarding live and renaming
   ``.replaced`` back (a crash in that undo leaves no live → the step-2 case).
4. commit: discard ``.replaced`` = rename it to ``.trash`` (atomic), fsync the folder, then delete.
   Crash mid-delete: only ``.trash`` is left → delete it.

Invariants that make this work: a folder becomes live only by an atomic rename of a complete shard
holding every acknowledged write, and a live or ``.replaced`` folder is never deleted in place (it is
renamed to ``.trash`` first). So ``recover`` never replaces an existing live shard, and whenever
``.replaced`` exists it is complete.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from imgsearch.common.errors import ConfigurationError

OPTIMIZING = ".optimizing"
REPLACED = ".replaced"
TRASH = ".trash"
LOCK = ".lock"  # <name>.lock: flocked by the one process that uses that collection


def side_path(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Make a copied folder durable: copytree leaves its files in the page cache only."""
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(folder))


def discard(path: Path, shard: Path) -> None:
    """Delete ``path`` (``shard`` or one of its side folders) so that a crash never leaves it
    half-deleted under its own name: it becomes ``<shard>.trash`` first."""
    trash = side_path(shard, TRASH)
    shutil.rmtree(trash, ignore_errors=True)  # a leftover: garbage by definition
    if path.exists():
        path.rename(trash)
        fsync_dir(path.parent)
    shutil.rmtree(trash, ignore_errors=True)


def recover(path: Path) -> None:
    """Finish or undo a swap that a crash interrupted (see the module docstring)."""
    replaced = side_path(path, REPLACED)
    shutil.rmtree(side_path(path, TRASH), ignore_errors=True)
    if replaced.exists():
        if path.exists():
            discard(replaced, path)  # crashed after step 3: live is the complete, up-to-date copy
        else:
            replaced.rename(path)  # crashed after step 2: put the old shard back
            fsync_dir(path.parent)
    shutil.rmtree(side_path(path, OPTIMIZING), ignore_errors=True)


def lock_collection(path: Path) -> int:
    """Lock the collection whose shard is ``path`` for this process (exclusive, non-blocking flock on
    ``<name>.lock`` beside it); returns the fd to close later. Different collections in one folder may be
    used by different processes (e.g. embed holds ``images``, faces holds ``faces``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(side_path(path, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigurationError(
            f"the vector collection {path.name!r} in {path.parent} is in use by another process; one process"
            " per collection: run the services that share it in one process (python -m imgsearch.runner)"
            " or use a Qdrant server: IMGSEARCH_QDRANT__URL"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    return fd
