"""GatewayServers: both servers on port 0, the bound ports reported, a clean stop."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from imgsearch.common.errors import ConfigurationError
from imgsearch.common.settings import GrpcSettings, HttpSettings, Settings
from imgsearch.gateway.bootstrap import GatewayServers
from tests.support.gateway_world import build_world


def settings(tmp_path: Path, http_port: int = 0) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", http=HttpSettings(host="127.0.0.1", port=http_port),
        grpc=GrpcSettings(host="127.0.0.1", port=0),
    )


async def test_servers_bind_port_zero_and_stop(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=1) as executor:
        world = await build_world(tmp_path, executor)
        servers = GatewayServers(world.gateway, settings(tmp_path))
        await servers.start()
        try:
            assert servers.http_port > 0 and servers.grpc_port > 0
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{servers.http_port}") as client:
                assert (await client.get("/healthz")).json() == {"status": "ok"}
                assert (await client.get("/readyz")).status_code == 200
            async with grpc.aio.insecure_channel(f"127.0.0.1:{servers.grpc_port}") as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
                assert reply.status in (health_pb2.HealthCheckResponse.SERVING,
                                        health_pb2.HealthCheckResponse.NOT_SERVING)
        finally:
            await asyncio.wait_for(servers.stop(), 10)
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient() as client:
                await client.get(f"http://127.0.0.1:{servers.http_port}/healthz")


async def test_a_taken_port_is_a_configuration_error(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=1) as executor:
        world = await build_world(tmp_path, executor)
        first = GatewayServers(world.gateway, settings(tmp_path))
        await first.start()
        try:
            with pytest.raises(ConfigurationError, match="IMGSEARCH_HTTP__PORT"):
                await GatewayServers(world.gateway, settings(tmp_path, first.http_port)).start()
        finally:
            await first.stop()


async def test_on_loopback_without_auth_only_loopback_host_names_are_answered(tmp_path: Path) -> None:
    """A page whose domain was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        world = await build_world(tmp_path, executor)
        configured = settings(tmp_path).model_copy(
            update={"http": HttpSettings(host="127.0.0.1", port=0, allowed_hosts=["photos.lan"])})
        servers = GatewayServers(world.gateway, configured)
        await servers.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{servers.http_port}") as client:
                assert (await client.get("/api/v1/cameras")).status_code != 403
                for host in ("localhost", f"localhost:{servers.http_port}", "[::1]:8080", "photos.lan"):
                    assert (await client.get("/healthz", headers={"Host": host})).status_code == 200, host
                rebound = await client.get("/api/v1/cameras", headers={"Host": "attacker.example:8080"})
                assert rebound.status_code == 403
                assert "IMGSEARCH_HTTP__ALLOWED_HOSTS" in rebound.json()["message"]
                page = await client.get("/", headers={"Host": "attacker.example"})
                assert page.status_code == 403 and "text/html" in page.headers["content-type"]
        finally:
            await asyncio.wait_for(servers.stop(), 10)


def test_cors_origins_must_be_exact_origins() -> None:
    assert HttpSettings(cors_origins=["https://photos.example", "http://[::1]:3000"]).cors_origins
    for bad in ("*", "https://photos.example/", "photos.example", "https://*.example"):
        with pytest.raises(ValueError, match="is not an origin"):
            HttpSettings(cors_origins=[bad])


def test_host_names_drop_the_port() -> None:
    from imgsearch.gateway.api.http_hosts import host_name

    assert [host_name(h) for h in ("LocalHost:80", "[::1]:8080", "[::1]", "127.0.0.1", "::1", "")] == [
        "localhost", "::1", "::1", "127.0.0.1", "::1", ""]
