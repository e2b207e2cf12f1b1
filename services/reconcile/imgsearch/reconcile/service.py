"""One reconcile run: the stream first (it decides whether a pending image is stalled), then images (their
points, payloads and perceptual hashes) and faces. Runs one at a time per process; a dry run
(repair=False) changes nothing."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime

from imgsearch.common.bus import Bus
from imgsearch.common.db.duplicates import DuplicatesRepository
from imgsearch.common.db.faces import FaceRepository
from imgsearch.common.deps import Deps
from imgsearch.common.settings import DuplicatesSettings, Settings
from imgsearch.reconcile.faces import FacesReconciler
from imgsearch.reconcile.hashes import HashesReconciler
from imgsearch.reconcile.images import ImagesReconciler
from imgsearch.reconcile.report import ReconcileReport
from imgsearch.reconcile.store import ReconcileRepository
from imgsearch.reconcile.streams import embed_work_left, stream_states

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, deps: Deps, settings: Settings | None = None) -> None:
        """settings: where thumbnails are (missing perceptual hashes are computed from them) and the
        near-duplicate threshold; None: missing hashes are only counted."""
        self.bus: Bus = deps.bus
        self.deps = deps
        self.thumbnails_dir = settings.thumbnails_dir if settings is not None else None
        duplicates = settings.duplicates if settings is not None else DuplicatesSettings()
        self.near_threshold = duplicates.near_threshold
        self._lock = asyncio.Lock()

    async def run(self, repair: bool) -> ReconcileReport:
        async with self._lock:
            run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
            report = ReconcileReport(run_id=run_id, repair=repair)
            repo = ReconcileRepository(self.deps.pool)
            report.streams = await stream_states(self.bus.js)
            images = ImagesReconciler(repo, self.deps.vectors, self.bus, run_id)
            await images.check(report.images, repair, embed_work_left(report.streams))
            hashes = HashesReconciler(repo, DuplicatesRepository(self.deps.pool), self.thumbnails_dir,
                                      self.near_threshold)
            await hashes.check(report.images, repair)
            faces = FacesReconciler(repo, FaceRepository(self.deps.pool), self.deps.vectors)
            await faces.check(report.faces, repair)
            log.info("reconcile %s (repair=%s): drift %d, repaired %d", run_id, repair, report.drift,
                     report.repaired)
            return report
