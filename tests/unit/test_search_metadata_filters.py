"""The GPS-radius and camera filters and GET /api/v1/cameras, over REST and gRPC, with the gateway and the
search handlers wired to fakes (tests/support/gateway_world.py); validation in the search domain."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.db.cameras import CameraCount
from imgsearch.common.errors import InvalidInput
from imgsearch.common.ids import point_id
from imgsearch.common.vectors.port import IMAGES_COLLECTION, GeoCircle
from imgsearch.gateway.api.grpc import GrpcServer
from imgsearch.gateway.api.http import create_app
from imgsearch.search.domain import check_camera, check_near
from tests.support.gateway_world import GatewayWorld, build_world, image_search_stub
from tests.support.search_fakes import image_id

BEACH, STREET = image_id("beach"), image_id("street")
BERLIN = (52.5, 13.4)  # where the beach photo was taken (in this made-up world)


class FakeCameras:
    async def counts(self) -> list[CameraCount]:
        return [CameraCount("Canon EOS 6D", 2), CameraCount("Apple iPhone 7", 1)]


@pytest.fixture
async def world(tmp_path: Path, executor: ThreadPoolExecutor) -> GatewayWorld:
    world = await build_world(tmp_path, executor)
    await world.store.set_payload(IMAGES_COLLECTION, {
        point_id(BEACH): {"location": {"lat": BERLIN[0], "lon": BERLIN[1]}, "camera": "Canon EOS 6D"},
        point_id(STREET): {"camera": "Apple iPhone 7"},
    })
    world.gateway.camera_lister = FakeCameras()
    return world


async def get(world: GatewayWorld, url: str, **params: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(world.gateway), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.get(url, params=params)


def ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {hit["image_id"] for hit in response.json()["hits"]}


def test_near_is_checked() -> None:
    assert check_near(-90, 180, 20_000) == GeoCircle(-90, 180, 20_000)
    for lat, lon, radius in [(90.1, 0, 1), (-91, 0, 1), (0, 180.5, 1), (0, -181, 1), (0, 0, 0), (0, 0, -1),
                             (0, 0, 20_000.1), (math.nan, 0, 1), (0, math.inf, 1), (0, 0, math.nan)]:
        with pytest.raises(InvalidInput):
            check_near(lat, lon, radius)


def test_camera_is_checked() -> None:
    assert check_camera("  Canon   EOS 6D ") == "Canon EOS 6D"
    assert check_camera("") is None and check_camera("  ") is None
    with pytest.raises(InvalidInput):
        check_camera("x" * 201)


async def test_rest_near_and_camera_filter_text_and_similar_search(world: GatewayWorld) -> None:
    assert ids(await get(world, "/api/v1/search", q="sunset", near="52.52,13.40", radius_km=5)) == {BEACH}
    assert ids(await get(world, "/api/v1/search", q="sunset", near="48.85,2.35", radius_km=100)) == set()
    assert ids(await get(world, "/api/v1/search", q="sunset", near="48.85,2.35", radius_km=900)) == {BEACH}
    assert ids(await get(world, "/api/v1/search", q="sunset", camera="Apple  iPhone 7")) == {STREET}
    assert ids(await get(world, "/api/v1/search", q="sunset", camera="Canon")) == set()
    both = {"near": "52.5,13.4", "radius_km": 1, "camera": "Apple iPhone 7"}
    assert ids(await get(world, "/api/v1/search", q="sunset", **both)) == set()
    similar = f"/api/v1/images/{STREET}/similar"
    assert ids(await get(world, similar, near="52.5,13.4", radius_km=1)) == {BEACH}
    assert ids(await get(world, similar, camera="Apple iPhone 7")) == set()  # the query image is left out
    _, _, _, search_filter = world.store.searches[-1]
    assert search_filter is not None and search_filter.camera == "Apple iPhone 7"


@pytest.mark.parametrize(("params", "mentions"), [
    ({"near": "52.5,13.4"}, "radius_km"),
    ({"radius_km": 5}, "near"),
    ({"near": "52.5", "radius_km": 5}, "near"),
    ({"near": "north,east", "radius_km": 5}, "near"),
    ({"near": "nan,13.4", "radius_km": 5}, "finite"),
    ({"near": "95,13.4", "radius_km": 5}, "latitude"),
    ({"near": "52.5,-200", "radius_km": 5}, "longitude"),
    ({"near": "52.5,13.4", "radius_km": 0}, "radius_km"),
    ({"near": "52.5,13.4", "radius_km": 20_001}, "radius_km"),
    ({"near": "52.5,13.4", "radius_km": "far"}, "radius_km"),
    ({"camera": "x" * 201}, "camera"),
])
async def test_rest_bad_metadata_filters_are_400(world: GatewayWorld, params: dict[str, Any], mentions: str
                                                 ) -> None:
    for url in ("/api/v1/search", f"/api/v1/images/{STREET}/similar"):
        response = await get(world, url, q="sunset", **params)
        assert response.status_code == 400, (url, response.text)
        assert response.json()["error"] == "InvalidInput" and mentions in response.json()["message"]


async def test_rest_cameras(world: GatewayWorld, tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    response = await get(world, "/api/v1/cameras")
    assert response.status_code == 200
    assert response.json() == {"cameras": [{"camera": "Canon EOS 6D", "images": 2},
                                           {"camera": "Apple iPhone 7", "images": 1}], "total": 2}
    without = await build_world(tmp_path / "other", executor)  # no image database behind it
    assert (await get(without, "/api/v1/cameras")).status_code == 503


async def test_grpc_filters_and_cameras(world: GatewayWorld) -> None:
    server = GrpcServer(world.gateway, "127.0.0.1", 0, health_interval_s=60)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        stub = image_search_stub(channel)
        near = pb.SearchFilters(near=pb.GeoRadius(lat=52.52, lon=13.4, radius_km=5))
        found = await stub.SearchText(pb.TextSearchRequest(query="sunset", filters=near))
        assert [hit.image_id for hit in found.hits] == [BEACH]
        by_camera = pb.SearchFilters(camera="Apple iPhone 7")
        similar = await stub.SearchSimilar(pb.SimilarSearchRequest(image_id=BEACH, filters=by_camera))
        assert [hit.image_id for hit in similar.hits] == [STREET]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            bad = pb.SearchFilters(near=pb.GeoRadius(lat=52.5, lon=13.4, radius_km=0))
            await stub.SearchText(pb.TextSearchRequest(query="sunset", filters=bad))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        cameras = await stub.ListCameras(pb.ListCamerasRequest())
        assert [(c.camera, c.images) for c in cameras.cameras] == [("Canon EOS 6D", 2), ("Apple iPhone 7", 1)]
    finally:
        await channel.close()
        await server.stop(0)
