"""The connections a service needs, opened from settings (distributed mode: every URL must be set).

The embedded runner builds the same Deps itself after starting nats-server and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.bus import Bus
from imgsearch.common.db.images import ImageRepository
from imgsearch.common.db.pool import open_pool
from imgsearch.common.errors import ConfigurationError
from imgsearch.common.settings import Settings
from imgsearch.common.vectors.port import VectorStore


@dataclass
class Deps:
    bus: Bus
    pool: AsyncConnectionPool
    vectors: VectorStore

    @property
    def images(self) -> ImageRepository:
        return ImageRepository(self.pool)

    async def close(self) -> None:
        await self.bus.drain()
        await self.vectors.close()
        await self.pool.close()


async def open_deps(settings: Settings, service: str, nats_url: str | None = None,
                    postgres_url: str | None = None) -> Deps:
    from imgsearch.common.vectors.factory import open_vector_store

    nats_url = nats_url or settings.nats.url
    postgres_url = postgres_url or settings.postgres.url
    if not nats_url or not postgres_url:
        raise ConfigurationError(
            f"{service} runs alone only with IMGSEARCH_NATS__URL and IMGSEARCH_POSTGRES__URL set;"
            " for everything in one process use `python -m imgsearch.runner`"
        )
    bus = await Bus.connect(
        nats_url, name=service, request_timeout_s=settings.nats.request_timeout_s,
        connect_timeout_s=settings.nats.connect_timeout_s,
    )
    await bus.ensure_streams(replicas=settings.nats.stream_replicas)
    pool = await open_pool(postgres_url, settings.postgres.pool_min, settings.postgres.pool_max)
    vectors = await open_vector_store(settings)
    return Deps(bus=bus, pool=pool, vectors=vectors)
