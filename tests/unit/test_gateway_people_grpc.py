"""People API over gRPC: an in-process grpc.aio server (port 0), the gateway over an in-memory people store
and a recording publisher. Same operations, checks and error model as REST (test_gateway_people_http.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from imgsearch.api.v1 import people_pb2 as pb
from imgsearch.api.v1 import people_pb2_grpc
from imgsearch.api.v1 import search_pb2 as spb
from imgsearch.common.subjects import COMMANDS_CLUSTERING, PEOPLE_CHANGED
from imgsearch.events.v1.events_pb2 import ClusteringRequested, PeopleChanged
from imgsearch.gateway.api.grpc import PEOPLE_SERVICE_NAME, GrpcServer
from tests.support.gateway_world import GatewayWorld, build_world, image_search_stub, people_stub
from tests.support.people_fakes import CROP_BYTES, PeopleSeed, seed_people
from tests.support.search_fakes import image_id

BEACH, STREET = image_id("beach"), image_id("street")
UNKNOWN_FACE = "00000000-0000-4000-8000-000000000000"
Code = grpc.StatusCode


@dataclass
class Served:
    world: GatewayWorld
    seed: PeopleSeed
    stub: people_pb2_grpc.PeopleStub
    channel: grpc.aio.Channel

    def changes(self) -> list[tuple[str, list[int]]]:
        published = self.world.published.on(PEOPLE_CHANGED)
        events = [PeopleChanged.FromString(m.SerializeToString()) for m in published]
        return [(e.change, sorted(e.person_ids)) for e in events]


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        world = await build_world(tmp_path, executor)
        seed = seed_people(world.people, world.crops, image_id)
        server = GrpcServer(world.gateway, "127.0.0.1", 0, health_interval_s=0.05)
        await server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
        yield Served(world, seed, people_stub(channel), channel)
        await channel.close()
        await server.stop(0)


async def expect(code: grpc.StatusCode, call: object, mentions: str = "") -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    assert mentions in (caught.value.details() or "")


async def test_people_reads(served: Served) -> None:
    stub, seed = served.stub, served.seed
    page = await stub.ListPeople(pb.ListPeopleRequest())
    assert page.total == 2 and [p.name for p in page.people] == ["Bob", "Alice"]
    bob = page.people[0]
    assert (bob.face_count, bob.photo_count, bob.cover_face_id) == (2, 2, seed.bob_street)
    assert bob.cover_crop_url == f"/api/v1/faces/{seed.bob_street}/crop"
    alice = await stub.GetPerson(pb.GetPersonRequest(person_id=seed.alice))
    assert (alice.name, list(alice.eras), alice.birth_date) == ("Alice", ["adult"], "")
    second = await stub.ListPeople(pb.ListPeopleRequest(limit=1, offset=1))
    assert [p.name for p in second.people] == ["Alice"] and second.total == 2
    found = await stub.ListPeople(pb.ListPeopleRequest(query=" BO "))
    assert [p.name for p in found.people] == ["Bob"] and found.total == 1
    faces = await stub.ListPersonFaces(pb.ListPersonFacesRequest(person_id=seed.bob, limit=1))
    assert faces.total == 2 and faces.faces[0].face_id == seed.bob_street
    assert faces.faces[0].box == pb.FaceBox(x1=0, y1=10, x2=50, y2=60)
    photos = await stub.ListPersonPhotos(pb.ListPersonPhotosRequest(person_id=seed.bob))
    assert sorted(p.image_id for p in photos.photos) == sorted([BEACH, STREET]) and photos.total == 2
    assert all(p.thumbnail_url == f"/api/v1/images/{p.image_id}/thumbnail" for p in photos.photos)


async def test_person_writes_publish_changes(served: Served) -> None:
    stub, seed = served.stub, served.seed
    carol = await stub.CreatePerson(pb.CreatePersonRequest(name="Carol", face_ids=[seed.loner]))
    assert (carol.name, carol.face_count) == ("Carol", 1)
    carol_id = carol.person_id
    edited = await stub.UpdatePerson(pb.UpdatePersonRequest(person_id=carol_id, birth_date="2001-05-06"))
    assert (edited.name, edited.birth_date, edited.hidden) == ("Carol", "2001-05-06", False)
    cleared = await stub.UpdatePerson(pb.UpdatePersonRequest(person_id=carol_id, birth_date="", hidden=True))
    assert (cleared.birth_date, cleared.hidden) == ("", True)
    merged = await stub.MergePeople(pb.MergePeopleRequest(person_id=seed.bob, source_ids=[carol.person_id]))
    assert merged.face_count == 3
    assert served.changes() == [
        ("labeled", [carol.person_id]), ("birth_date", [carol.person_id]), ("hidden", [carol.person_id]),
        ("birth_date", [carol.person_id]), ("merged", sorted([seed.bob, carol.person_id])),
    ]


async def test_clusters(served: Served) -> None:
    stub, seed = served.stub, served.seed
    page = await stub.ListClusters(pb.ListClustersRequest())
    assert page.total == 1 and page.clusters[0].size == 2
    assert [f.face_id for f in page.clusters[0].samples] == [seed.unknown_street, seed.unknown_secret]
    assert (await stub.ListClusters(pb.ListClustersRequest(min_size=3))).total == 0
    members = await stub.GetCluster(pb.GetClusterRequest(cluster_id=seed.cluster, limit=1))
    assert members.total == 2 and len(members.faces) == 1 and members.cluster.cluster_id == seed.cluster
    hidden = await stub.UpdateCluster(pb.UpdateClusterRequest(cluster_id=seed.cluster, hidden=True))
    assert hidden.hidden and len(hidden.samples) == 2
    unchanged = await stub.UpdateCluster(pb.UpdateClusterRequest(cluster_id=seed.cluster))
    assert unchanged.hidden
    dana = await stub.LabelCluster(pb.LabelClusterRequest(cluster_id=seed.cluster, name="Dana"))
    assert (dana.name, dana.face_count) == ("Dana", 2)
    assert served.changes() == [("labeled", [dana.person_id])]
    await expect(Code.NOT_FOUND, stub.GetCluster(pb.GetClusterRequest(cluster_id=seed.cluster)))


async def test_run_clustering(served: Served) -> None:
    accepted = await served.stub.RunClustering(pb.RunClusteringRequest(full=True))
    [command] = served.world.published.on(COMMANDS_CLUSTERING)
    sent = ClusteringRequested.FromString(command.SerializeToString())
    assert (sent.full, sent.request_id, accepted.full) == (True, accepted.request_id, True)
    served.world.published.down = True
    await expect(Code.UNAVAILABLE, served.stub.RunClustering(pb.RunClusteringRequest()))


async def test_faces(served: Served) -> None:
    stub, seed = served.stub, served.seed
    face = await stub.GetFace(pb.GetFaceRequest(face_id=seed.alice_beach))
    assert (face.image_id, face.person_id, face.person_name) == (BEACH, seed.alice, "Alice")
    assert (face.era, face.prototype, face.crop_url) == ("adult", True, f"/api/v1/faces/{face.face_id}/crop")
    assert face.HasField("age") and face.age == pytest.approx(34.0)
    assert not (await stub.GetFace(pb.GetFaceRequest(face_id=seed.loner))).HasField("age")
    crop = await stub.GetFaceCrop(pb.GetFaceRequest(face_id=seed.alice_beach.upper()))
    assert (crop.face_id, crop.jpeg) == (seed.alice_beach, CROP_BYTES)
    moved = await stub.AssignFace(pb.AssignFaceRequest(face_id=seed.bob_beach, person_id=seed.alice))
    assert (moved.person_id, moved.assigned_by) == (seed.alice, "user")
    pinned = await stub.PinFace(pb.PinFaceRequest(face_id=seed.bob_beach, pinned=True))
    assert pinned.pinned
    unassigned = await stub.UnassignFace(pb.FaceRequest(face_id=seed.bob_beach))
    assert unassigned.person_id == 0 and unassigned.person_name == ""
    rejected = await stub.RejectFace(pb.RejectFaceRequest(face_id=seed.bob_street, person_id=seed.bob))
    assert rejected.person_id == 0
    left = await stub.RemoveFaceFromCluster(pb.FaceRequest(face_id=seed.unknown_street))
    assert left.cluster_id == 0
    assert served.changes() == [
        ("assigned", sorted([seed.alice, seed.bob])), ("pinned", [seed.alice]), ("unassigned", [seed.alice]),
        ("rejected", [seed.bob]), ("unclustered", []),
    ]
    image = await stub.ListImageFaces(pb.ListImageFacesRequest(image_id=STREET))
    assert image.image_id == STREET
    assert [f.face_id for f in image.faces] == [seed.bob_street, seed.unknown_street] and image.total == 2
    paged = await stub.ListImageFaces(pb.ListImageFacesRequest(image_id=STREET, limit=1, offset=1))
    assert ([f.face_id for f in paged.faces], paged.total) == ([seed.unknown_street], 2)


@pytest.mark.parametrize(
    ("code", "call", "mentions"),
    [
        (Code.INVALID_ARGUMENT, lambda s: s.GetPerson(pb.GetPersonRequest()), "person id"),
        (Code.INVALID_ARGUMENT, lambda s: s.GetPerson(pb.GetPersonRequest(person_id=-5)), "person id"),
        (Code.NOT_FOUND, lambda s: s.GetPerson(pb.GetPersonRequest(person_id=999)), ""),
        (Code.INVALID_ARGUMENT, lambda s: s.ListPeople(pb.ListPeopleRequest(limit=501)), "limit"),
        (Code.INVALID_ARGUMENT, lambda s: s.ListPeople(pb.ListPeopleRequest(offset=-1)), "offset"),
        (Code.INVALID_ARGUMENT, lambda s: s.ListPeople(pb.ListPeopleRequest(query="\x00")), "printable"),
        (Code.INVALID_ARGUMENT, lambda s: s.CreatePerson(pb.CreatePersonRequest(name=" ")), "empty"),
        (Code.INVALID_ARGUMENT,
         lambda s: s.CreatePerson(pb.CreatePersonRequest(name="X", face_ids=[UNKNOWN_FACE] * 501)), "500"),
        (Code.NOT_FOUND,
         lambda s: s.CreatePerson(pb.CreatePersonRequest(name="X", face_ids=[UNKNOWN_FACE])), ""),
        (Code.INVALID_ARGUMENT,
         lambda s: s.UpdatePerson(pb.UpdatePersonRequest(person_id=1, birth_date="yesterday")), "date"),
        (Code.INVALID_ARGUMENT, lambda s: s.MergePeople(pb.MergePeopleRequest(person_id=1)), "empty"),
        (Code.INVALID_ARGUMENT,
         lambda s: s.MergePeople(pb.MergePeopleRequest(person_id=1, source_ids=list(range(2, 200)))), "100"),
        (Code.INVALID_ARGUMENT, lambda s: s.LabelCluster(pb.LabelClusterRequest(cluster_id=7)), "either"),
        (Code.NOT_FOUND,
         lambda s: s.LabelCluster(pb.LabelClusterRequest(cluster_id=7, person_id=999)), ""),
        (Code.INVALID_ARGUMENT, lambda s: s.ListClusters(pb.ListClustersRequest(min_size=-1)), "min_size"),
        (Code.INVALID_ARGUMENT, lambda s: s.GetFace(pb.GetFaceRequest(face_id="../../etc/passwd")), "UUID"),
        (Code.NOT_FOUND, lambda s: s.GetFace(pb.GetFaceRequest(face_id=UNKNOWN_FACE)), ""),
        (Code.INVALID_ARGUMENT, lambda s: s.ListImageFaces(pb.ListImageFacesRequest(image_id="x")), "64 hex"),
        (Code.NOT_FOUND, lambda s: s.ListImageFaces(pb.ListImageFacesRequest(image_id=image_id("?"))), ""),
    ],
)
async def test_errors_map_to_status_codes(served: Served, code: grpc.StatusCode, call: object,
                                          mentions: str) -> None:
    await expect(code, call(served.stub), mentions)  # type: ignore[operator]
    assert served.world.published.published == []


async def test_hostile_crops_and_pins(served: Served) -> None:
    stub, seed = served.stub, served.seed
    await expect(Code.PERMISSION_DENIED, stub.GetFaceCrop(pb.GetFaceRequest(face_id=seed.escaping_crop)))
    await expect(Code.PERMISSION_DENIED, stub.GetFaceCrop(pb.GetFaceRequest(face_id=seed.absolute_crop)))
    missing = stub.GetFaceCrop(pb.GetFaceRequest(face_id=seed.missing_crop))
    await expect(Code.NOT_FOUND, missing, "missing")
    await expect(Code.NOT_FOUND, stub.GetFaceCrop(pb.GetFaceRequest(face_id=seed.no_crop)), "no crop")
    await expect(Code.FAILED_PRECONDITION, stub.PinFace(pb.PinFaceRequest(face_id=seed.loner, pinned=True)))


async def test_search_with_people_filters(served: Served) -> None:
    search, seed = image_search_stub(served.channel), served.seed
    only_alice = spb.SearchFilters(people_all=[seed.alice])
    hits = await search.SearchText(spb.TextSearchRequest(query="sunset", filters=only_alice))
    assert [h.image_id for h in hits.hits] == [BEACH]
    without_alice = spb.SearchFilters(people_none=[seed.alice], people_any=[seed.bob])
    similar = await search.SearchSimilar(spb.SimilarSearchRequest(image_id=BEACH, filters=without_alice))
    assert [h.image_id for h in similar.hits] == [STREET]
    too_many = spb.SearchFilters(people_any=range(1, 52))
    await expect(Code.INVALID_ARGUMENT, search.SearchText(spb.TextSearchRequest(query="x", filters=too_many)),
                 "people_any")
    negative = spb.SearchFilters(people_none=[-4])
    await expect(Code.INVALID_ARGUMENT, search.SearchText(spb.TextSearchRequest(query="x", filters=negative)),
                 "people_none")


async def test_people_service_is_reflected_and_health_checked(served: Served) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(served.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for response in reflection.ServerReflectionInfo(iter([request])):
        assert PEOPLE_SERVICE_NAME in {s.name for s in response.list_services_response.service}
    health = health_pb2_grpc.HealthStub(served.channel)
    status = await health.Check(health_pb2.HealthCheckRequest(service=PEOPLE_SERVICE_NAME))
    serving = health_pb2.HealthCheckResponse
    assert status.status in (serving.SERVING, serving.NOT_SERVING)  # known to health, following readiness


async def test_a_database_outage_is_unavailable(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    async def down(*args: object, **kwargs: object) -> None:
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(served.world.people, "list_people", down)
    await expect(grpc.StatusCode.UNAVAILABLE, served.stub.ListPeople(pb.ListPeopleRequest()), "database")
