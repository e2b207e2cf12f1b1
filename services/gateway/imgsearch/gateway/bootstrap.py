"""Build the gateway from its adapters; run the HTTP (uvicorn) and gRPC (grpc.aio) servers until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import uvicorn

from imgsearch.common.bus import Bus
from imgsearch.common.db.api_keys import ApiKeyRepository
from imgsearch.common.db.cameras import CameraRepository
from imgsearch.common.db.duplicates import DuplicatesRepository
from imgsearch.common.db.people import PeopleRepository
from imgsearch.common.db.sessions import SessionRepository
from imgsearch.common.deps import Deps
from imgsearch.common.errors import ConfigurationError, Unavailable
from imgsearch.common.settings import Settings
from imgsearch.gateway.api.grpc import GrpcServer
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.auth import (
    Authenticator,
    auth_decision,
    authenticator_for,
    is_loopback,
    warn_without_keys,
)
from imgsearch.gateway.browse import DirectoryBrowser
from imgsearch.gateway.files import LibraryRoots
from imgsearch.gateway.library import LibraryCatalog
from imgsearch.gateway.people import PeopleService
from imgsearch.gateway.service import Gateway, IngestRequester
from imgsearch.gateway.sessions import IngestSessions, SessionWaker
from imgsearch.gateway.system import system_monitor
from imgsearch.reconcile.service import Reconciler
from imgsearch.search.client import SearchClient

log = logging.getLogger(__name__)
STARTUP_TIMEOUT_S = 10.0


def build_gateway(settings: Settings, deps: Deps) -> Gateway:
    async def nats() -> None:
        if not deps.bus.nc.is_connected:
            raise Unavailable("not connected to NATS")

    async def postgres() -> None:
        async with deps.pool.connection() as conn:
            await conn.execute("SELECT 1")

    people = PeopleService(PeopleRepository(deps.pool), deps.bus.publish, crops_dir=settings.face_crops_dir)
    library = LibraryRoots(settings.library_roots)
    catalog = LibraryCatalog(
        DirectoryBrowser(library, settings.ingest.exclude, settings.browse.cache_directories),
        DuplicatesRepository(deps.pool), settings.duplicates.near_threshold,
    )
    return Gateway(
        search=SearchClient(deps.bus), images=deps.images, request_ingest=ingest_requester(deps.bus),
        library=library, thumbnails_dir=settings.thumbnails_dir, catalog=catalog,
        probes={"nats": nats, "postgres": postgres}, people=people, cameras=CameraRepository(deps.pool),
        reconciler=Reconciler(deps, settings),
        sessions=IngestSessions(SessionRepository(deps.pool), library, session_waker(deps.bus)),
        status=system_monitor(deps, settings),
    )


def ingest_requester(bus: Bus) -> IngestRequester:
    async def request(path: Path, include: Sequence[str], exclude: Sequence[str]) -> str:
        from imgsearch.ingest.commands import request_ingest  # no Pillow: safe in the gateway pod

        request_id: str = await request_ingest(bus, path, include=include, exclude=exclude)
        return request_id

    return request


def session_waker(bus: Bus) -> SessionWaker:
    async def wake(session_id: int, folder: Path) -> str:
        from imgsearch.ingest.commands import request_ingest

        request_id: str = await request_ingest(bus, folder, session_id=session_id)
        return request_id

    return wake


class GatewayServers:
    """Both servers of one gateway. After start(), http_port and grpc_port are the bound ports (port 0 ok)."""

    def __init__(self, gateway: Gateway, settings: Settings, auth: Authenticator | None = None) -> None:
        self.gateway = gateway
        self.settings = settings
        self.auth = auth  # None: no API keys asked for; refused at start() when the settings want them
        self.http_port = 0
        self.grpc_port = 0
        self._uvicorn: _Uvicorn | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._grpc: GrpcServer | None = None

    async def start(self) -> None:
        http, grpc_settings = self.settings.http, self.settings.grpc
        required, why = auth_decision(self.settings)
        if required and (self.auth is None or not self.auth.enabled):
            raise ConfigurationError(f"authentication is required ({why}) but the gateway has no key store")
        sock = _listen(http.host, http.port)
        self.http_port = sock.getsockname()[1]
        # Auth off on loopback: guard against DNS rebinding (README "Authentication").
        loopback_hosts = http.allowed_hosts if not required and is_loopback(http.host) else None
        config = uvicorn.Config(
            create_app(self.gateway, self.auth, http.cors_origins, loopback_hosts), log_config=None,
            lifespan="off",
            access_log=False, timeout_graceful_shutdown=5,
        )
        self._uvicorn = _Uvicorn(config)
        self._http_task = asyncio.create_task(self._uvicorn.serve(sockets=[sock]))
        try:
            self._grpc = GrpcServer(self.gateway, grpc_settings.host, grpc_settings.port, auth=self.auth)
        except RuntimeError as exc:
            await self.stop()
            raise ConfigurationError(
                f"cannot listen for gRPC on {grpc_settings.host}:{grpc_settings.port}"
                f" (IMGSEARCH_GRPC__HOST / IMGSEARCH_GRPC__PORT): {exc}"
            ) from exc
        self.grpc_port = self._grpc.port
        await self._grpc.start()
        await self._wait_http_started()
        log.info("gateway: REST on http://%s:%d (docs at /docs), gRPC on %s:%d",
                 http.host, self.http_port, grpc_settings.host, self.grpc_port)
        await warn_without_keys(self.auth)

    async def stop(self) -> None:
        if self._grpc is not None:
            await self._grpc.stop()
        if self._uvicorn is not None and self._http_task is not None:
            self._uvicorn.should_exit = True
            await self._http_task

    async def _wait_http_started(self) -> None:
        assert self._uvicorn is not None and self._http_task is not None
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
        while not self._uvicorn.started:
            if self._http_task.done():
                self._http_task.result()  # raises what made uvicorn fail
                raise ConfigurationError("the HTTP server stopped during startup")
            if asyncio.get_running_loop().time() > deadline:
                raise Unavailable("the HTTP server did not start in time")
            await asyncio.sleep(0.01)


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the process runtime owns SIGTERM and sets stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"cannot listen for HTTP on {host}:{port} (IMGSEARCH_HTTP__HOST / IMGSEARCH_HTTP__PORT): {exc}"
        ) from exc
    return sock


async def serve(
    settings: Settings, deps: Deps, stop: asyncio.Event,
    on_started: Callable[[GatewayServers], None] | None = None,
) -> None:
    """Serve REST and gRPC until stop is set. on_started gets the running servers (bound ports)."""
    auth = authenticator_for(settings, ApiKeyRepository(deps.pool))
    servers = GatewayServers(build_gateway(settings, deps), settings, auth)
    await servers.start()
    try:
        if on_started is not None:
            on_started(servers)
        await stop.wait()
    finally:
        await servers.stop()
