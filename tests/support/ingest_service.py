"""The ingest service alone on the real nats-server and PostgreSQL (it never touches vectors), started and
stopped by the test, and the images.ingested events it published."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.bus import Bus
from imgsearch.common.db.pool import open_pool
from imgsearch.common.db.sessions import SessionRepository
from imgsearch.common.deps import Deps
from imgsearch.common.settings import Settings
from imgsearch.common.subjects import EVENTS, IMAGES_INGESTED
from imgsearch.events.v1.events_pb2 import ImageIngested
from imgsearch.ingest.bootstrap import serve
from imgsearch.ingest.commands import request_ingest


@dataclass
class IngestService:
    bus: Bus
    pool: AsyncConnectionPool
    settings: Settings
    library: Path
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def sessions(self) -> SessionRepository:
        return SessionRepository(self.pool)

    def start(self) -> None:
        self.stop = asyncio.Event()
        deps = Deps(bus=self.bus, pool=self.pool, vectors=cast(Any, None))
        self.task = asyncio.create_task(serve(self.settings, deps, self.stop))

    async def halt(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout=30)

    async def session(self, folder: str, priority: str) -> int:
        """As the gateway does it: the session in PostgreSQL, then the command that wakes the service."""
        path = self.library / folder
        session_id = await self.sessions.create(path, [], priority, [], [])
        await request_ingest(self.bus, path, session_id=session_id)
        return session_id

    async def scalar(self, sql: str, *args: object) -> Any:
        async with self.pool.connection() as conn:
            row = await (await conn.execute(sql, args or None)).fetchone()
        assert row is not None
        return row[0]


@asynccontextmanager
async def ingest_service(nats_url: str, pg_url: str, settings: Settings, library: Path, *, name: str,
                         max_connections: int) -> AsyncIterator[IngestService]:
    """The service started on its own bus connection and pool; halted, drained and closed after."""
    bus = await Bus.connect(nats_url, name=name)
    await bus.ensure_streams()
    pool = await open_pool(pg_url, 1, max_connections)
    service = IngestService(bus, pool, settings, library)
    service.start()
    yield service
    await service.halt()
    await bus.drain()
    await pool.close()


async def ingested_events(bus: Bus) -> list[ImageIngested]:
    """Every images.ingested still in the events stream, in order."""
    info = await bus.js.stream_info(EVENTS.name)
    events = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await bus.js.get_msg(EVENTS.name, seq)
        if msg.subject == IMAGES_INGESTED and msg.data:
            events.append(ImageIngested.FromString(msg.data))
    return events
