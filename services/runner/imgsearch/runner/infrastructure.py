"""Start what is not configured: nats-server and PostgreSQL from wheels, under the data dir."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from imgsearch.common.infra.nats_server import NatsServer
from imgsearch.common.infra.postgres import EmbeddedPostgres
from imgsearch.common.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Infrastructure:
    nats_url: str
    postgres_url: str
    _nats: NatsServer | None = None
    _postgres: EmbeddedPostgres | None = None
    started: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, settings: Settings) -> Infrastructure:
        nats = postgres = None
        try:
            nats_url = settings.nats.url
            if not nats_url:
                nats = NatsServer(settings.data_dir / "nats", port=settings.nats.embedded_port or None)
                nats.start()
                nats_url = nats.url
                log.info("started embedded nats-server (JetStream) at %s", nats_url)
            postgres_url = settings.postgres.url
            if not postgres_url:
                postgres = EmbeddedPostgres(settings.data_dir / "postgres")
                postgres_url = postgres.start()
                log.info("started embedded PostgreSQL in %s", postgres.pgdata)
        except BaseException:
            if nats is not None:
                nats.stop()
            raise
        return cls(nats_url, postgres_url, nats, postgres)

    def stop(self) -> None:
        if self._postgres is not None:
            self._postgres.stop()
        if self._nats is not None:
            self._nats.stop()
