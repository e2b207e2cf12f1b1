"""The clustering service: runs on a schedule and on request (imgsearch.v1.commands.clustering), writes
clusters to PostgreSQL, their ids into the faces collection, and publishes imgsearch.v1.clusters.updated."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from google.protobuf.message import DecodeError

from imgsearch.common.bus import Delivery, configured_consumer
from imgsearch.common.deps import Deps
from imgsearch.common.errors import InvalidInput, describe
from imgsearch.common.ids import message_id
from imgsearch.common.runtime import run_together, sleep_unless_stopped
from imgsearch.common.settings import Settings
from imgsearch.common.subjects import CLUSTERS_UPDATED, COMMANDS, COMMANDS_CLUSTERING
from imgsearch.common.vectors.port import FACES_COLLECTION
from imgsearch.events.v1 import events_pb2 as ev
from imgsearch.faces.calibration import calibration_for
from imgsearch.faces.clustering.service import ClusteringService, RunResult

log = logging.getLogger(__name__)
DURABLE = "clustering"
BACKEND_POLL_S = 5.0


class ClusteringWorker:
    def __init__(self, service: ClusteringService, deps: Deps) -> None:
        self.service = service
        self.deps = deps

    async def run(self, full: bool, reason: str) -> RunResult | None:
        result = await self.service.run(full=full, reason=reason)
        if result is None:
            return None
        if result.moved:
            await self.deps.vectors.set_payload(
                FACES_COLLECTION, {face: {"cluster_id": cluster} for face, cluster in result.moved.items()}
            )
        message = ev.ClustersUpdated(
            run_id=result.run_id,
            faces=result.faces,
            clusters=result.clusters,
            noise=result.noise,
            new_clusters=result.new_clusters,
            full=result.full,
        )
        await self.deps.bus.publish(
            CLUSTERS_UPDATED, message, message_id(CLUSTERS_UPDATED, str(result.run_id))
        )
        return result

    async def handle_requests(self, deliveries: Sequence[Delivery]) -> list[BaseException | None]:
        """Requests that arrive together are served by one run (full if any asked for it)."""
        outcomes: list[BaseException | None] = [None] * len(deliveries)
        full = False
        reasons = []
        for index, delivery in enumerate(deliveries):
            try:
                request = ev.ClusteringRequested.FromString(delivery.data)
            except DecodeError as exc:
                outcomes[index] = InvalidInput(f"not a ClusteringRequested message: {exc}")
                continue
            full = full or request.full
            reasons.append(request.reason or "requested")
        if reasons:
            await self.run(full, ", ".join(sorted(set(reasons)))[:200])
        return outcomes

    async def schedule(self, interval_s: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await sleep_unless_stopped(stop, interval_s)
            if stop.is_set():
                return
            try:
                await self.run(False, "schedule")
            except Exception as exc:  # the next tick tries again; a request is retried by the bus
                log.warning("scheduled clustering failed: %s", describe(exc))

    async def dead_letter(self, delivery: Delivery, error: BaseException) -> None:
        await self.deps.images.record_dead_letter(
            COMMANDS.name,
            DURABLE,
            delivery.subject,
            delivery.stream_seq,
            delivery.deliveries,
            describe(error),
            delivery.data,
        )


async def serve(settings: Settings, deps: Deps, stop: asyncio.Event) -> None:
    from imgsearch.common.db.faces import FaceRepository

    store = FaceRepository(deps.pool)
    recorded = await store.recorded_backend()
    while recorded is None:  # the faces service records the library's backend on its first start
        log.info("clustering waits for the faces service to record the library's face backend")
        await sleep_unless_stopped(stop, BACKEND_POLL_S)
        if stop.is_set():
            return
        recorded = await store.recorded_backend()
    cal = calibration_for(recorded.backend)
    config = settings.clustering
    service = ClusteringService(
        store,
        recorded.dim,
        cal,
        min_cluster_size=config.min_cluster_size,
        min_samples=config.min_samples,
        full_every_new_share=config.full_every_new_share,
    )
    worker = ClusteringWorker(service, deps)
    spec = replace(  # a full run of 100k faces takes tens of seconds: a long ack wait
        configured_consumer(settings.consumer, COMMANDS.name, DURABLE, COMMANDS_CLUSTERING, batch_size=16),
        ack_wait_s=max(settings.consumer.ack_wait_s, 600.0), max_ack_pending=64,
    )
    log.info("clustering on request (%s) and every %.0f s", COMMANDS_CLUSTERING, config.interval_s)
    jobs = [deps.bus.consume(spec, worker.handle_requests, worker.dead_letter, stop)]
    if config.interval_s > 0:
        jobs.append(worker.schedule(config.interval_s, stop))
    await run_together(jobs, stop)
