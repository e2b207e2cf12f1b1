"""gRPC API on an in-process grpc.aio server (port 0), with the gateway wired to fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.api.v1 import search_pb2_grpc
from imgsearch.common.vectors.port import CollectionSpec
from imgsearch.gateway.api.grpc import SERVICE_NAME, GrpcServer
from tests.support.gateway_world import GatewayWorld, build_world, failing_probe, image_search_stub
from tests.support.search_fakes import image_id

BEACH, STREET = image_id("beach"), image_id("street")


async def serving(world: GatewayWorld) -> tuple[GrpcServer, grpc.aio.Channel]:
    server = GrpcServer(world.gateway, "127.0.0.1", 0, health_interval_s=0.05)
    await server.start()
    return server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")


@pytest.fixture
async def channel(tmp_path: Path, executor: ThreadPoolExecutor) -> AsyncIterator[grpc.aio.Channel]:
    server, channel = await serving(await build_world(tmp_path, executor))
    yield channel
    await channel.close()
    await server.stop(0)


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> search_pb2_grpc.ImageSearchStub:
    return image_search_stub(channel)


async def test_search_text_and_similar(stub: search_pb2_grpc.ImageSearchStub) -> None:
    response = await stub.SearchText(pb.TextSearchRequest(query="sunset", limit=5))
    assert [h.image_id for h in response.hits] == [BEACH, STREET]
    assert response.hits[0].thumbnail_url == f"/api/v1/images/{BEACH}/thumbnail"
    similar = await stub.SearchSimilar(pb.SimilarSearchRequest(image_id=BEACH))
    assert [h.image_id for h in similar.hits] == [STREET]


async def expect(code: grpc.StatusCode, call: object, mentions: str = "") -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code
    assert mentions in (caught.value.details() or "")


async def test_errors_map_to_status_codes(stub: search_pb2_grpc.ImageSearchStub) -> None:
    code, unknown = grpc.StatusCode, image_id("x")
    await expect(code.INVALID_ARGUMENT, stub.SearchText(pb.TextSearchRequest(query="")), "empty")
    await expect(code.INVALID_ARGUMENT, stub.SearchText(pb.TextSearchRequest(query="x", limit=999)), "limit")
    await expect(code.INVALID_ARGUMENT, stub.GetImage(pb.GetImageRequest(image_id="nope")), "64 hex")
    await expect(code.NOT_FOUND, stub.SearchSimilar(pb.SimilarSearchRequest(image_id=unknown)))
    await expect(code.NOT_FOUND, stub.GetImage(pb.GetImageRequest(image_id=unknown)))
    await expect(code.PERMISSION_DENIED, stub.IngestFolder(pb.IngestFolderRequest(path="/etc")))
    await expect(code.PERMISSION_DENIED, stub.IngestFolder(pb.IngestFolderRequest(path="../x")), "..")


async def test_invalid_timestamps_and_oversized_ingests_are_invalid_argument(
    stub: search_pb2_grpc.ImageSearchStub,
) -> None:
    code = grpc.StatusCode.INVALID_ARGUMENT
    for filters in (pb.SearchFilters(taken_after=Timestamp(seconds=2**62)),
                    pb.SearchFilters(taken_before=Timestamp(seconds=0, nanos=-5))):
        await expect(code, stub.SearchText(pb.TextSearchRequest(query="x", filters=filters)), "timestamp")
    await expect(code, stub.IngestFolder(pb.IngestFolderRequest(path="2020", include=["*"] * 101)), "include")
    await expect(code, stub.IngestFolder(pb.IngestFolderRequest(path="a" * 300)), "usable")


async def test_model_mismatch_is_failed_precondition(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    world = await build_world(tmp_path, executor, spec=CollectionSpec("ViT-L-14", "openai", 4))
    server, channel = await serving(world)
    async with channel:
        stub = image_search_stub(channel)
        call = stub.SearchText(pb.TextSearchRequest(query="sunset"))
        await expect(grpc.StatusCode.FAILED_PRECONDITION, call, "ViT-L-14/openai")
    await server.stop(0)


async def test_get_image_and_ingest(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    world = await build_world(tmp_path, executor)
    server, channel = await serving(world)
    async with channel:
        stub = image_search_stub(channel)
        image = await stub.GetImage(pb.GetImageRequest(image_id=BEACH))
        assert image.has_gps and image.latitude == 52.5 and image.width == 640
        assert image.taken_at.seconds > 0 and image.thumbnail_url.endswith("/thumbnail")
        accepted = await stub.IngestFolder(pb.IngestFolderRequest(path="2020", include=["*.jpg"]))
        assert accepted.request_id == "req-1" and accepted.path == str((world.library / "2020").resolve())
        assert world.ingest.calls[0][1] == ("*.jpg",)
    await server.stop(0)


async def wait_for_status(
    health: health_pb2_grpc.HealthStub, service: str, want: int, timeout_s: float = 5.0
) -> None:
    async with asyncio.timeout(timeout_s):
        while (await health.Check(health_pb2.HealthCheckRequest(service=service))).status != want:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_health_follows_readiness(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    probes = {"postgres": failing_probe}
    world = await build_world(tmp_path, executor, probes=probes)  # type: ignore[arg-type]
    server, channel = await serving(world)
    async with channel:
        health = health_pb2_grpc.HealthStub(channel)
        await wait_for_status(health, SERVICE_NAME, health_pb2.HealthCheckResponse.NOT_SERVING)
        probes.clear()  # postgres is back
        for service in ("", SERVICE_NAME):
            await wait_for_status(health, service, health_pb2.HealthCheckResponse.SERVING)
        info = await image_search_stub(channel).GetSystemInfo(pb.GetSystemInfoRequest())
        assert info.ready and info.model.model == "fake-clip"
    await server.stop(0)


async def test_reflection_lists_the_services(channel: grpc.aio.Channel) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for response in reflection.ServerReflectionInfo(iter([request])):
        names = {s.name for s in response.list_services_response.service}
        break
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names
