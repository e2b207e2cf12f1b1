"""gRPC API (grpc.aio): the ImageSearch service, health checking that follows readiness, and reflection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from imgsearch.api.v1 import people_pb2, people_pb2_grpc, search_pb2_grpc
from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.cameras import camera_name
from imgsearch.common.db.images import ImageRecord
from imgsearch.gateway.api import grpc_files
from imgsearch.gateway.api.grpc_admin import add_admin_service
from imgsearch.gateway.api.grpc_auth import AuthInterceptor
from imgsearch.gateway.api.grpc_errors import answer
from imgsearch.gateway.api.grpc_library import add_library_service
from imgsearch.gateway.api.grpc_people import PeopleServicer
from imgsearch.gateway.api.grpc_sessions import add_sessions_service
from imgsearch.gateway.api.grpc_system import add_system_service
from imgsearch.gateway.auth import Authenticator
from imgsearch.gateway.service import Gateway
from imgsearch.search.domain import thumbnail_url
from imgsearch.search.messages import timestamp

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ImageSearch"].full_name
PEOPLE_SERVICE_NAME = people_pb2.DESCRIPTOR.services_by_name["People"].full_name
HEALTH_SERVICE_NAME = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
HEALTH_INTERVAL_S = 5.0


class ImageSearchServicer(search_pb2_grpc.ImageSearchServicer):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def SearchText(
        self, request: pb.TextSearchRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchResponse:
        return await answer(context, self.gateway.search_text(request))

    async def SearchSimilar(
        self, request: pb.SimilarSearchRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchResponse:
        return await answer(context, self.gateway.search_similar(request))

    async def GetImage(self, request: pb.GetImageRequest, context: grpc.aio.ServicerContext) -> pb.Image:
        return image_message(await answer(context, self.gateway.image(request.image_id)))

    async def GetThumbnail(
        self, request: pb.GetImageRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImageFile:
        return await answer(context, grpc_files.thumbnail(self.gateway, request.image_id))

    async def GetOriginal(
        self, request: pb.GetImageRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.FileChunk]:
        async for chunk in grpc_files.original_chunks(self.gateway, request.image_id, context):
            yield chunk

    async def IngestFolder(
        self, request: pb.IngestFolderRequest, context: grpc.aio.ServicerContext
    ) -> pb.IngestFolderResponse:
        accepted = await answer(context, self.gateway.ingest(request.path, request.include, request.exclude))
        return pb.IngestFolderResponse(
            request_id=accepted.request_id, path=str(accepted.path), session_id=accepted.session_id
        )

    async def GetSystemInfo(
        self, request: pb.GetSystemInfoRequest, context: grpc.aio.ServicerContext
    ) -> pb.SystemInfo:
        return await answer(context, self.gateway.system_info())

    async def ListCameras(
        self, request: pb.ListCamerasRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCamerasResponse:
        page = await answer(context, self.gateway.camera_page(request.limit, request.offset))
        counts = [pb.CameraCount(camera=c.camera, images=c.images) for c in page.items]
        return pb.ListCamerasResponse(cameras=counts, total=page.total)


def image_message(record: ImageRecord) -> pb.Image:
    message = pb.Image(
        image_id=record.id, paths=record.paths, size_bytes=record.size_bytes, width=record.width or 0,
        height=record.height or 0, format=record.format or "", camera_make=record.camera_make or "",
        camera_model=record.camera_model or "", orientation=record.orientation or 0,
        has_gps=record.gps_lat is not None and record.gps_lon is not None,
        latitude=record.gps_lat or 0.0, longitude=record.gps_lon or 0.0,
        ingest_status=record.ingest_status, embed_status=record.embed_status, error=record.embed_error or "",
        thumbnail_url=thumbnail_url(record.id) if record.thumbnail_path else "",
        taken_at_source=record.taken_at_source or "",
        camera=camera_name(record.camera_make, record.camera_model) or "",
    )
    if record.taken_at is not None:
        message.taken_at.CopyFrom(timestamp(record.taken_at))
    return message


class GrpcServer:
    """The aio server with ImageSearch, People (when the gateway has it), health and reflection;
    health follows gateway readiness. With auth enabled every call but health and reflection needs a key."""

    def __init__(
        self, gateway: Gateway, host: str, port: int, health_interval_s: float = HEALTH_INTERVAL_S,
        auth: Authenticator | None = None,
    ) -> None:
        self.gateway = gateway
        interceptors = [AuthInterceptor(auth)] if auth is not None and auth.enabled else []
        self.server = grpc.aio.server(interceptors=interceptors)
        self.health = health.aio.HealthServicer()
        self.health_interval_s = health_interval_s
        search_pb2_grpc.add_ImageSearchServicer_to_server(  # type: ignore[no-untyped-call]
            ImageSearchServicer(gateway), self.server
        )
        self.services = [SERVICE_NAME, add_system_service(self.server, gateway)]
        if gateway.people is not None:
            people_pb2_grpc.add_PeopleServicer_to_server(  # type: ignore[no-untyped-call]
                PeopleServicer(gateway.people), self.server
            )
            self.services.append(PEOPLE_SERVICE_NAME)
        if gateway.catalog is not None:
            self.services.append(add_library_service(self.server, gateway.catalog))
        if gateway.sessions is not None:
            self.services.append(add_sessions_service(self.server, gateway.sessions))
        if gateway.reconciler is not None:
            self.services.append(add_admin_service(self.server, gateway.reconciler))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (*self.services, HEALTH_SERVICE_NAME, reflection.SERVICE_NAME), self.server
        )
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for service in ("", *self.services):  # until the first probe says otherwise
            await self.health.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        self._watch = asyncio.create_task(self._follow_readiness())

    async def stop(self, grace_s: float = 5.0) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace_s)

    async def update_health(self) -> None:
        info = await self.gateway.system_info()
        serving = health_pb2.HealthCheckResponse
        status = serving.SERVING if info.ready else serving.NOT_SERVING
        for service in ("", *self.services):
            await self.health.set(service, status)

    async def _follow_readiness(self) -> None:
        while True:
            try:
                await self.update_health()
            except Exception as exc:  # keep probing: a failed probe must not end health reporting
                log.warning("readiness probe failed: %r", exc)
            await asyncio.sleep(self.health_interval_s)

