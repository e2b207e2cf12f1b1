"""The ingest sessions API over REST and gRPC, on a real PostgreSQL: create, read, list, pause / resume /
cancel, failures, POST /api/v1/ingest making a session, and 4xx for every path that is not a plain
folder inside the library."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.api.v1 import search_pb2, sessions_pb2, sessions_pb2_grpc
from imgsearch.common.db.pool import open_pool
from imgsearch.common.db.sessions import SessionRepository
from imgsearch.common.errors import Unavailable
from imgsearch.gateway.api.grpc import GrpcServer
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.files import LibraryRoots
from imgsearch.gateway.sessions import IngestSessions
from tests.support.gateway_world import GatewayWorld, build_world, image_search_stub

pytestmark = pytest.mark.integration


@dataclass
class Waker:
    calls: list[tuple[int, Path]] = field(default_factory=list)
    down: bool = False  # the bus is away

    async def __call__(self, session_id: int, folder: Path) -> None:
        self.calls.append((session_id, folder))
        if self.down:
            raise Unavailable("JetStream publish failed")


@dataclass
class World:
    base: GatewayWorld
    waker: Waker
    pool: AsyncConnectionPool

    @property
    def library(self) -> Path:
        return self.base.library

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=create_app(self.base.gateway), raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.fixture
async def world(tmp_path: Path, pg_url: str) -> AsyncIterator[World]:
    pool = await open_pool(pg_url, 1, 4)
    with ThreadPoolExecutor(max_workers=1) as executor:
        base = await build_world(tmp_path, executor)
        (base.library / "2021" / "summer").mkdir(parents=True)
        waker = Waker()
        base.gateway.sessions = IngestSessions(SessionRepository(pool), LibraryRoots([base.library]), waker)
        yield World(base, waker, pool)
    await pool.close()


async def test_rest_session_lifecycle(world: World) -> None:
    library = str(world.library.resolve())
    async with world.client() as client:
        created = await client.post("/api/v1/sessions", json={
            "path": str(world.library), "subdirectories": ["2020", "2021/summer/"], "priority": "high",
        })
        assert created.status_code == 201, created.text
        session = created.json()
        assert (session["path"], session["subdirectories"], session["priority"]) == (
            library, ["2020", "2021/summer"], "high")
        assert (session["state"], session["origin"], session["finished_at"]) == ("discovering", "user", None)
        assert session["progress"] == {
            "discovered": 0, "ingested": 0, "embedded": 0, "faces_done": 0, "failed": 0,
            "discovery_complete": False, "percent": 0.0,
            "rates": {"ingested": 0.0, "embedded": 0.0, "faces_done": 0.0}, "eta_s": None,
        }
        assert [s["subdirectory"] for s in session["subdirectory_progress"]] == ["2020", "2021/summer"]
        sid = session["id"]
        assert world.waker.calls == [(sid, Path(library))]

        assert (await client.get(f"/api/v1/sessions/{sid}")).json()["id"] == sid
        listed = (await client.get("/api/v1/sessions", params={"state": "discovering"})).json()
        assert listed["total"] == 1 and [s["id"] for s in listed["sessions"]] == [sid]
        assert (await client.get("/api/v1/sessions", params={"state": "done"})).json() == {
            "sessions": [], "total": 0}

        assert (await client.post(f"/api/v1/sessions/{sid}/pause")).json()["state"] == "paused"
        assert (await client.post(f"/api/v1/sessions/{sid}/resume")).json()["state"] == "discovering"
        assert len(world.waker.calls) == 2  # a resumed session wakes the ingest service
        cancelled = (await client.post(f"/api/v1/sessions/{sid}/cancel")).json()
        assert cancelled["state"] == "cancelled" and cancelled["finished_at"] is not None
        conflict = await client.post(f"/api/v1/sessions/{sid}/resume")
        assert conflict.status_code == 409 and conflict.json()["error"] == "Conflict"
        assert (await client.get(f"/api/v1/sessions/{sid}/failures")).json() == {"files": [], "total": 0}

        ingest = await client.post("/api/v1/ingest", json={"path": str(world.library / "2020")})
        assert ingest.status_code == 202
        made = ingest.json()["session_id"]
        assert made > sid
        normal = (await client.get(f"/api/v1/sessions/{made}")).json()
        assert (normal["priority"], normal["path"], normal["subdirectories"]) == (
            "normal", str((world.library / "2020").resolve()), [])


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ({"path": "{outside}"}, 403, "outside the library"),
        ({"path": "{library}/../outside"}, 403, "'..'"),
        ({"path": "{library}/escape"}, 403, "outside the library"),
        ({"path": "{library}/nope"}, 404, "does not exist"),
        ({"path": "{library}", "subdirectories": ["../outside"]}, 400, "plain relative path"),
        ({"path": "{library}", "subdirectories": ["/etc"]}, 400, "relative path"),
        ({"path": "{library}", "subdirectories": ["2020//x"]}, 400, "plain relative path"),
        ({"path": "{library}", "subdirectories": ["escape"]}, 403, "outside the library"),  # a link out
        ({"path": "{library}/2021", "subdirectories": ["../2020"]}, 400, "plain relative path"),
        ({"path": "{library}", "subdirectories": ["nope"]}, 404, "does not exist"),
        ({"path": "{library}", "subdirectories": ["not-a-folder.txt"]}, 400, "not a directory"),
        ({"path": "{library}", "priority": "urgent"}, 400, "priority"),
        ({"path": "{library}", "subdirectories": [""]}, 400, "subdirectories"),
        ({"path": "{library}", "exclude": ["*.tmp\x00"]}, 400, "NUL"),  # PostgreSQL text cannot hold it
    ],
)
async def test_rest_refuses_what_is_not_a_folder_inside_the_library(
    world: World, body: dict[str, Any], status: int, mentions: str
) -> None:
    body = {**body, "path": body["path"].format(library=world.library, outside=world.base.outside)}
    async with world.client() as client:
        response = await client.post("/api/v1/sessions", json=body)
        assert response.status_code == status, response.text
        assert mentions in response.json()["message"]
        assert (await client.get("/api/v1/sessions")).json()["total"] == 0
        for url in ("/api/v1/sessions/77", "/api/v1/sessions/77/failures"):
            assert (await client.get(url)).status_code == 404
        assert (await client.post("/api/v1/sessions/77/pause")).status_code == 404
        assert (await client.get("/api/v1/sessions", params={"limit": 0})).status_code == 400
        assert (await client.get("/api/v1/sessions", params={"state": "asleep"})).status_code == 400
    assert world.waker.calls == []


async def test_a_session_is_created_while_the_bus_is_away(world: World) -> None:
    world.waker.down = True  # the session is stored: the ingest service finds it without the command
    async with world.client() as client:
        created = await client.post("/api/v1/sessions", json={"path": str(world.library)})
        assert created.status_code == 201, created.text
        listed = (await client.get("/api/v1/sessions")).json()
        assert listed["total"] == 1 and listed["sessions"][0]["id"] == created.json()["id"]


@pytest.fixture
async def channel(world: World) -> AsyncIterator[grpc.aio.Channel]:
    server = GrpcServer(world.base.gateway, "127.0.0.1", 0, health_interval_s=60)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    yield channel
    await channel.close()
    await server.stop(0)


async def test_grpc_sessions(world: World, channel: grpc.aio.Channel) -> None:
    stub = sessions_pb2_grpc.SessionsStub(channel)  # type: ignore[no-untyped-call]
    session = await stub.CreateSession(sessions_pb2.CreateSessionRequest(
        path=str(world.library), subdirectories=["2020"], priority="bulk",
    ))
    assert (session.priority, session.state) == ("bulk", "discovering")
    assert list(session.subdirectories) == ["2020"]
    assert not session.HasField("finished_at") and not session.progress.has_eta
    assert [p.subdirectory for p in session.subdirectory_progress] == ["2020"]
    assert (await stub.GetSession(sessions_pb2.GetSessionRequest(id=session.id))).id == session.id
    listed = await stub.ListSessions(sessions_pb2.ListSessionsRequest())
    assert listed.total == 1 and listed.sessions[0].id == session.id
    paused = await stub.PauseSession(sessions_pb2.SessionActionRequest(id=session.id))
    assert paused.state == "paused"
    cancelled = await stub.CancelSession(sessions_pb2.SessionActionRequest(id=session.id))
    assert cancelled.state == "cancelled" and cancelled.HasField("finished_at")
    failures = await stub.ListSessionFailures(sessions_pb2.ListSessionFailuresRequest(id=session.id))
    assert failures.total == 0

    async def code_of(call: Any) -> grpc.StatusCode:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        return caught.value.code()

    assert await code_of(stub.ResumeSession(sessions_pb2.SessionActionRequest(id=session.id))) == (
        grpc.StatusCode.FAILED_PRECONDITION)
    assert await code_of(stub.GetSession(sessions_pb2.GetSessionRequest(id=404))) == grpc.StatusCode.NOT_FOUND
    bad_sub = sessions_pb2.CreateSessionRequest(path=str(world.library), subdirectories=[".."])
    assert await code_of(stub.CreateSession(bad_sub)) == grpc.StatusCode.INVALID_ARGUMENT
    outside = sessions_pb2.CreateSessionRequest(path=str(world.base.outside))
    assert await code_of(stub.CreateSession(outside)) == grpc.StatusCode.PERMISSION_DENIED
    bad_priority = sessions_pb2.CreateSessionRequest(path=str(world.library), priority="now")
    assert await code_of(stub.CreateSession(bad_priority)) == grpc.StatusCode.INVALID_ARGUMENT
    assert await code_of(stub.ListSessions(sessions_pb2.ListSessionsRequest(state="x"))) == (
        grpc.StatusCode.INVALID_ARGUMENT)

    ingest = search_pb2.IngestFolderRequest(path=str(world.library))
    accepted = await image_search_stub(channel).IngestFolder(ingest)
    assert accepted.session_id > session.id
