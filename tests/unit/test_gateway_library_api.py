"""The library API (browse, duplicates) over REST (httpx.ASGITransport) and gRPC (an in-process grpc.aio
server): same operations, same checks and errors. The gateway is wired to fakes
(tests/support/gateway_world.py) with a real DirectoryBrowser over its library on disk and an in-memory
duplicates store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from imgsearch.api.v1 import library_pb2 as pb
from imgsearch.api.v1 import library_pb2_grpc
from imgsearch.common.db.duplicates import DuplicateGroup, DuplicateImage, DuplicatePage
from imgsearch.gateway.api.grpc import GrpcServer
from imgsearch.gateway.api.grpc_library import SERVICE_NAME
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.browse import DirectoryBrowser
from imgsearch.gateway.library import LibraryCatalog
from tests.support.gateway_world import GatewayWorld, build_world
from tests.support.search_fakes import image_id

A, B, C = image_id("a"), image_id("b"), image_id("c")
Code = grpc.StatusCode


@dataclass
class FakeDuplicates:
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    async def exact_groups(self, limit: int, offset: int) -> DuplicatePage:
        self.calls.append(("exact", limit, offset))
        group = DuplicateGroup("exact", [DuplicateImage(A, ["/lib/x.jpg", "/lib/y/x.jpg"], 0)])
        return DuplicatePage([group], 1)

    async def near_groups(self, limit: int, offset: int, threshold: int) -> DuplicatePage:
        self.calls.append(("near", limit, offset, threshold))
        group = DuplicateGroup("near", [DuplicateImage(B, ["/lib/b.jpg"], 0), DuplicateImage(C, [], 2)])
        return DuplicatePage([group], 3)


@dataclass
class World:
    world: GatewayWorld
    duplicates: FakeDuplicates


@pytest.fixture
async def library_world(tmp_path: Path) -> AsyncIterator[World]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        world = await build_world(tmp_path, executor)
        duplicates = FakeDuplicates()
        world.gateway.catalog = LibraryCatalog(
            DirectoryBrowser(world.gateway.library, [".*"]), duplicates, near_threshold=6
        )
        yield World(world, duplicates)


async def get(w: World, url: str, **params: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(w.world.gateway), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.get(url, params=params)


async def test_rest_browse(library_world: World) -> None:
    library = library_world.world.library
    roots = await get(library_world, "/api/v1/browse")
    assert roots.status_code == 200
    assert roots.json() == {"path": None, "root": None, "image_files": 2, "total": 1, "directories": [
        {"name": "library", "path": str(library), "image_files": 2, "subdirectories": 1}]}
    folder = (await get(library_world, "/api/v1/browse", path=str(library))).json()
    assert (folder["path"], folder["root"], folder["image_files"]) == (str(library), str(library), 2)
    assert folder["directories"] == [
        {"name": "2020", "path": str(library / "2020"), "image_files": 2, "subdirectories": 0}]


@pytest.mark.parametrize(("path", "status", "kind"), [
    ("{library}/../outside", 403, "OutsideLibrary"),
    ("{library}/escape", 403, "OutsideLibrary"),
    ("{outside}", 403, "OutsideLibrary"),
    ("{library}/nothing", 404, "NotFound"),
    ("{library}/not-a-folder.txt", 400, "InvalidInput"),
    ("{library}/" + "x" * 5000, 400, "InvalidInput"),
])
async def test_rest_browse_refusals(library_world: World, path: str, status: int, kind: str) -> None:
    w = library_world.world
    path = path.format(library=w.library, outside=w.outside)
    response = await get(library_world, "/api/v1/browse", path=path)
    assert (response.status_code, response.json()["error"]) == (status, kind)


async def test_rest_duplicates(library_world: World) -> None:
    exact = await get(library_world, "/api/v1/duplicates", kind="exact", limit=10, offset=5)
    assert exact.status_code == 200
    assert exact.json() == {"total": 1, "groups": [{"kind": "exact", "images": [
        {"image_id": A, "paths": ["/lib/x.jpg", "/lib/y/x.jpg"], "distance": 0,
         "thumbnail_url": f"/api/v1/images/{A}/thumbnail"}]}]}
    near = (await get(library_world, "/api/v1/duplicates")).json()
    assert (near["total"], [i["distance"] for i in near["groups"][0]["images"]]) == (3, [0, 2])
    assert library_world.duplicates.calls == [("exact", 10, 5), ("near", 50, 0, 6)]
    for params in ({"kind": "similar"}, {"limit": 0}, {"limit": 501}, {"offset": -1}):
        response = await get(library_world, "/api/v1/duplicates", **params)
        assert (response.status_code, response.json()["error"]) == (400, "InvalidInput"), params


async def test_grpc_library_service(library_world: World) -> None:
    w = library_world.world
    server = GrpcServer(w.gateway, "127.0.0.1", 0, health_interval_s=0.05)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = library_pb2_grpc.LibraryStub(channel)  # type: ignore[no-untyped-call]
            roots = await stub.Browse(pb.BrowseRequest())
            listed = [d.name for d in roots.directories]
            assert (roots.path, roots.image_files, listed) == ("", 2, ["library"])
            folder = await stub.Browse(pb.BrowseRequest(path=str(w.library)))
            assert (folder.root, [(d.name, d.image_files) for d in folder.directories]) == (
                str(w.library), [("2020", 2)])
            near = await stub.ListDuplicates(pb.ListDuplicatesRequest())
            assert (near.total, near.groups[0].kind, near.groups[0].images[1].distance) == (3, "near", 2)
            exact = await stub.ListDuplicates(pb.ListDuplicatesRequest(kind="exact", limit=2))
            assert list(exact.groups[0].images[0].paths) == ["/lib/x.jpg", "/lib/y/x.jpg"]
            assert exact.groups[0].images[0].thumbnail_url == f"/api/v1/images/{A}/thumbnail"
            for call, code in (
                (stub.Browse(pb.BrowseRequest(path=f"{w.library}/escape")), Code.PERMISSION_DENIED),
                (stub.Browse(pb.BrowseRequest(path=f"{w.library}/../outside")), Code.PERMISSION_DENIED),
                (stub.Browse(pb.BrowseRequest(path=f"{w.library}/nothing")), Code.NOT_FOUND),
                (stub.ListDuplicates(pb.ListDuplicatesRequest(kind="similar")), Code.INVALID_ARGUMENT),
                (stub.ListDuplicates(pb.ListDuplicatesRequest(limit=501)), Code.INVALID_ARGUMENT),
                (stub.ListDuplicates(pb.ListDuplicatesRequest(offset=-1)), Code.INVALID_ARGUMENT),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await call
                assert caught.value.code() == code
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            async for response in reflection.ServerReflectionInfo(iter([request])):
                assert SERVICE_NAME in {s.name for s in response.list_services_response.service}
    finally:
        await server.stop(0)
