"""REST bodies of the ingest sessions API (pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from imgsearch.common.db.session_records import FileFailure, SessionProgress
from imgsearch.gateway.service import MAX_PATH_CHARS, MAX_PATTERN_CHARS, MAX_PATTERNS
from imgsearch.gateway.sessions import MAX_SUBDIRECTORIES, SessionView

Pattern = Annotated[str, Field(max_length=MAX_PATTERN_CHARS)]
Priority = Literal["high", "normal", "low", "bulk"]


class CreateSession(BaseModel):
    path: str = Field(min_length=1, max_length=MAX_PATH_CHARS, description="absolute folder under a root")
    subdirectories: list[Annotated[str, Field(min_length=1, max_length=MAX_PATH_CHARS)]] = Field(
        default_factory=list, max_length=MAX_SUBDIRECTORIES,
        description="relative names of folders inside path; empty = all of path",
    )
    priority: Priority = "normal"
    include: list[Pattern] = Field(default_factory=list, max_length=MAX_PATTERNS)
    exclude: list[Pattern] = Field(default_factory=list, max_length=MAX_PATTERNS)


class Rates(BaseModel):
    ingested: float = Field(description="files per second over the last 60 s")
    embedded: float
    faces_done: float


class Progress(BaseModel):
    discovered: int
    ingested: int = Field(description="read and stored, or unchanged since an earlier ingest")
    embedded: int
    faces_done: int
    failed: int = Field(description="files failed at any stage, each once")
    discovery_complete: bool
    percent: float = Field(description="0..100 over the last stage that runs")
    rates: Rates
    eta_s: float | None

    @classmethod
    def of(cls, progress: SessionProgress) -> Progress:
        rates = progress.rates
        return cls(
            discovered=progress.discovered, ingested=progress.ingested, embedded=progress.embedded,
            faces_done=progress.faces_done, failed=progress.failed,
            discovery_complete=progress.discovery_complete, percent=progress.percent,
            rates=Rates(ingested=rates.ingested, embedded=rates.embedded, faces_done=rates.faces_done),
            eta_s=progress.eta_s,
        )


class SubdirectoryProgress(BaseModel):
    subdirectory: str
    progress: Progress


class Session(BaseModel):
    id: int
    path: str
    subdirectories: list[str]
    priority: Priority
    state: Literal["discovering", "running", "paused", "cancelled", "done"]
    origin: Literal["user", "watch"]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    progress: Progress
    subdirectory_progress: list[SubdirectoryProgress]

    @classmethod
    def of(cls, view: SessionView) -> Session:
        r = view.record
        return cls(
            id=r.id, path=r.root, subdirectories=r.subdirectories, priority=r.priority,  # type: ignore[arg-type]
            state=r.state, origin=r.origin, created_at=r.created_at,  # type: ignore[arg-type]
            updated_at=r.updated_at, finished_at=r.finished_at, progress=Progress.of(view.report.total),
            subdirectory_progress=[
                SubdirectoryProgress(subdirectory=sub, progress=Progress.of(p))
                for sub, p in view.report.subdirectories
            ],
        )


class SessionPage(BaseModel):
    sessions: list[Session]
    total: int


class Failure(BaseModel):
    path: str
    stage: Literal["ingest", "embed", "faces"]
    reason: str

    @classmethod
    def of(cls, failure: FileFailure) -> Failure:
        return cls(path=failure.path, stage=failure.stage, reason=failure.reason)  # type: ignore[arg-type]


class FailurePage(BaseModel):
    files: list[Failure]
    total: int
