"""One qdrant-edge shard on disk, guarded so that an optimized copy can be swapped in under live traffic."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from qdrant_edge import EdgeShard, UpdateOperation

from imgsearch.common.errors import Unavailable
from imgsearch.common.vectors.edge_disk import REPLACED, discard, fsync_dir, fsync_tree, side_path

T = TypeVar("T")


class _SharedExclusiveGate:
    """Many holders in shared mode, or one in exclusive mode (only the swap needs exclusive)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._exclusive = True
            self._cond.wait_for(lambda: self._shared == 0)
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class EdgeCollection:
    """Reads share the shard; writes are serialised and flushed; ``swap_in`` replaces the shard.

    While an optimize runs on a copy, every write is also kept in a journal and replayed onto the
    optimized copy before it goes live, so no write made meanwhile is lost.
    """

    def __init__(self, path: Path, shard: EdgeShard, new_points: int = 0) -> None:
        self.path = path
        self._shard = shard
        self._gate = _SharedExclusiveGate()
        self._write_lock = threading.Lock()  # orders writes against the copy and the swap
        self.optimize_lock = threading.Lock()  # one optimize per collection at a time
        self._journal: list[UpdateOperation] | None = None
        self.new_points = new_points  # written since the last optimize started
        self._new_points_at_copy = 0
        self.last_optimized: float | None = None  # time.monotonic() of the last optimize attempt
        self._closed = False

    def read(self, call: Callable[[EdgeShard], T]) -> T:
        with self._gate.shared():
            self._check_open()
            return call(self._shard)

    def write(self, operation: UpdateOperation, points: int) -> None:
        """Apply and flush: durable (fsynced) when this returns, not only in the OS page cache."""
        self.write_planned(lambda _shard: [operation], points)

    def write_planned(self, plan: Callable[[EdgeShard], Sequence[UpdateOperation]], points: int = 0) -> None:
        """Plan operations by reading the live shard, then apply and flush them as one serialised write:
        no other write runs between the plan and its operations. ``points``: new points it adds."""
        with self._write_lock, self._gate.shared():
            self._check_open()
            operations = plan(self._shard)
            try:
                for operation in operations:
                    self._shard.update(operation)
                    if self._journal is not None:  # replayed onto an optimized copy before it goes live
                        self._journal.append(operation)
            finally:
                if operations:
                    self._shard.flush()
            self.new_points += points

    def copy_to(self, destination: Path) -> None:
        """Copy the flushed shard for an optimize and start journaling writes. Reads go on meanwhile."""
        with self._write_lock, self._gate.shared():
            self._check_open()
            self._shard.flush()
            shutil.copytree(self.path, destination)
            self._journal = []
            self._new_points_at_copy = self.new_points
            self.new_points = 0
            self.last_optimized = time.monotonic()

    def abandon_copy(self, *, restore_count: bool) -> None:
        with self._write_lock:
            self._journal = None
            if restore_count:  # the optimize failed: those points still wait for one
                self.new_points += self._new_points_at_copy

    def swap_in(self, optimized: Path) -> None:
        """Replace the live shard by the optimized copy plus the writes journaled since the copy.

        Crash-safe: see edge_disk for the sequence and what recovery does after a crash at each step.
        """
        fsync_tree(optimized)  # the old shard is deleted below: the copy must be on disk, not in cache
        replaced = side_path(self.path, REPLACED)
        with self._write_lock:  # writes wait from here; reads go on against the old shard until the rename
            self._check_open()
            journal, self._journal = self._journal or [], None
            _replay(optimized, journal)  # the copy holds every write before it can become live
            with self._gate.exclusive():
                self._shard.close()
                try:
                    self.path.rename(replaced)
                    fsync_dir(self.path.parent)
                except BaseException:
                    if replaced.exists() and not self.path.exists():
                        replaced.rename(self.path)
                    self._shard = EdgeShard.load(str(self.path))
                    raise
                try:
                    optimized.rename(self.path)
                    fsync_dir(self.path.parent)
                    self._shard = EdgeShard.load(str(self.path))
                except BaseException:
                    discard(self.path, self.path)
                    replaced.rename(self.path)
                    fsync_dir(self.path.parent)
                    self._shard = EdgeShard.load(str(self.path))
                    raise
        discard(replaced, self.path)  # the commit point: the rename to .trash inside discard

    def close(self) -> None:
        with self._write_lock, self._gate.exclusive():
            if not self._closed:
                self._closed = True
                self._shard.close()

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable("vector store is closed")


def _replay(path: Path, journal: list[UpdateOperation]) -> None:
    if not journal:
        return
    shard = EdgeShard.load(str(path))
    try:
        for operation in journal:
            shard.update(operation)
        shard.flush()
    finally:
        shard.close()
