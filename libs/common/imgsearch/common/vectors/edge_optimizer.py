"""Scheduling qdrant-edge's optimizer, which has no background thread of its own.

Measured (qdrant-edge-py 0.9): ``EdgeShard.optimize()`` holds the GIL for its whole run (20k×512-d: 19 s;
100k: 162 s), so in a thread it freezes every Python thread, the event loop included; and a second
process cannot open a shard that is open (its WAL is locked). So an optimize runs on a *copy*: copy the
flushed shard, optimize the copy in a child process, then swap it in and replay the writes made
meanwhile (EdgeCollection). Searches and writes go on throughout, except for the short swap.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from imgsearch.common.vectors.edge_collection import EdgeCollection
from imgsearch.common.vectors.edge_disk import OPTIMIZING, side_path

log = logging.getLogger(__name__)

OPTIMIZER_CHILD_SCRIPT = """
import sys
from qdrant_edge import EdgeShard
shard = EdgeShard.load(sys.argv[1])
changed = shard.optimize()
shard.close()
print("changed" if changed else "unchanged")
"""
DEFAULT_OPTIMIZER_ARGV: tuple[str, ...] = (sys.executable, "-c", OPTIMIZER_CHILD_SCRIPT)


@dataclass(frozen=True)
class OptimizePolicy:
    interval_s: float
    min_new_points: int

    def due(self, new_points: int, last_run: float | None, now: float) -> bool:
        """Enough new points since the last optimize, and not sooner than the interval after it."""
        if new_points <= 0 or new_points < self.min_new_points:
            return False
        return last_run is None or now - last_run >= self.interval_s


class EdgeOptimizer:
    """Runs shadow optimizes, on demand or from a background thread driven by an OptimizePolicy."""

    def __init__(
        self,
        policy: OptimizePolicy,
        collections: Callable[[], Sequence[EdgeCollection]],
        argv: Sequence[str] = DEFAULT_OPTIMIZER_ARGV,
    ) -> None:
        self.policy = policy
        self._collections = collections
        self._argv = tuple(argv)
        self._stop = threading.Event()
        self._children: set[subprocess.Popen[str]] = set()
        self._children_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="qdrant-edge-optimizer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread; an optimize in progress is abandoned (its child killed, the copy removed)."""
        self._stop.set()
        with self._children_lock:
            for child in self._children:
                child.kill()
        if self._thread is not None:
            self._thread.join()

    def run_due(self, now: float | None = None) -> int:
        """One scheduling pass; returns how many collections were optimized."""
        done = 0
        for collection in self._collections():
            if self._stop.is_set():
                break
            moment = time.monotonic() if now is None else now
            if self.policy.due(collection.new_points, collection.last_optimized, moment):
                try:
                    done += self.optimize(collection)
                except Exception:
                    log.exception("optimizing %s failed; the live shard is unchanged", collection.path)
        return done

    def optimize(self, collection: EdgeCollection) -> bool:
        """Optimize a copy and swap it in. False when the optimizer had nothing to do."""
        with collection.optimize_lock:
            work = side_path(collection.path, OPTIMIZING)
            shutil.rmtree(work, ignore_errors=True)
            collection.copy_to(work)
            swapped = False
            try:
                started = time.monotonic()
                if self._optimize_in_child(work):
                    collection.swap_in(work)
                    swapped = True
                    log.info("optimized %s in %.1f s", collection.path, time.monotonic() - started)
                else:
                    collection.abandon_copy(restore_count=False)
            except BaseException:
                collection.abandon_copy(restore_count=True)
                raise
            finally:
                shutil.rmtree(work, ignore_errors=True)
            return swapped

    def _optimize_in_child(self, path: object) -> bool:
        with self._children_lock:  # checked under the lock so stop() cannot miss a child
            if self._stop.is_set():
                raise RuntimeError("optimizer stopped")
            child = subprocess.Popen(
                [*self._argv, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            self._children.add(child)
        try:
            out, err = child.communicate()
        finally:
            with self._children_lock:
                self._children.discard(child)
        if child.returncode != 0:
            raise RuntimeError(f"optimizer child exited with {child.returncode}: {err.strip()[-2000:]}")
        return out.strip().splitlines()[-1:] == ["changed"]

    def _run(self) -> None:
        # Poll often enough that a short interval (tests, ops) is honoured; a pass is cheap.
        tick = min(max(self.policy.interval_s / 4, 0.05), 5.0)
        while not self._stop.wait(tick):
            self.run_due()
