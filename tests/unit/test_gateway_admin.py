"""The operator API (REST POST /api/v1/reconcile, gRPC Admin.Reconcile) over a fake reconciler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import pytest

from imgsearch.api.v1 import admin_pb2, admin_pb2_grpc
from imgsearch.common.errors import Unavailable
from imgsearch.gateway.api.grpc import GrpcServer
from imgsearch.gateway.api.http import create_app
from imgsearch.reconcile.report import (
    ConsumerState,
    FacesCheck,
    ImagesCheck,
    ReconcileReport,
    StreamState,
)
from tests.support.gateway_world import GatewayWorld, build_world


@dataclass
class FakeReconciler:
    down: bool = False
    calls: list[bool] = field(default_factory=list)

    async def run(self, repair: bool) -> ReconcileReport:
        if self.down:
            raise Unavailable("NATS is not reachable")
        self.calls.append(repair)
        return ReconcileReport(
            run_id="run-1", repair=repair,
            images=ImagesCheck(postgres=7, points=4, missing=4, embedded_without_vector=2, pending_stalled=1,
                               failed=1, orphans=1, republished=3 if repair else 0),
            faces=FacesCheck(postgres=4, points=4, missing=1, orphans=1, payload_drift=1),
            streams=[StreamState("IMGSEARCH_EVENTS", 12, [ConsumerState("embed", 0, 0, 2)])],
        )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[GatewayWorld]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        world = await build_world(tmp_path, executor)
        world.gateway.reconciler = FakeReconciler()
        yield world


def reconciler(world: GatewayWorld) -> FakeReconciler:
    assert isinstance(world.gateway.reconciler, FakeReconciler)
    return world.gateway.reconciler


async def post(world: GatewayWorld, body: object | None) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(world.gateway), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        if body is None:
            return await client.post("/api/v1/reconcile")
        return await client.post("/api/v1/reconcile", json=body)


async def test_rest_reconcile_reports_counts_and_drift(world: GatewayWorld) -> None:
    response = await post(world, {"repair": True})
    assert response.status_code == 200
    report = response.json()
    assert report["repair"] is True and report["run_id"] == "run-1"
    assert report["images"]["drift"] == 4 and report["images"]["republished"] == 3
    assert report["faces"]["drift"] == 3
    assert (report["drift"], report["repaired"]) == (7, 3)
    assert report["streams"] == [{"name": "IMGSEARCH_EVENTS", "messages": 12, "consumers": [
        {"name": "embed", "pending": 0, "ack_pending": 0, "redelivered": 2}]}]
    assert reconciler(world).calls == [True]


async def test_rest_reconcile_is_a_dry_run_by_default(world: GatewayWorld) -> None:
    assert (await post(world, None)).status_code == 200
    assert (await post(world, {})).json()["repair"] is False
    assert reconciler(world).calls == [False, False]


async def test_rest_reconcile_refuses_bad_bodies_and_reports_outages(world: GatewayWorld) -> None:
    for body in ({"repair": "sometimes"}, {"repair": True, "force": 1}):
        response = await post(world, body)
        assert response.status_code == 400 and response.json()["error"] == "InvalidInput"
    assert reconciler(world).calls == []
    reconciler(world).down = True
    response = await post(world, {"repair": False})
    assert response.status_code == 503 and "NATS" in response.json()["message"]


async def test_grpc_admin_reconcile(world: GatewayWorld) -> None:
    server = GrpcServer(world.gateway, "127.0.0.1", 0, health_interval_s=60)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        stub = admin_pb2_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        report = await stub.Reconcile(admin_pb2.ReconcileRequest(repair=False))
        assert (report.drift, report.repaired, report.repair) == (7, 0, False)
        assert (report.images.embedded_without_vector, report.images.drift) == (2, 4)
        assert (report.faces.payload_drift, report.faces.drift) == (1, 3)
        assert report.streams[0].consumers[0].redelivered == 2
        reconciler(world).down = True
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Reconcile(admin_pb2.ReconcileRequest(repair=True))
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await channel.close()
        await server.stop(0)
