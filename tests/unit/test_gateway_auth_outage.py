"""When the key store (PostgreSQL) is down, a call with a key is Unavailable (503 / UNAVAILABLE), never an
internal error; auth off (no authenticator) takes calls without a key as before."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import psycopg
import pytest

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.db.api_keys import ApiKeyRecord
from imgsearch.gateway.api.grpc import GrpcServer
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.auth import SESSION_COOKIE, Authenticator
from tests.support.gateway_world import GatewayWorld, build_world, image_search_stub


class DownKeys:
    """A key store whose database does not answer."""

    async def verify(self, key: str) -> ApiKeyRecord | None:
        raise psycopg.OperationalError("connection refused")

    async def verify_session(self, token: str) -> ApiKeyRecord | None:
        raise psycopg.OperationalError("connection refused")

    async def create_session(self, key_id: int, ttl_s: float) -> str:
        raise psycopg.OperationalError("connection refused")

    async def delete_session(self, token: str) -> None:
        raise psycopg.OperationalError("connection refused")

    async def active_count(self) -> int:
        raise psycopg.OperationalError("connection refused")


@pytest.fixture
async def world(tmp_path: Path, executor: ThreadPoolExecutor) -> GatewayWorld:
    return await build_world(tmp_path, executor)


def client(world: GatewayWorld, auth: Authenticator | None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(world.gateway, auth), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def test_a_database_outage_while_checking_a_key_is_503(world: GatewayWorld) -> None:
    async with client(world, Authenticator(DownKeys())) as http:
        api = await http.get("/api/v1/search", params={"q": "sunset"}, headers={"X-API-Key": "isk_x"})
        assert api.status_code == 503 and api.json()["error"] == "Unavailable"
        page = await http.get("/people", cookies={SESSION_COOKIE: "t" * 43})
        assert page.status_code == 503 and "text/html" in page.headers["content-type"]
        login = await http.post("/api/v1/auth/login", json={"key": "isk_x"})
        assert login.status_code == 503
        assert (await http.get("/healthz")).status_code == 200  # open paths never ask the database


async def test_a_database_outage_while_checking_a_grpc_key_is_unavailable(world: GatewayWorld) -> None:
    server = GrpcServer(world.gateway, "127.0.0.1", 0, auth=Authenticator(DownKeys()))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await image_search_stub(channel).GetSystemInfo(
                    pb.GetSystemInfoRequest(), metadata=(("x-api-key", "isk_x"),))
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(0)


async def test_without_an_authenticator_nothing_asks_for_a_key(world: GatewayWorld) -> None:
    async with client(world, None) as http:
        assert (await http.get("/api/v1/search", params={"q": "sunset"})).status_code == 200
        assert (await http.get("/api/v1/auth/me")).json() == {
            "auth_enabled": False, "key_id": None, "name": None, "via": None}
        login = await http.post("/api/v1/auth/login", json={"key": "isk_x"})
        assert login.status_code == 409 and "off" in login.json()["message"]
        page = await http.get("/login", params={"next": "/people"})
        assert page.status_code == 303 and page.headers["location"].startswith("/people?notice=")
        assert "Sign out" not in (await http.get("/people")).text
