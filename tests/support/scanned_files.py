"""Files as a folder walk reports them (path, size, mtime), for session tests that need no folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/lib")


@dataclass(frozen=True)
class Scanned:
    path: Path
    size: int = 10
    mtime_ns: int = 1
