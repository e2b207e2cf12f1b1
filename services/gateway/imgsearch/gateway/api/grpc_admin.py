"""gRPC Admin service (imgsearch.api.v1.Admin): the REST operator operations."""

from __future__ import annotations

from dataclasses import asdict

import grpc

from imgsearch.api.v1 import admin_pb2 as pb
from imgsearch.api.v1 import admin_pb2_grpc
from imgsearch.gateway.admin import ReconcilePort
from imgsearch.gateway.api.grpc_errors import answer
from imgsearch.reconcile.report import ReconcileReport

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Admin"].full_name


class AdminServicer(admin_pb2_grpc.AdminServicer):
    def __init__(self, reconciler: ReconcilePort) -> None:
        self.reconciler = reconciler

    async def Reconcile(self, request: pb.ReconcileRequest, context: grpc.aio.ServicerContext
                        ) -> pb.ReconcileReport:
        return report_message(await answer(context, self.reconciler.run(repair=request.repair)))


def report_message(report: ReconcileReport) -> pb.ReconcileReport:
    return pb.ReconcileReport(
        run_id=report.run_id, repair=report.repair, drift=report.drift, repaired=report.repaired,
        images=pb.ImagesCheck(**asdict(report.images), drift=report.images.drift),
        faces=pb.FacesCheck(**asdict(report.faces), drift=report.faces.drift),
        streams=[
            pb.StreamState(name=s.name, messages=s.messages,
                           consumers=[pb.ConsumerState(**asdict(c)) for c in s.consumers])
            for s in report.streams
        ],
    )


def add_admin_service(server: grpc.aio.Server, reconciler: ReconcilePort) -> str:
    """Register the servicer; returns its full name (for health and reflection)."""
    admin_pb2_grpc.add_AdminServicer_to_server(AdminServicer(reconciler), server)  # type: ignore[no-untyped-call]
    return SERVICE_NAME
