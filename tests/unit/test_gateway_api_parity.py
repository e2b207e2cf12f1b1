"""REST and gRPC answer the same: thumbnails and originals (never from outside the thumbnails folder or the
library roots), and the paging of cameras, the directory browser and search results. The gateway is wired
to fakes (tests/support/gateway_world.py) with a real DirectoryBrowser over its library on disk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from imgsearch.api.v1 import library_pb2, library_pb2_grpc, search_pb2_grpc
from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.db.cameras import CameraCount
from imgsearch.common.db.duplicates import DuplicatePage
from imgsearch.gateway.api.grpc import GrpcServer
from imgsearch.gateway.api.grpc_files import CHUNK_BYTES
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.browse import DirectoryBrowser
from imgsearch.gateway.library import LibraryCatalog
from tests.support.gateway_world import (
    ORIGINAL_BYTES,
    THUMBNAIL_BYTES,
    GatewayWorld,
    build_world,
    image_search_stub,
)
from tests.support.search_fakes import image_id, make_record

BEACH, STREET = image_id("beach"), image_id("street")
Code = grpc.StatusCode
SECRET = b"secret"


class FakeCameras:
    async def counts(self) -> list[CameraCount]:
        return [CameraCount(f"Camera {n}", 10 - n) for n in range(3)]


class NoDuplicates:
    async def exact_groups(self, limit: int, offset: int) -> DuplicatePage:
        return DuplicatePage([], 0)

    async def near_groups(self, limit: int, offset: int, threshold: int) -> DuplicatePage:
        return DuplicatePage([], 0)


@dataclass
class Apis:
    world: GatewayWorld
    http: httpx.AsyncClient
    search: search_pb2_grpc.ImageSearchStub
    library: library_pb2_grpc.LibraryStub


@pytest.fixture
async def apis(tmp_path: Path, executor: ThreadPoolExecutor) -> AsyncIterator[Apis]:
    world = await build_world(tmp_path, executor)
    thumbs = world.gateway.thumbnails_dir
    (thumbs / "link.jpg").symlink_to(world.outside / "secret.jpg")  # a link in the folder that leads out
    for name, thumbnail in (("abs", str(world.outside / "secret.jpg")), ("up", "../outside/secret.jpg"),
                            ("link", "link.jpg")):
        record = make_record(name, str(world.library / "2020" / "beach.jpg"), thumbnail_path=thumbnail)
        world.images.records[record.id] = record
    for folder in ("a", "b", "c"):
        (world.library / "more" / folder).mkdir(parents=True)
    world.gateway.camera_lister = FakeCameras()
    world.gateway.catalog = LibraryCatalog(DirectoryBrowser(world.gateway.library, [".*"]), NoDuplicates(), 6)
    server = GrpcServer(world.gateway, "127.0.0.1", 0, health_interval_s=0.05)
    await server.start()
    transport = httpx.ASGITransport(app=create_app(world.gateway), raise_app_exceptions=False)
    async with (grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel,
                httpx.AsyncClient(transport=transport, base_url="http://gateway") as http):
        library = library_pb2_grpc.LibraryStub(channel)  # type: ignore[no-untyped-call]
        yield Apis(world, http, image_search_stub(channel), library)
    await server.stop(0)


async def status_of(call: Any) -> Code:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code()


async def chunks(apis: Apis, image: str) -> list[pb.FileChunk]:
    return [chunk async for chunk in apis.search.GetOriginal(pb.GetImageRequest(image_id=image))]


async def test_thumbnail_and_original_are_the_same_bytes_over_both(apis: Apis) -> None:
    rest = await apis.http.get(f"/api/v1/images/{BEACH}/thumbnail")
    thumbnail = await apis.search.GetThumbnail(pb.GetImageRequest(image_id=BEACH.upper()))
    assert (thumbnail.image_id, thumbnail.data, thumbnail.media_type) == (BEACH, rest.content, "image/jpeg")
    assert rest.content == THUMBNAIL_BYTES

    pieces = await chunks(apis, BEACH)
    assert len(pieces) == -(-len(ORIGINAL_BYTES) // CHUNK_BYTES) > 1
    assert b"".join(p.data for p in pieces) == ORIGINAL_BYTES
    assert [p.offset for p in pieces] == list(range(0, len(ORIGINAL_BYTES), CHUNK_BYTES))
    first = pieces[0]
    assert (first.file_name, first.media_type, first.size_bytes) == ("beach.jpg", "image/jpeg",
                                                                    len(ORIGINAL_BYTES))
    rest_original = await apis.http.get(f"/api/v1/images/{BEACH}/original")
    assert rest_original.content == ORIGINAL_BYTES


@pytest.mark.parametrize("name", ["abs", "up", "link"])
async def test_a_thumbnail_outside_the_thumbnails_folder_is_refused(apis: Apis, name: str) -> None:
    rest = await apis.http.get(f"/api/v1/images/{image_id(name)}/thumbnail")
    assert (rest.status_code, rest.json()["error"]) == (403, "OutsideLibrary")
    assert SECRET not in rest.content
    call = apis.search.GetThumbnail(pb.GetImageRequest(image_id=image_id(name)))
    assert await status_of(call) == Code.PERMISSION_DENIED


async def test_file_errors_are_the_same_status_over_both(apis: Apis) -> None:
    cases = [  # image, REST status, gRPC status
        (image_id("secret"), 403, Code.PERMISSION_DENIED),  # original through a link out of the root
        (image_id("outside"), 403, Code.PERMISSION_DENIED),  # a row that points outside the roots
        (image_id("moved"), 404, Code.NOT_FOUND),
        (image_id("unknown"), 404, Code.NOT_FOUND),
        ("not-an-id", 400, Code.INVALID_ARGUMENT),
    ]
    for image, status, code in cases:
        rest = await apis.http.get(f"/api/v1/images/{image}/original")
        assert rest.status_code == status and SECRET not in rest.content, image
        assert await status_of(chunks(apis, image)) == code, image
    assert (await apis.http.get(f"/api/v1/images/{STREET}/thumbnail")).status_code == 404  # none recorded
    assert await status_of(apis.search.GetThumbnail(pb.GetImageRequest(image_id=STREET))) == Code.NOT_FOUND


async def test_cameras_are_paged_alike(apis: Apis) -> None:
    rest = (await apis.http.get("/api/v1/cameras", params={"limit": 1, "offset": 1})).json()
    assert rest == {"cameras": [{"camera": "Camera 1", "images": 9}], "total": 3}
    grpc_page = await apis.search.ListCameras(pb.ListCamerasRequest(limit=1, offset=1))
    assert ([(c.camera, c.images) for c in grpc_page.cameras], grpc_page.total) == ([("Camera 1", 9)], 3)
    assert len((await apis.search.ListCameras(pb.ListCamerasRequest())).cameras) == 3  # 0 = default page
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}):
        assert (await apis.http.get("/api/v1/cameras", params=params)).status_code == 400, params
    assert await status_of(apis.search.ListCameras(pb.ListCamerasRequest(limit=501))) == Code.INVALID_ARGUMENT


async def test_browse_is_paged_alike(apis: Apis) -> None:
    folder = str(apis.world.library / "more")
    rest = (await apis.http.get("/api/v1/browse", params={"path": folder, "limit": 2, "offset": 1})).json()
    assert ([d["name"] for d in rest["directories"]], rest["total"]) == (["b", "c"], 3)
    grpc_page = await apis.library.Browse(library_pb2.BrowseRequest(path=folder, limit=2, offset=1))
    assert ([d.name for d in grpc_page.directories], grpc_page.total) == (["b", "c"], 3)
    everything = await apis.library.Browse(library_pb2.BrowseRequest(path=folder))
    assert len(everything.directories) == 3
    assert (await apis.http.get("/api/v1/browse", params={"limit": 501})).status_code == 400
    call = apis.library.Browse(library_pb2.BrowseRequest(offset=-1))
    assert await status_of(call) == Code.INVALID_ARGUMENT


async def test_search_pages_say_where_the_next_one_starts(apis: Apis) -> None:
    full = (await apis.http.get("/api/v1/search", params={"q": "sunset", "limit": 1})).json()
    assert (len(full["hits"]), full["next_offset"]) == (1, 1)
    last = (await apis.http.get("/api/v1/search", params={"q": "sunset", "limit": 1, "offset": 1})).json()
    assert (len(last["hits"]), last["next_offset"]) == (1, 2)
    beyond = (await apis.http.get("/api/v1/search", params={"q": "sunset", "offset": 2})).json()
    assert (beyond["hits"], beyond["next_offset"]) == ([], None)
    first = await apis.search.SearchText(pb.TextSearchRequest(query="sunset", limit=1))
    assert first.HasField("next_offset") and first.next_offset == 1
    rest_all = await apis.search.SearchText(pb.TextSearchRequest(query="sunset"))
    assert len(rest_all.hits) == 2 and not rest_all.HasField("next_offset")
    similar = (await apis.http.get(f"/api/v1/images/{BEACH}/similar", params={"limit": 1})).json()
    assert similar["next_offset"] == 1
