"""Gateway (REST + gRPC on real ports) → NATS request-reply → search service → PostgreSQL + qdrant-edge.

Real nats-server, PostgreSQL (images, people and faces) and qdrant-edge; the text encoder is a fake (the e2e
test uses a real model)."""

from __future__ import annotations

import asyncio
import struct
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
import httpx
import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.api.v1 import people_pb2, people_pb2_grpc, search_pb2_grpc
from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.bus import Bus
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.ids import point_id
from imgsearch.common.settings import GrpcSettings, HttpSettings, Settings
from imgsearch.common.subjects import EVENTS, PEOPLE_CHANGED
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.common.vectors.port import IMAGES_COLLECTION, VectorPoint
from imgsearch.events.v1.events_pb2 import PeopleChanged
from imgsearch.gateway.bootstrap import GatewayServers, build_gateway
from imgsearch.search import bootstrap as search_bootstrap
from tests.support.gateway_world import image_search_stub, people_stub
from tests.support.search_fakes import SPEC, FakeTextEncoder, image_id, unit

pytestmark = pytest.mark.integration

JUNE_2020 = datetime(2020, 6, 1, 12, tzinfo=UTC)
PHOTOS = {  # name: (vector, folder, taken_at)
    "beach": ([1.0, 0.0, 0.0, 0.0], "2020", JUNE_2020),
    "dog": ([0.8, 0.6, 0.0, 0.0], "2021", None),
    "street": ([0.0, 1.0, 0.0, 0.0], "2021", None),
}
FACES = {"ann": ("beach", "dog"), "ben": ("dog", "street")}  # person: photos they are in
CROP = b"\xff\xd8a face"
EMBEDDING = struct.pack("<4f", 1, 0, 0, 0)


@dataclass
class Stack:
    http: httpx.AsyncClient
    grpc: search_pb2_grpc.ImageSearchStub
    people: people_pb2_grpc.PeopleStub
    bus: Bus
    person_ids: dict[str, int]
    library: Path
    stop_search: asyncio.Event
    search_task: asyncio.Task[None]


async def seed(pool: AsyncConnectionPool, store: QdrantEdgeStore, library: Path) -> None:
    await store.ensure_collection(IMAGES_COLLECTION, SPEC)
    async with pool.connection() as conn:
        for name, (vector, folder, taken) in PHOTOS.items():
            path = library / folder / f"{name}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(name.encode())
            await conn.execute(
                "INSERT INTO images (id, size_bytes, width, height, format, taken_at, embed_status)"
                " VALUES (%s, %s, 640, 480, 'JPEG', %s, 'embedded')",
                (image_id(name), len(name), taken),
            )
            await conn.execute(
                "INSERT INTO files (path, library_root, image_id, status) VALUES (%s, %s, %s, 'ingested')",
                (str(path), str(library), image_id(name)),
            )
            folders = [str(library), str(path.parent)]
            payload: dict[str, object] = {"image_id": image_id(name), "folders": folders}
            if taken:
                payload["taken_at"] = taken.timestamp()
            point = VectorPoint(point_id(image_id(name)), unit(vector), payload)
            await store.upsert(IMAGES_COLLECTION, [point])


def write_crop(crops: Path) -> None:
    crops.mkdir(parents=True, exist_ok=True)
    (crops / "face.jpg").write_bytes(CROP)


async def seed_people(pool: AsyncConnectionPool) -> dict[str, int]:
    """Ann and Ben, one face per photo they are in (as the faces service would store them), crop face.jpg."""
    people: dict[str, int] = {}
    async with pool.connection() as conn:
        for slot, (name, photos) in enumerate(FACES.items()):
            cur = await conn.execute("INSERT INTO people (name) VALUES (%s) RETURNING id", (name.title(),))
            row = await cur.fetchone()
            assert row is not None
            people[name] = int(row[0])
            for photo in photos:
                await conn.execute(
                    "INSERT INTO faces (id, image_id, x1, y1, x2, y2, det_score, quality, embedding,"
                    " crop_path, person_id, assigned_by)"
                    " VALUES (%s, %s, %s, 0, %s, 50, 0.9, 0.8, %s, 'face.jpg', %s, 'user')",
                    (uuid.uuid4(), image_id(photo), slot * 100, slot * 100 + 50, EMBEDDING, people[name]),
                )
    return people


@pytest.fixture
async def stack(nats_url: str, pg_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    library = tmp_path / "library"
    settings = Settings(
        data_dir=tmp_path / "data", library_roots=[library],
        http=HttpSettings(host="127.0.0.1", port=0), grpc=GrpcSettings(host="127.0.0.1", port=0),
    )
    pool = await open_pool(pg_url)
    store = QdrantEdgeStore(tmp_path / "vectors", background_optimize=False)
    await seed(pool, store, library)
    write_crop(settings.face_crops_dir)
    person_ids = await seed_people(pool)
    search_bus = await Bus.connect(nats_url, "search", request_timeout_s=5)
    gateway_bus = await Bus.connect(nats_url, "gateway", request_timeout_s=5)
    await gateway_bus.ensure_streams()

    stop_search = asyncio.Event()
    encoder = FakeTextEncoder({"sunset": [1, 0, 0, 0], "a dog": [0.8, 0.6, 0, 0]})
    search_task = asyncio.create_task(
        search_bootstrap.serve(settings, Deps(search_bus, pool, store), stop_search, clip=encoder)
    )
    servers = GatewayServers(build_gateway(settings, Deps(gateway_bus, pool, store)), settings)
    await servers.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{servers.grpc_port}")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{servers.http_port}", timeout=10) as http:
        await _wait_for_search(http)
        yield Stack(
            http, image_search_stub(channel), people_stub(channel), gateway_bus, person_ids, library,
            stop_search, search_task,
        )
    await channel.close()
    await servers.stop()
    stop_search.set()
    await asyncio.wait_for(search_task, 10)
    for bus in (gateway_bus, search_bus):
        await bus.drain()
    await store.close()
    await pool.close()


async def _wait_for_search(http: httpx.AsyncClient) -> None:
    async with asyncio.timeout(10):
        while (await http.get("/readyz")).status_code != 200:  # noqa: ASYNC110 (polling a server)
            await asyncio.sleep(0.05)


async def test_text_search_over_rest_and_grpc(stack: Stack) -> None:
    response = await stack.http.get("/api/v1/search", params={"q": "sunset", "limit": 3})
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    assert [h["image_id"] for h in hits] == [image_id("beach"), image_id("dog"), image_id("street")]
    assert hits[0]["path"] == str(stack.library / "2020" / "beach.jpg")
    assert hits[0]["taken_at"] == "2020-06-01T12:00:00Z"

    grpc_response = await stack.grpc.SearchText(pb.TextSearchRequest(query="a dog", limit=1))
    assert [h.image_id for h in grpc_response.hits] == [image_id("dog")]


async def test_filters_reach_the_vector_store(stack: Stack) -> None:
    in_2021 = await stack.http.get(
        "/api/v1/search", params={"q": "sunset", "folder": f"{stack.library}/2021/"}
    )
    assert [h["image_id"] for h in in_2021.json()["hits"]] == [image_id("dog"), image_id("street")]
    dated = await stack.http.get(
        "/api/v1/search", params={"q": "sunset", "taken_after": "2020-01-01", "taken_before": "2020-12-31"}
    )
    assert [h["image_id"] for h in dated.json()["hits"]] == [image_id("beach")]


async def test_similar_and_errors_cross_the_bus(stack: Stack) -> None:
    similar = await stack.http.get(f"/api/v1/images/{image_id('beach')}/similar", params={"limit": 1})
    assert [h["image_id"] for h in similar.json()["hits"]] == [image_id("dog")]
    missing = await stack.http.get(f"/api/v1/images/{image_id('nothing')}/similar")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.grpc.SearchSimilar(pb.SimilarSearchRequest(image_id=image_id("nothing")))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_metadata_and_original_from_postgres(stack: Stack) -> None:
    image = (await stack.http.get(f"/api/v1/images/{image_id('beach')}")).json()
    assert image["paths"] == [str(stack.library / "2020" / "beach.jpg")]
    original = await stack.http.get(f"/api/v1/images/{image_id('beach')}/original")
    assert original.status_code == 200 and original.content == b"beach"


async def test_readiness_follows_the_search_service(stack: Stack) -> None:
    ready = (await stack.http.get("/readyz")).json()
    assert ready["ready"] and ready["indexed"] == len(PHOTOS) and ready["model"]["model"] == SPEC.model
    stack.stop_search.set()
    await asyncio.wait_for(stack.search_task, 10)
    response = await stack.http.get("/readyz")
    assert response.status_code == 503
    checks = {c["name"]: c["ok"] for c in response.json()["checks"]}
    assert checks == {"nats": True, "postgres": True, "search": False}
    down = await stack.http.get("/api/v1/search", params={"q": "sunset"})
    assert down.status_code == 503 and down.json()["error"] == "Unavailable"


async def test_search_by_people_over_rest_and_grpc(stack: Stack) -> None:
    ann, ben = stack.person_ids["ann"], stack.person_ids["ben"]

    async def rest(**params: object) -> list[str]:
        response = await stack.http.get("/api/v1/search", params={"q": "sunset", **params})
        assert response.status_code == 200, response.text
        return [h["image_id"] for h in response.json()["hits"]]

    assert await rest(people_all=[ann]) == [image_id("beach"), image_id("dog")]
    assert await rest(people_all=[ann, ben]) == [image_id("dog")]
    assert await rest(people_any=[ben], people_none=[ann]) == [image_id("street")]
    in_2021 = await rest(people_any=[ann, ben], folder=f"{stack.library}/2021")
    assert in_2021 == [image_id("dog"), image_id("street")]
    assert await rest(people_all=[ann], taken_after="2020-01-01") == [image_id("beach")]
    unknown = await stack.http.get("/api/v1/search", params={"q": "sunset", "people_all": [999_999]})
    assert unknown.status_code == 404 and unknown.json()["error"] == "NotFound"

    filters = pb.SearchFilters(people_none=[ben])
    grpc_hits = await stack.grpc.SearchText(pb.TextSearchRequest(query="sunset", filters=filters))
    assert [h.image_id for h in grpc_hits.hits] == [image_id("beach")]
    similar = await stack.grpc.SearchSimilar(
        pb.SimilarSearchRequest(image_id=image_id("beach"), filters=pb.SearchFilters(people_any=[ben]))
    )
    assert [h.image_id for h in similar.hits] == [image_id("dog"), image_id("street")]


async def test_people_api_on_postgres_publishes_changes(stack: Stack) -> None:
    ann, ben = stack.person_ids["ann"], stack.person_ids["ben"]
    listed = (await stack.http.get("/api/v1/people")).json()
    assert listed["total"] == 2 and {p["name"] for p in listed["people"]} == {"Ann", "Ben"}
    faces = (await stack.http.get(f"/api/v1/images/{image_id('street')}/faces")).json()["faces"]
    [ben_face] = faces
    assert ben_face["person_name"] == "Ben"
    assert ben_face["crop_url"] == f"/api/v1/faces/{ben_face['face_id']}/crop"
    crop = await stack.http.get(ben_face["crop_url"])
    assert crop.status_code == 200 and crop.content == CROP

    moved = await stack.http.put(f"/api/v1/faces/{ben_face['face_id']}/person", json={"person_id": ann})
    assert moved.status_code == 200, moved.text
    assert moved.json()["person_name"] == "Ann"
    renamed = await stack.people.UpdatePerson(people_pb2.UpdatePersonRequest(person_id=ben, name="Benjamin"))
    assert renamed.name == "Benjamin" and renamed.photo_count == 1

    subscription = await stack.bus.js.pull_subscribe(PEOPLE_CHANGED, stream=EVENTS.name)
    messages = await subscription.fetch(2, timeout=5)
    events = [PeopleChanged.FromString(m.data) for m in messages]
    assert [e.change for e in events] == ["assigned", "renamed"]
    assert set(events[0].person_ids) >= {ann, ben} and list(events[1].person_ids) == [ben]
    assert all(e.request_id for e in events)

    stranger = await stack.http.get(f"/api/v1/people/{999_999}")
    assert stranger.status_code == 404
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.people.GetFace(people_pb2.GetFaceRequest(face_id="not-a-face"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
