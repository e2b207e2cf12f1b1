"""gRPC System service (imgsearch.api.v1.System): the status REST GET /api/v1/system answers."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from imgsearch.api.v1 import system_pb2 as pb
from imgsearch.api.v1 import system_pb2_grpc
from imgsearch.gateway.api.grpc_errors import answer
from imgsearch.gateway.service import Gateway

Context: TypeAlias = grpc.aio.ServicerContext
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["System"].full_name


class SystemServicer(system_pb2_grpc.SystemServicer):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def GetStatus(self, request: pb.GetStatusRequest, context: Context) -> pb.SystemStatus:
        return await answer(context, self.gateway.system_status())


def add_system_service(server: grpc.aio.Server, gateway: Gateway) -> str:
    """Register the servicer; returns its full name (for health and reflection)."""
    system_pb2_grpc.add_SystemServicer_to_server(  # type: ignore[no-untyped-call]
        SystemServicer(gateway), server
    )
    return SERVICE_NAME
