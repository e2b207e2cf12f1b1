"""The faces pipeline in-process for integration tests: real nats-server, PostgreSQL, qdrant-edge, the
ingest and faces services (dlib), and helpers to label like a user and to wait for the services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from nats.aio.msg import Msg

from imgsearch.common.bus import Bus
from imgsearch.common.db.faces import FaceRepository
from imgsearch.common.db.people import PeopleRepository
from imgsearch.common.db.people_records import PeopleChange
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.settings import ClusteringSettings, ConsumerSettings, FacesSettings, Settings
from imgsearch.common.subjects import EVENTS, FACES_ASSIGNED, FACES_DETECTED, PEOPLE_CHANGED
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.events.v1 import events_pb2 as ev
from imgsearch.gateway.people import people_changed_events


@dataclass
class FacesStack:
    settings: Settings
    deps: Deps
    stop: asyncio.Event
    tasks: list[asyncio.Task[None]]
    detected: list[ev.FacesDetected] = field(default_factory=list)
    assigned: list[ev.FaceAssignment] = field(default_factory=list)

    @property
    def faces(self) -> FaceRepository:
        return FaceRepository(self.deps.pool)

    @property
    def people(self) -> PeopleRepository:
        return PeopleRepository(self.deps.pool)

    async def ingest(
        self, folder: Path, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
    ) -> None:
        from imgsearch.ingest.commands import request_ingest

        await request_ingest(self.deps.bus, folder, include, exclude)

    async def scalar(self, sql: str, *args: object) -> int:
        async with self.deps.pool.connection() as conn:
            row = await (await conn.execute(sql, args or None)).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def faces_done(self, images: int, timeout_s: float = 120.0) -> None:
        """Until ``images`` images have a faces status other than pending."""
        await wait_for(lambda: self._done_at_least(images), timeout_s, f"faces of {images} images")

    async def _done_at_least(self, images: int) -> bool:
        done = await self.scalar("SELECT count(*) FROM images WHERE faces_status <> 'pending'")
        pending = await self.scalar("SELECT count(*) FROM images WHERE faces_status = 'pending'")
        return done >= images and pending == 0

    async def publish(self, change: PeopleChange) -> None:
        """As the gateway announces a people write."""
        for event, msg_id in people_changed_events(change):
            await self.deps.bus.publish(PEOPLE_CHANGED, event, msg_id)

    async def quiet(self, durables: tuple[str, ...] = ("faces", "faces-people", "faces-clusters")) -> None:
        """Until those consumers have nothing pending or unacknowledged, twice in a row."""

        async def idle() -> bool:
            for durable in durables:
                info = await self.deps.bus.js.consumer_info(EVENTS.name, durable)
                if (info.num_pending or 0) + (info.num_ack_pending or 0):
                    return False
            return True

        await wait_for(idle, 60.0, "consumers to drain", settle=2)

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for task in self.tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        await self.deps.close()


async def wait_for(
    check: Callable[[], Awaitable[bool]], timeout_s: float, what: str, settle: int = 1
) -> None:
    deadline = time.monotonic() + timeout_s
    hits = 0
    while time.monotonic() < deadline:
        hits = hits + 1 if await check() else 0
        if hits >= settle:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def start_faces_stack(nats_url: str, pg_url: str, data_dir: Path, library: Path) -> FacesStack:
    import imgsearch.faces.bootstrap as faces_service
    import imgsearch.ingest.bootstrap as ingest_service

    settings = Settings(
        data_dir=data_dir,
        library_roots=[library],
        faces=FacesSettings(backend="dlib", workers=2),
        clustering=ClusteringSettings(interval_s=0),
        consumer=ConsumerSettings(max_deliver=2, ack_wait_s=30, backoff_s=[0.2]),
    )
    bus = await Bus.connect(nats_url, name="test-faces")
    await bus.ensure_streams()
    deps = Deps(
        bus=bus,
        pool=await open_pool(pg_url),
        vectors=QdrantEdgeStore(settings.vectors_dir, background_optimize=False),
    )
    stack = FacesStack(settings, deps, asyncio.Event(), [])

    async def on_detected(msg: Msg) -> None:
        stack.detected.append(ev.FacesDetected.FromString(msg.data))

    async def on_assigned(msg: Msg) -> None:
        stack.assigned.extend(ev.FacesAssigned.FromString(msg.data).assignments)

    await bus.nc.subscribe(FACES_DETECTED, cb=on_detected)
    await bus.nc.subscribe(FACES_ASSIGNED, cb=on_assigned)
    stack.tasks = [
        asyncio.create_task(ingest_service.serve(settings, deps, stack.stop)),
        asyncio.create_task(faces_service.serve(settings, deps, stack.stop)),
    ]
    return stack
