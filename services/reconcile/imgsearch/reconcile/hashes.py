"""Perceptual hashes of ingested images against image_hashes: images ingested before near-duplicate
detection existed have none, so they are never found as near duplicates.

A repair computes them from the thumbnail (the upright preview at thumbnail size, JPEG): on the photos
of ../shared/data its full hash is within 2 bits of the preview's, which ingest hashes, for all but a few
nearly flat or synthetic pictures (tests/unit/test_reconcile_hashes.py). Pixels need Pillow, which the
gateway's dependency set lacks: without Pillow, or without the thumbnail, the image is only counted."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path

from imgsearch.common.db.duplicates import DuplicatesRepository
from imgsearch.common.perceptual import PerceptualHashes
from imgsearch.reconcile.report import ImagesCheck
from imgsearch.reconcile.store import ReconcileRepository

log = logging.getLogger(__name__)

PAGE = 500


class HashesReconciler:
    def __init__(self, repo: ReconcileRepository, duplicates: DuplicatesRepository,
                 thumbnails_dir: Path | None, near_threshold: int) -> None:
        """thumbnails_dir None: only count (no thumbnails here)."""
        self.repo, self.duplicates = repo, duplicates
        self.thumbnails_dir, self.near_threshold = thumbnails_dir, near_threshold

    async def check(self, report: ImagesCheck, repair: bool) -> None:
        hashing = repair and self.thumbnails_dir is not None and pixels_available()
        after = ""
        while rows := await self.repo.unhashed_page(after, PAGE):
            after = rows[-1][0]
            report.hashes_missing += len(rows)
            if not hashing:
                continue
            paths = [self._thumbnail(thumbnail) for _, thumbnail in rows]
            computed = await asyncio.to_thread(hash_thumbnails, paths)
            for (image_id, _), hashes in zip(rows, computed, strict=True):
                if hashes is not None:
                    await self.duplicates.record_hashes(image_id, hashes, self.near_threshold)
                    report.hashes_recorded += 1
        left = report.hashes_missing - report.hashes_recorded
        if repair and left:
            why = "no readable thumbnail" if hashing else (
                "no thumbnails directory here" if self.thumbnails_dir is None else "Pillow is not installed")
            log.warning("reconcile: %d images keep no perceptual hashes (%s)", left, why)

    def _thumbnail(self, stored: str | None) -> Path | None:
        """As the gateway serves it: images.thumbnail_path, relative ones under thumbnails_dir."""
        if not stored or self.thumbnails_dir is None:
            return None
        path = Path(stored)
        return path if path.is_absolute() else self.thumbnails_dir / path


def pixels_available() -> bool:
    """Pillow installed (without importing it: the gateway process keeps its imports small)."""
    return importlib.util.find_spec("PIL") is not None


def hash_thumbnails(paths: Sequence[Path | None]) -> list[PerceptualHashes | None]:
    """Thread side: the hashes of each thumbnail; None where it is absent or unreadable."""
    from PIL import Image

    from imgsearch.common.phash import perceptual_hashes

    found: list[PerceptualHashes | None] = []
    for path in paths:
        if path is None:
            found.append(None)
            continue
        try:
            with Image.open(path) as image:
                image.load()
                found.append(perceptual_hashes(image))
        except (OSError, ValueError) as exc:  # absent, truncated, not an image
            log.debug("thumbnail %s unreadable: %r", path, exc)
            found.append(None)
    return found
