"""What an ingest session is, as the gateway, the CLI and the watcher see it, and the progress arithmetic
(pure: counts in, percent / rates / ETA out). The tables: migration 0003_ingest_sessions.sql."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from imgsearch.common.errors import InvalidInput

PRIORITIES = ("high", "normal", "low", "bulk")  # stored as 0..3
STATES = ("discovering", "running", "paused", "cancelled", "done")
ORIGINS = ("user", "watch")
RATE_WINDOW_S = 60.0


class ScannedFileLike(Protocol):
    @property
    def path(self) -> Path: ...
    @property
    def size(self) -> int: ...
    @property
    def mtime_ns(self) -> int: ...


def priority_value(name: str) -> int:
    try:
        return PRIORITIES.index(name)
    except ValueError:
        raise InvalidInput(f"priority {name!r} is not one of {', '.join(PRIORITIES)}") from None


@dataclass(frozen=True)
class SessionRecord:
    id: int
    root: str
    subdirectories: list[str]
    include: list[str]
    exclude: list[str]
    priority: str
    origin: str
    state: str
    discovery_complete: bool
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None  # done or cancelled


@dataclass(frozen=True)
class StageRates:
    ingested: float = 0.0  # files per second over the last RATE_WINDOW_S
    embedded: float = 0.0
    faces_done: float = 0.0


@dataclass(frozen=True)
class StageCounts:
    """Raw counts of one session (or one of its subdirectories), as one query returns them."""

    discovered: int = 0
    cancelled: int = 0
    ingested: int = 0  # ingested or unchanged
    ingest_failed: int = 0
    embedded: int = 0
    embed_failed: int = 0
    faces_done: int = 0
    faces_failed: int = 0
    failed: int = 0  # files failed at any stage, each counted once
    complete: int = 0  # files at their final state in the last stage that runs
    recent_ingested: int = 0
    recent_embedded: int = 0
    recent_faces: int = 0

    def __add__(self, other: StageCounts) -> StageCounts:
        return StageCounts(*(a + b for a, b in zip(vars(self).values(), vars(other).values(), strict=True)))


@dataclass(frozen=True)
class SessionProgress:
    discovered: int
    ingested: int
    embedded: int
    faces_done: int
    failed: int
    discovery_complete: bool
    percent: float
    rates: StageRates = field(default_factory=StageRates)
    eta_s: float | None = None


@dataclass(frozen=True)
class ProgressReport:
    total: SessionProgress
    subdirectories: list[tuple[str, SessionProgress]]


@dataclass(frozen=True)
class FileFailure:
    path: str
    stage: str  # ingest | embed | faces
    reason: str


def progress_of(counts: StageCounts, discovery_complete: bool, faces_stage: bool, window_s: float,
                moving: bool) -> SessionProgress:
    """Percent over the last stage that runs (faces when the faces service has run, embed otherwise);
    the ETA is that of the slowest stage with work left, None while one of them has no rate yet or the
    session does not move (paused, cancelled)."""
    total = counts.discovered - counts.cancelled
    if total <= 0:
        percent = 100.0 if discovery_complete else 0.0
    else:
        percent = round(min(100.0, 100.0 * counts.complete / total), 2)
    window = max(window_s, 1e-3)
    rates = StageRates(
        ingested=counts.recent_ingested / window, embedded=counts.recent_embedded / window,
        faces_done=counts.recent_faces / window,
    )
    left = [
        (total - counts.ingested - counts.ingest_failed, rates.ingested),
        (total - counts.ingest_failed - counts.embedded - counts.embed_failed, rates.embedded),
    ]
    if faces_stage:
        faces_left = total - counts.ingest_failed - counts.faces_done - counts.faces_failed
        left.append((faces_left, rates.faces_done))
    eta: float | None = 0.0
    for remaining, rate in left:
        if remaining <= 0:
            continue
        if rate <= 0 or not moving:
            eta = None
            break
        eta = max(eta or 0.0, remaining / rate)
    if eta is not None and not discovery_complete and eta == 0.0:
        eta = None  # more files may still be found
    return SessionProgress(
        discovered=counts.discovered, ingested=counts.ingested, embedded=counts.embedded,
        faces_done=counts.faces_done, failed=counts.failed, discovery_complete=discovery_complete,
        percent=percent, rates=rates, eta_s=None if eta is None else round(eta, 1),
    )
