"""The system status assembled at its ports (fake queues and face backend; the search service in-process):
figures, checks, warnings, the REST route and the System page."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from imgsearch.api.v1 import system_pb2 as pb
from imgsearch.common.db.face_records import BackendRecord
from imgsearch.common.settings import QdrantSettings, Settings
from imgsearch.common.subjects import COMMANDS, EVENTS
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.service import Gateway
from imgsearch.gateway.system import (
    NO_FACE_MODELS,
    Setup,
    SystemMonitor,
    setup_from_settings,
    without_credentials,
)
from imgsearch.search.messages import timestamp
from tests.support.gateway_world import build_world

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
SETUP = Setup(pb.VectorStoreStatus(kind="qdrant-edge", location="/data/vectors"), auth="off")


def consumer(stream: str, name: str, pending: int = 0, unacked: int = 0, waiting: int = 0,
             active: datetime | None = None, redelivered: int = 0) -> pb.ConsumerStatus:
    status = pb.ConsumerStatus(stream=stream, consumer=name, pending=pending, unacked=unacked,
                               waiting=waiting, redelivered=redelivered)
    if active is not None:
        status.last_active.CopyFrom(timestamp(active))
    return status


@dataclass
class FakeQueues:
    streams: dict[str, int] = field(default_factory=lambda: {EVENTS.name: 12, COMMANDS.name: 3})
    by_stream: dict[str, list[pb.ConsumerStatus]] = field(default_factory=dict)
    error: Exception | None = None
    hang: bool = False

    async def stream(self, name: str) -> pb.StreamStatus | None:
        if self.hang:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error
        if name not in self.streams:
            return None
        return pb.StreamStatus(name=name, messages=self.streams[name], bytes=100, consumers=1)

    async def consumers(self, stream: str) -> list[pb.ConsumerStatus]:
        return list(self.by_stream.get(stream, []))


@dataclass
class FakeFaces:
    record: BackendRecord | None = None
    error: Exception | None = None

    async def recorded_backend(self) -> BackendRecord | None:
        if self.error is not None:
            raise self.error
        return self.record


DLIB = BackendRecord("dlib", "dlib_face_recognition_resnet_model_v1", 128,
                     "no buffalo_l in /models: using dlib")


async def gateway_with(tmp_path: Path, executor: ThreadPoolExecutor, queues: FakeQueues, faces: FakeFaces,
                       setup: Setup = SETUP, random_weights: bool = False) -> Gateway:
    world = await build_world(tmp_path, executor, random_weights=random_weights)
    world.gateway.status = SystemMonitor(queues, faces, setup, timeout_s=0.2, now=lambda: NOW)
    return world.gateway


def client(gateway: Gateway) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(gateway), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def test_status_has_queues_models_and_backends(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    queues = FakeQueues(by_stream={
        EVENTS.name: [consumer(EVENTS.name, "faces", pending=4, waiting=1),
                      consumer(EVENTS.name, "embed", pending=7, unacked=2, redelivered=1, active=NOW)],
        COMMANDS.name: [consumer(COMMANDS.name, "ingest")],
    })
    gateway = await gateway_with(tmp_path, executor, queues, FakeFaces(DLIB))
    status = await gateway.system_status()
    assert [(c.stream, c.consumer, c.pending, c.unacked, c.redelivered) for c in status.consumers] == [
        (EVENTS.name, "embed", 7, 2, 1), (EVENTS.name, "faces", 4, 0, 0), (COMMANDS.name, "ingest", 0, 0, 0),
    ]
    assert [(s.name, s.messages) for s in status.streams] == [(EVENTS.name, 12), (COMMANDS.name, 3)]
    assert (status.faces.recorded, status.faces.backend, status.faces.dim) == (True, "dlib", 128)
    assert (status.vectors.kind, status.auth) == ("qdrant-edge", "off")
    assert status.model.model and status.indexed == 2
    assert [c.name for c in status.checks] == ["nats", "postgres", "search", "queues", "face backend"]
    assert status.ready and list(status.warnings) == []
    assert status.checked_at.ToDatetime(UTC) == NOW


async def test_warnings_a_user_must_see(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    stalled = consumer(EVENTS.name, "embed", pending=40, active=NOW - timedelta(hours=2))
    idle_but_empty = consumer(EVENTS.name, "faces", active=NOW - timedelta(days=3))
    asking = consumer(COMMANDS.name, "ingest", pending=5, waiting=1, active=NOW - timedelta(hours=2))
    queues = FakeQueues(by_stream={EVENTS.name: [stalled, idle_but_empty], COMMANDS.name: [asking]})
    gateway = await gateway_with(tmp_path, executor, queues, FakeFaces(None), random_weights=True)
    warnings = list((await gateway.system_status()).warnings)
    assert any("random" in w for w in warnings)  # from the search service
    assert NO_FACE_MODELS in warnings
    stalled_lines = [w for w in warnings if w.startswith("consumer ")]
    assert stalled_lines == [
        f"consumer embed on {EVENTS.name} has 40 messages to process and no pull, delivery or ack for"
        " 120 min: is its service running?"
    ]


async def test_dead_dependencies_are_failed_checks(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    gateway = await gateway_with(tmp_path, executor, FakeQueues(hang=True),
                                 FakeFaces(error=ConnectionError("connection refused")))
    status = await gateway.system_status()
    checks = {c.name: (c.ok, c.detail) for c in status.checks}
    assert checks["queues"] == (False, "no answer within 0.2s")
    assert checks["face backend"] == (False, "connection refused")
    assert not status.ready and not status.consumers
    assert not status.faces.recorded
    assert NO_FACE_MODELS not in status.warnings  # unknown, not "none recorded"
    assert list(status.warnings[:2]) == [
        "queues check failed: no answer within 0.2s", "face backend check failed: connection refused",
    ]
    async with client(gateway) as http:
        response = await http.get("/api/v1/system")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is False and body["consumers"] == []


async def test_a_missing_stream_fails_the_queues_check(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    embed = consumer(EVENTS.name, "embed", pending=5)
    queues = FakeQueues(streams={EVENTS.name: 5}, by_stream={EVENTS.name: [embed]})
    status = await (await gateway_with(tmp_path, executor, queues, FakeFaces(DLIB))).system_status()
    check = next(c for c in status.checks if c.name == "queues")
    assert not check.ok and COMMANDS.name in check.detail
    assert [c.consumer for c in status.consumers] == ["embed"]  # what could be read is still shown


async def test_without_a_monitor_the_status_is_readiness(tmp_path: Path,
                                                         executor: ThreadPoolExecutor) -> None:
    world = await build_world(tmp_path, executor, search_up=False)
    async with client(world.gateway) as http:
        body = (await http.get("/api/v1/system")).json()
        page = await http.get("/system")
    assert body["ready"] is False and body["consumers"] == [] and body["faces"] is None
    assert [c["name"] for c in body["checks"]] == ["nats", "postgres", "search"]
    assert body["warnings"][0].startswith("search check failed: ")
    assert page.status_code == 200 and "<caption>Queues</caption>" in page.text


async def test_page_shows_warnings_queues_and_backends(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    queues = FakeQueues(by_stream={EVENTS.name: [consumer(EVENTS.name, "embed", pending=1234, unacked=8,
                                                          redelivered=3)]})
    gateway = await gateway_with(tmp_path, executor, queues, FakeFaces(None), random_weights=True)
    async with client(gateway) as http:
        page = await http.get("/system")
    html = page.text
    assert page.status_code == 200 and "<h1>System</h1>" in html
    alert = html[html.index('role="alert"'):html.index("</div>", html.index('role="alert"'))]
    assert NO_FACE_MODELS in alert and "random" in alert
    row = html[html.index("<td>embed</td>"):]
    assert row.index("1,234") < row.index(">8<") < row.index(">3<")
    assert "qdrant-edge" in html and "none recorded: faces are not detected" in html
    assert 'class="table-wrap"' in html and '<link rel="stylesheet" href="/static/system.css">' in html


async def test_page_without_warnings_has_no_alert(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    gateway = await gateway_with(tmp_path, executor, FakeQueues(), FakeFaces(DLIB))
    async with client(gateway) as http:
        html = (await http.get("/system")).text
    assert 'role="alert"' not in html
    assert "No durable consumers" in html and "dlib" in html


async def test_queue_table_is_paged(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    many = [consumer(EVENTS.name, f"c{i:03d}") for i in range(120)]
    queues = FakeQueues(by_stream={EVENTS.name: many})
    gateway = await gateway_with(tmp_path, executor, queues, FakeFaces(DLIB))
    async with client(gateway) as http:
        first = (await http.get("/system")).text
        last = (await http.get("/system?offset=100")).text
        bad = await http.get("/system?offset=-1")
    assert "<td>c049</td>" in first and "<td>c050</td>" not in first and 'href="/system?offset=50"' in first
    assert "<td>c119</td>" in last and "<td>c099</td>" not in last and "Consumers 101–120 of 120" in last
    assert bad.status_code == 400


@pytest.mark.parametrize(("env", "auth", "warned"), [
    ({}, "off", False),
    ({"IMGSEARCH_HTTP__HOST": "0.0.0.0"}, "on", False),
    ({"IMGSEARCH_HTTP__HOST": "0.0.0.0", "IMGSEARCH_AUTH__MODE": "off"}, "off", True),
    ({"IMGSEARCH_AUTH__MODE": "on"}, "on", False),
])
def test_setup_from_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], auth: str,
                             warned: bool) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    setup = setup_from_settings(Settings(data_dir=Path("/data")))
    assert (setup.vectors.kind, setup.vectors.location) == ("qdrant-edge", "/data/vectors")
    assert setup.auth == auth and "IMGSEARCH_AUTH__MODE" in setup.auth_reason
    assert bool(setup.warnings) == warned


def test_qdrant_server_url_is_shown_without_credentials() -> None:
    settings = Settings(qdrant=QdrantSettings(url="https://user:secret@qdrant.internal:6333/"))
    setup = setup_from_settings(settings)
    assert (setup.vectors.kind, setup.vectors.location) == ("qdrant", "https://qdrant.internal:6333/")
    assert without_credentials("http://qdrant:6333") == "http://qdrant:6333"
    assert without_credentials("http://u:p@[::1]:6333/x") == "http://[::1]:6333/x"
    assert without_credentials("http://u@qdrant:notaport") == "http://qdrant:notaport"  # shown, not a 500
