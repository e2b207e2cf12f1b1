"""The system status over a real nats-server and PostgreSQL: consumer backlogs as JetStream counts them, the
face backend the faces service records, the same figures over REST, gRPC and the System page, and a NATS
that goes away reported as a failed check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from nats.js import api
from psycopg_pool import AsyncConnectionPool

from imgsearch.api.v1 import system_pb2, system_pb2_grpc
from imgsearch.common.bus import Bus
from imgsearch.common.db.face_records import BackendRecord
from imgsearch.common.db.faces import FaceRepository
from imgsearch.common.infra.nats_server import NatsServer
from imgsearch.common.settings import Settings
from imgsearch.common.subjects import COMMANDS, EVENTS, IMAGES_INGESTED
from imgsearch.gateway.api.grpc import GrpcServer
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.service import Gateway
from imgsearch.gateway.system import NO_FACE_MODELS, JetStreamQueues, SystemMonitor, setup_from_settings
from tests.support.gateway_world import build_world

pytestmark = pytest.mark.integration

PUBLISHED = 7
TAKEN = 3  # fetched by the "busy" durable and left unacked


@dataclass
class World:
    gateway: Gateway
    bus: Bus
    pool: AsyncConnectionPool

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=create_app(self.gateway), raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.fixture
async def world(tmp_path: Path, nats_url: str, pool: AsyncConnectionPool) -> AsyncIterator[World]:
    bus = await Bus.connect(nats_url, name="system-test", connect_timeout_s=5)
    await bus.ensure_streams()
    with ThreadPoolExecutor(max_workers=1) as executor:
        base = await build_world(tmp_path, executor)
        settings = Settings(data_dir=tmp_path / "data")
        base.gateway.status = SystemMonitor(JetStreamQueues(bus.js), FaceRepository(pool),
                                            setup_from_settings(settings), timeout_s=1.0)
        yield World(base.gateway, bus, pool)
    await bus.drain(timeout_s=1.0)


async def add_durable(bus: Bus, name: str) -> None:
    await bus.js.add_consumer(EVENTS.name, api.ConsumerConfig(
        durable_name=name, ack_policy=api.AckPolicy.EXPLICIT, filter_subject=IMAGES_INGESTED, ack_wait=60,
    ))


async def backlog(bus: Bus) -> None:
    """PUBLISHED events; "lagging" consumes none of them, "busy" has TAKEN delivered and unacked."""
    await add_durable(bus, "lagging")
    await add_durable(bus, "busy")
    for i in range(PUBLISHED):
        await bus.publish(IMAGES_INGESTED, f"image {i}".encode(), msg_id=f"image-{i}")
    busy = await bus.js.pull_subscribe_bind(durable="busy", stream=EVENTS.name)
    taken = await busy.fetch(TAKEN, timeout=5)
    assert len(taken) == TAKEN


def figures(consumers: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {(c["stream"], c["consumer"]): (int(c.get("pending", 0)), int(c.get("unacked", 0)),
                                           int(c.get("redelivered", 0))) for c in consumers}


async def test_rest_grpc_and_page_show_the_real_backlog(world: World) -> None:
    await backlog(world.bus)
    await FaceRepository(world.pool).record_backend(BackendRecord("dlib", "resnet", 128, "no buffalo_l"))
    expected = {(EVENTS.name, "busy"): (PUBLISHED - TAKEN, TAKEN, 0),
                (EVENTS.name, "lagging"): (PUBLISHED, 0, 0)}

    async with world.client() as http:
        response = await http.get("/api/v1/system")
        page = await http.get("/system")
    assert response.status_code == 200
    body = response.json()
    assert figures(body["consumers"]) == expected
    assert {s["name"]: s["messages"] for s in body["streams"]} == {EVENTS.name: PUBLISHED, COMMANDS.name: 0}
    assert body["faces"] == {"recorded": True, "backend": "dlib", "model": "resnet", "dim": 128,
                             "reason": "no buffalo_l"}
    assert body["ready"] is True and body["warnings"] == []
    busy = next(c for c in body["consumers"] if c["consumer"] == "busy")
    assert busy["last_active"] is not None and busy["delivered_seq"] == TAKEN

    server = GrpcServer(world.gateway, "127.0.0.1", 0)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = system_pb2_grpc.SystemStub(channel)  # type: ignore[no-untyped-call]
            status = await stub.GetStatus(system_pb2.GetStatusRequest())
    finally:
        await server.stop(0)
    as_dicts = [MessageToDict(c, preserving_proto_field_name=True) for c in status.consumers]
    assert figures(as_dicts) == expected
    assert (status.faces.backend, status.vectors.kind, status.auth) == ("dlib", "qdrant-edge", "off")

    html = page.text
    assert page.status_code == 200 and "<caption>Queues</caption>" in html and 'role="alert"' not in html
    lagging = html[html.index("<td>lagging</td>"):]
    assert lagging.index(f'<td class="num">{PUBLISHED}</td>') < lagging.index("</tr>")
    busy_row = html[html.index("<td>busy</td>"):]
    busy_row = busy_row[:busy_row.index("</tr>")]
    assert f'<td class="num">{PUBLISHED - TAKEN}</td>\n          <td class="num">{TAKEN}</td>' in busy_row


async def test_no_face_backend_recorded_is_a_warning(world: World) -> None:
    async with world.client() as http:
        body = (await http.get("/api/v1/system")).json()
        html = (await http.get("/system")).text
    assert body["faces"]["recorded"] is False and NO_FACE_MODELS in body["warnings"]
    assert 'role="alert"' in html and NO_FACE_MODELS in html


async def test_nats_going_away_is_a_failed_check(world: World, nats_server: NatsServer) -> None:
    await asyncio.to_thread(nats_server.stop)
    async with world.client() as http:
        response = await http.get("/api/v1/system")
        page = await http.get("/system")
    assert response.status_code == 200
    body = response.json()
    queues = next(c for c in body["checks"] if c["name"] == "queues")
    assert queues["ok"] is False and queues["detail"]
    assert body["ready"] is False and body["consumers"] == []
    assert body["faces"]["recorded"] is False  # PostgreSQL still answers
    assert page.status_code == 200 and "queues check failed" in page.text

    await asyncio.to_thread(nats_server.start)  # same port, same store: the client reconnects
    await asyncio.wait_for(queues_answer(world), timeout=30)


async def queues_answer(world: World) -> None:
    while True:
        status = await world.gateway.system_status()
        if all(c.ok for c in status.checks if c.name == "queues"):
            assert {s.name for s in status.streams} == {EVENTS.name, COMMANDS.name}
            return
        await asyncio.sleep(0.1)
