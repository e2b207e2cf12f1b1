"""What the Import pages show, computed from the gateway's listings and sessions (pure: no I/O), so the
templates only lay it out. static/import.js repeats the few formatting rules here (percent, rate, ETA,
which actions apply) when it redraws a session from GET /api/v1/sessions/{id}."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from imgsearch.common.db.session_records import SessionProgress
from imgsearch.gateway.browse import Listing
from imgsearch.gateway.sessions import SessionView
from imgsearch.gateway.ui.render import pager as pager

MOVING = frozenset({"discovering", "running"})
ACTIONS = {"pause": MOVING, "resume": frozenset({"paused"}), "cancel": MOVING | {"paused"}}


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str


@dataclass(frozen=True)
class DirectoryRow:
    index: int  # on the page: the checkbox's id (names may hold anything)
    name: str  # the checkbox value: the name relative to the current folder
    label: str  # shown
    photos: int
    subdirectories: int
    open_url: str  # "" when the name cannot travel in a URL (not UTF-8)
    selectable: bool


@dataclass(frozen=True)
class Stage:
    key: str  # the API's field: ingested, embedded, faces_done, failed
    label: str
    count: int
    total: int
    rate: str  # "" for failed


@dataclass(frozen=True)
class Summary:
    """A session or one of its subdirectories: its numbers as the page shows them."""

    percent: int
    discovered: int
    failed: int
    eta: str
    stages: list[Stage]


@dataclass(frozen=True)
class SessionRow:
    id: int
    folder: str
    subdirectories: list[str]
    priority: str
    origin: str
    state: str
    created_at: datetime
    finished_at: datetime | None
    discovery_complete: bool
    finished: bool  # nothing will change any more: the page stops following it
    actions: frozenset[str]
    summary: Summary


def breadcrumb(listing: Listing, url: Callable[[str | None], str], several_roots: bool) -> list[Crumb]:
    """Library (with several roots) › the root › each folder down to the current one."""
    crumbs = [Crumb("Library", url(None))] if several_roots or listing.path is None else []
    if listing.path is None or listing.root is None:
        return crumbs
    root, folder = PurePosixPath(listing.root), PurePosixPath(listing.path)
    crumbs.append(Crumb(shown(str(root)), url(str(root))))
    current = root
    for part in folder.relative_to(root).parts:
        current = current / part
        crumbs.append(Crumb(shown(part), url(str(current))))
    return crumbs


def directory_rows(listing: Listing, offset: int, url: Callable[[str | None], str]) -> list[DirectoryRow]:
    """listing: one page of directories, starting at offset."""
    rows = []
    for index, entry in enumerate(listing.directories, start=offset):
        usable = is_utf8(entry.path)
        rows.append(DirectoryRow(
            index=index, name=entry.name if usable else "", label=shown(entry.name),
            photos=entry.image_files, subdirectories=entry.subdirectories,
            open_url=url(entry.path) if usable else "",
            selectable=usable and listing.path is not None,
        ))
    return rows


def session_row(view: SessionView) -> SessionRow:
    record, total = view.record, view.report.total
    over = finished(record.state, total.percent)
    return SessionRow(
        id=record.id, folder=record.root, subdirectories=record.subdirectories, priority=record.priority,
        origin=record.origin, state=record.state, created_at=record.created_at,
        finished_at=record.finished_at, discovery_complete=record.discovery_complete,
        finished=over,
        actions=frozenset(action for action, states in ACTIONS.items() if record.state in states),
        summary=summary(total, over),
    )


def subdirectory_summaries(view: SessionView) -> list[tuple[str, Summary]]:
    return [(name, summary(progress)) for name, progress in view.report.subdirectories]


def summary(progress: SessionProgress, over: bool = False) -> Summary:
    """over: the session is finished (no ETA to show)."""
    total = progress.discovered
    stages = [
        Stage("ingested", "Ingested", progress.ingested, total, rate(progress.rates.ingested)),
        Stage("embedded", "Embedded", progress.embedded, total, rate(progress.rates.embedded)),
        Stage("faces_done", "Faces", progress.faces_done, total, rate(progress.rates.faces_done)),
        Stage("failed", "Failed", progress.failed, total, ""),
    ]
    eta = duration(None if over else progress.eta_s)
    return Summary(percent(progress.percent), total, progress.failed, eta, stages)


def finished(state: str, percent_done: float) -> bool:
    """Cancelled, or done with every stage through ("done" means ingested: embed and faces go on)."""
    return state == "cancelled" or (state == "done" and percent_done >= 100.0)


def percent(value: float) -> int:
    """Whole percent, rounded down: 100 only when everything is through."""
    return max(0, min(100, math.floor(value)))


def rate(per_second: float) -> str:
    if per_second <= 0:
        return "—"
    return f"{per_second:.1f}/s" if per_second < 100 else f"{per_second:,.0f}/s"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(text: str) -> str:
    """A name as the page can print it: bytes that are not UTF-8 (surrogate escapes) as U+FFFD."""
    if is_utf8(text):
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate that no file name produced
        return text.encode("utf-8", "replace").decode("utf-8")


def ticked(names: Sequence[str]) -> str:
    return "the whole folder" if not names else f"{len(names)} subdirector{'y' if len(names) == 1 else 'ies'}"
