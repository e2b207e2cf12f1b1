"""People API over REST (httpx.ASGITransport): the real FastAPI app, the gateway over an in-memory people
store (tests/support/people_fakes.py) and a recording publisher; search's people filters through the search
handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsearch.common.subjects import COMMANDS_CLUSTERING, PEOPLE_CHANGED
from imgsearch.events.v1.events_pb2 import ClusteringRequested, PeopleChanged
from imgsearch.gateway.api.http import create_app
from tests.support.gateway_world import GatewayWorld, build_world
from tests.support.people_fakes import CROP_BYTES, PeopleSeed, seed_people
from tests.support.search_fakes import image_id

BEACH, STREET = image_id("beach"), image_id("street")
UNKNOWN_FACE = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def world(tmp_path: Path, executor: ThreadPoolExecutor) -> GatewayWorld:
    return await build_world(tmp_path, executor)


@pytest.fixture
def seed(world: GatewayWorld) -> PeopleSeed:
    return seed_people(world.people, world.crops, image_id)


@pytest.fixture
async def api(world: GatewayWorld) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(world.gateway), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


def changes(world: GatewayWorld) -> list[tuple[str, list[int]]]:
    events = [PeopleChanged.FromString(m.SerializeToString()) for m in world.published.on(PEOPLE_CHANGED)]
    return [(e.change, sorted(e.person_ids)) for e in events]


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, mentions: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"}
    assert mentions in body["message"], body


# -- people -----------------------------------------------------------------------------------------


async def test_list_people_with_counts_cover_and_eras(api: httpx.AsyncClient, seed: PeopleSeed) -> None:
    body = ok(await api.get("/api/v1/people"))
    assert (body["total"], body["limit"], body["offset"]) == (2, 50, 0)
    bob, alice = body["people"]  # most photos first
    assert (bob["name"], bob["face_count"], bob["photo_count"]) == ("Bob", 2, 2)
    assert bob["cover_face_id"] == seed.bob_street  # the prototype
    assert bob["cover_crop_url"] == f"/api/v1/faces/{seed.bob_street}/crop"
    assert (alice["person_id"], alice["eras"], alice["birth_date"]) == (seed.alice, ["adult"], None)
    page = ok(await api.get("/api/v1/people", params={"limit": 1, "offset": 1}))
    assert [p["name"] for p in page["people"]] == ["Alice"] and page["total"] == 2
    found = ok(await api.get("/api/v1/people", params={"q": "  ali "}))
    assert [p["name"] for p in found["people"]] == ["Alice"]


async def test_hidden_people_are_listed_only_on_request(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    world.people.add_person("Stranger", hidden=True)
    assert ok(await api.get("/api/v1/people"))["total"] == 2
    everyone = ok(await api.get("/api/v1/people", params={"include_hidden": "true"}))
    assert {p["name"] for p in everyone["people"]} == {"Alice", "Bob", "Stranger"}


async def test_person_faces_and_photos_are_paged(api: httpx.AsyncClient, seed: PeopleSeed) -> None:
    person = ok(await api.get(f"/api/v1/people/{seed.bob}"))
    assert person["name"] == "Bob"
    faces = ok(await api.get(f"/api/v1/people/{seed.bob}/faces", params={"limit": 1}))
    assert faces["total"] == 2 and [f["face_id"] for f in faces["faces"]] == [seed.bob_street]
    face = faces["faces"][0]
    assert face["box"] == {"x1": 0, "y1": 10, "x2": 50, "y2": 60}
    assert (face["person_name"], face["thumbnail_url"]) == ("Bob", f"/api/v1/images/{STREET}/thumbnail")
    photos = ok(await api.get(f"/api/v1/people/{seed.bob}/photos", params={"offset": 1}))
    assert photos["total"] == 2 and len(photos["photos"]) == 1
    [photo] = photos["photos"]
    assert photo["thumbnail_url"] == f"/api/v1/images/{photo['image_id']}/thumbnail"


async def test_create_person_with_faces_publishes_the_change(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    body = {"name": "  Carol ", "face_ids": [seed.unknown_street, seed.loner.upper()]}
    carol = ok(await api.post("/api/v1/people", json=body), 201)
    assert (carol["name"], carol["face_count"], carol["photo_count"]) == ("Carol", 2, 2)
    assert ok(await api.get(f"/api/v1/faces/{seed.loner}"))["person_name"] == "Carol"
    assert changes(world) == [("labeled", [carol["person_id"]])]
    event = PeopleChanged.FromString(world.published.published[0][1].SerializeToString())
    assert event.request_id and sorted(event.face_ids) == sorted([seed.unknown_street, seed.loner])


async def test_create_person_refusals_write_nothing(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    refused(await api.post("/api/v1/people", json={"name": "X", "face_ids": [UNKNOWN_FACE]}), 404)
    refused(await api.post("/api/v1/people", json={"name": "X", "face_ids": ["../../etc"]}), 400, "UUID")
    refused(await api.post("/api/v1/people", json={"name": "   "}), 400, "empty")
    refused(await api.post("/api/v1/people", json={"name": "a\x00b"}), 400, "control")
    refused(await api.post("/api/v1/people", json={"name": "x" * 201}), 400, "200")
    refused(await api.post("/api/v1/people", json={"name": "X", "face_ids": [UNKNOWN_FACE] * 501}), 400)
    refused(await api.post("/api/v1/people", json={"name": "X", "extra": 1}), 400, "extra")
    refused(await api.post("/api/v1/people", content=b"{not json"), 400)
    assert len(world.people.people) == 2 and world.published.published == []


async def test_update_person_renames_hides_and_dates(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    url = f"/api/v1/people/{seed.alice}"
    updated = ok(await api.patch(url, json={"name": "Alice B.", "hidden": True, "birth_date": "1990-02-03"}))
    assert (updated["name"], updated["hidden"], updated["birth_date"]) == ("Alice B.", True, "1990-02-03")
    assert changes(world) == [(change, [seed.alice]) for change in ("renamed", "hidden", "birth_date")]
    cleared = ok(await api.patch(url, json={"birth_date": None}))
    assert cleared["birth_date"] is None and cleared["name"] == "Alice B."
    unchanged = ok(await api.patch(url, json={}))
    assert unchanged == cleared and len(changes(world)) == 4


async def test_the_same_edit_twice_is_published_twice(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    for _ in range(2):
        ok(await api.patch(f"/api/v1/people/{seed.alice}", json={"name": "Al"}))
    ids = [msg_id for _, _, msg_id in world.published.published]
    assert len(ids) == 2 and ids[0] != ids[1]


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"birth_date": "1990-13-01"}, "not a date"),
        ({"birth_date": "19900101"}, "YYYY-MM-DD"),
        ({"birth_date": "2999-01-01"}, "future"),
        ({"birth_date": 0}, "birth_date"),
        ({"name": ""}, "empty"),
        ({"hidden": "maybe"}, "hidden"),
        ({"nickname": "Al"}, "nickname"),
    ],
)
async def test_update_person_refusals(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed, body: dict[str, Any], mentions: str
) -> None:
    refused(await api.patch(f"/api/v1/people/{seed.alice}", json={"name": "Never", **body}), 400, mentions)
    assert ok(await api.get(f"/api/v1/people/{seed.alice}"))["name"] == "Alice"  # checked before writing
    assert world.published.published == []


async def test_merge_moves_faces_and_resolves_the_source(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    merged = ok(await api.post(f"/api/v1/people/{seed.bob}/merge", json={"source_ids": [seed.alice]}))
    assert merged["person_id"] == seed.bob
    assert merged["photo_count"] == 2  # Bob was in beach already: Alice's face there is unassigned
    assert ok(await api.get(f"/api/v1/people/{seed.alice}"))["person_id"] == seed.bob
    assert changes(world) == [("merged", sorted([seed.alice, seed.bob]))]
    assert ok(await api.get("/api/v1/people"))["total"] == 1


async def test_merge_refusals(api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed) -> None:
    url = f"/api/v1/people/{seed.bob}/merge"
    refused(await api.post(url, json={"source_ids": [seed.bob]}), 400, "itself")
    refused(await api.post(url, json={"source_ids": []}), 400)
    refused(await api.post(url, json={"source_ids": list(range(1, 102))}), 400)
    refused(await api.post(url, json={"source_ids": [-1]}), 400)
    refused(await api.post(url, json={"source_ids": [2**63]}), 400)
    refused(await api.post(url, json={"source_ids": [999]}), 404)
    refused(await api.post("/api/v1/people/999/merge", json={"source_ids": [seed.bob]}), 404)
    assert world.published.published == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/people/0", 400), ("/api/v1/people/-3", 400), ("/api/v1/people/abc", 400),
        (f"/api/v1/people/{2**63}", 400), ("/api/v1/people/99999", 404), ("/api/v1/people/1.5", 400),
        ("/api/v1/people/1/faces?limit=0", 400), ("/api/v1/people/1/faces?limit=501", 400),
        ("/api/v1/people/1/photos?offset=-1", 400), ("/api/v1/people?q=" + "x" * 201, 400),
        ("/api/v1/clusters/0", 400), ("/api/v1/clusters/12345", 404), ("/api/v1/clusters?min_size=0", 400),
        ("/api/v1/faces/not-a-uuid", 400), (f"/api/v1/faces/{UNKNOWN_FACE}", 404),
        ("/api/v1/faces/..%2F..%2Fetc%2Fpasswd/crop", 404), ("/api/v1/faces/%00/crop", 400),
        (f"/api/v1/faces/{UNKNOWN_FACE}/crop", 404), ("/api/v1/images/nope/faces", 400),
        (f"/api/v1/images/{image_id('never')}/faces", 404),
    ],
)
async def test_bad_and_unknown_ids(api: httpx.AsyncClient, seed: PeopleSeed, path: str, status: int) -> None:
    refused(await api.get(path), status)


# -- clusters ---------------------------------------------------------------------------------------


async def test_clusters_list_with_samples_and_members(api: httpx.AsyncClient, seed: PeopleSeed) -> None:
    body = ok(await api.get("/api/v1/clusters"))
    assert body["total"] == 1
    [cluster] = body["clusters"]
    assert (cluster["cluster_id"], cluster["size"], cluster["hidden"]) == (seed.cluster, 2, False)
    assert [f["face_id"] for f in cluster["samples"]] == [seed.unknown_street, seed.unknown_secret]
    assert cluster["samples"][0]["crop_url"] == f"/api/v1/faces/{seed.unknown_street}/crop"
    assert ok(await api.get("/api/v1/clusters", params={"min_size": 3}))["total"] == 0
    members = ok(await api.get(f"/api/v1/clusters/{seed.cluster}", params={"limit": 1, "offset": 1}))
    assert members["total"] == 2 and [f["face_id"] for f in members["faces"]] == [seed.unknown_secret]
    assert members["cluster"]["size"] == 2


async def test_hide_a_cluster(api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed) -> None:
    hidden = ok(await api.patch(f"/api/v1/clusters/{seed.cluster}", json={"hidden": True}))
    assert hidden["hidden"] is True and len(hidden["samples"]) == 2
    assert ok(await api.get("/api/v1/clusters"))["total"] == 0
    assert ok(await api.get("/api/v1/clusters", params={"include_hidden": True}))["total"] == 1
    refused(await api.patch("/api/v1/clusters/12345", json={"hidden": True}), 404)
    refused(await api.patch(f"/api/v1/clusters/{seed.cluster}", json={"hidden": "x"}), 400)
    assert world.published.published == []  # no person changed


async def test_label_a_cluster_as_a_new_person(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    dana = ok(await api.post(f"/api/v1/clusters/{seed.cluster}/label", json={"name": "Dana"}))
    assert (dana["name"], dana["face_count"]) == ("Dana", 2)
    assert changes(world) == [("labeled", [dana["person_id"]])]
    refused(await api.get(f"/api/v1/clusters/{seed.cluster}"), 404)  # emptied, gone


async def test_label_a_cluster_as_someone_known_honours_the_rules(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    ok(await api.post(f"/api/v1/faces/{seed.unknown_secret}/reject", json={"person_id": seed.bob}))
    bob = ok(await api.post(f"/api/v1/clusters/{seed.cluster}/label", json={"person_id": seed.bob}))
    assert bob["face_count"] == 2  # street has Bob already; secret is "not Bob"
    assert ok(await api.get(f"/api/v1/faces/{seed.unknown_secret}"))["person_id"] is None


@pytest.mark.parametrize(
    "body", [{}, {"name": "A", "person_id": 1}, {"person_id": 0}, {"name": ""}, {"person_id": "one"}]
)
async def test_label_needs_exactly_one_target(
    api: httpx.AsyncClient, seed: PeopleSeed, body: dict[str, Any]
) -> None:
    refused(await api.post(f"/api/v1/clusters/{seed.cluster}/label", json=body), 400)


async def test_label_unknowns_are_not_found(api: httpx.AsyncClient, seed: PeopleSeed) -> None:
    refused(await api.post("/api/v1/clusters/999/label", json={"name": "X"}), 404)
    refused(await api.post(f"/api/v1/clusters/{seed.cluster}/label", json={"person_id": 999}), 404)


async def test_run_clustering_queues_a_command(api: httpx.AsyncClient, world: GatewayWorld) -> None:
    accepted = ok(await api.post("/api/v1/clusters/run", json={"full": True}), 202)
    assert accepted["full"] is True
    [command] = world.published.on(COMMANDS_CLUSTERING)
    sent = ClusteringRequested.FromString(command.SerializeToString())
    assert (sent.full, sent.request_id) == (True, accepted["request_id"])
    assert ok(await api.post("/api/v1/clusters/run"), 202)["full"] is False
    world.published.down = True
    refused(await api.post("/api/v1/clusters/run"), 503)  # nothing was queued: say so


# -- faces ------------------------------------------------------------------------------------------


async def test_face_and_its_crop(api: httpx.AsyncClient, seed: PeopleSeed) -> None:
    face = ok(await api.get(f"/api/v1/faces/{seed.alice_beach.upper()}"))
    assert (face["face_id"], face["image_id"], face["person_id"]) == (seed.alice_beach, BEACH, seed.alice)
    assert (face["age"], face["era"], face["prototype"], face["assigned_by"]) == (34.0, "adult", True, "auto")
    crop = await api.get(face["crop_url"])
    assert crop.status_code == 200 and crop.content == CROP_BYTES
    assert crop.headers["content-type"] == "image/jpeg"


async def test_crops_outside_the_crops_folder_are_refused(api: httpx.AsyncClient, seed: PeopleSeed) -> None:
    refused(await api.get(f"/api/v1/faces/{seed.escaping_crop}/crop"), 403, "outside")
    refused(await api.get(f"/api/v1/faces/{seed.absolute_crop}/crop"), 403, "outside")
    refused(await api.get(f"/api/v1/faces/{seed.missing_crop}/crop"), 404, "missing")
    refused(await api.get(f"/api/v1/faces/{seed.no_crop}/crop"), 404, "no crop")
    assert ok(await api.get(f"/api/v1/faces/{seed.no_crop}"))["crop_url"] is None


async def test_a_symlink_out_of_the_crops_folder_is_refused(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    (world.crops / "link.jpg").symlink_to(world.crops.parent / "outside.jpg")
    world.people.faces[seed.loner].crop_path = "link.jpg"
    refused(await api.get(f"/api/v1/faces/{seed.loner}/crop"), 403)


async def test_assign_moves_a_face_and_keeps_one_person_per_photo(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    moved = ok(await api.put(f"/api/v1/faces/{seed.bob_beach}/person", json={"person_id": seed.alice}))
    assert (moved["person_id"], moved["person_name"], moved["assigned_by"]) == (seed.alice, "Alice", "user")
    assert ok(await api.get(f"/api/v1/faces/{seed.alice_beach}"))["person_id"] is None  # Alice once per photo
    assert changes(world) == [("assigned", sorted([seed.alice, seed.bob]))]
    event = PeopleChanged.FromString(world.published.published[0][1].SerializeToString())
    assert list(event.face_ids) == [seed.bob_beach]
    refused(await api.put(f"/api/v1/faces/{seed.loner}/person", json={"person_id": 999}), 404)
    refused(await api.put(f"/api/v1/faces/{UNKNOWN_FACE}/person", json={"person_id": seed.bob}), 404)
    refused(await api.put(f"/api/v1/faces/{seed.loner}/person", json={"person_id": -1}), 400)
    refused(await api.put(f"/api/v1/faces/{seed.loner}/person", json={}), 400)


async def test_unassign_reject_and_leave_a_cluster(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    face = ok(await api.delete(f"/api/v1/faces/{seed.bob_street}/person"))
    assert face["person_id"] is None and face["assigned_by"] is None
    rejected = ok(await api.post(f"/api/v1/faces/{seed.alice_beach}/reject", json={"person_id": seed.alice}))
    assert rejected["person_id"] is None
    assert ("rejected", [seed.alice]) in changes(world) and ("unassigned", [seed.bob]) in changes(world)
    left = ok(await api.delete(f"/api/v1/faces/{seed.unknown_street}/cluster"))
    assert left["cluster_id"] is None
    assert ok(await api.get(f"/api/v1/clusters/{seed.cluster}"))["total"] == 1
    # leaving a cluster changes no person, but the face's payload in the faces collection must follow
    [*_, last] = [PeopleChanged.FromString(m.SerializeToString()) for m in world.published.on(PEOPLE_CHANGED)]
    assert (last.change, list(last.person_ids)) == ("unclustered", [])
    assert list(last.face_ids) == [seed.unknown_street]
    assert len(world.published.published) == 3


async def test_pin_and_unpin(api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed) -> None:
    assert ok(await api.put(f"/api/v1/faces/{seed.bob_beach}/pin"))["pinned"] is True
    assert ok(await api.delete(f"/api/v1/faces/{seed.bob_beach}/pin"))["pinned"] is False
    assert changes(world) == [("pinned", [seed.bob]), ("pinned", [seed.bob])]
    refused(await api.put(f"/api/v1/faces/{seed.loner}/pin"), 409, "no person")


async def test_image_faces(api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed) -> None:
    body = ok(await api.get(f"/api/v1/images/{BEACH.upper()}/faces"))
    assert body["image_id"] == BEACH
    assert [(f["person_name"], f["box"]["x1"]) for f in body["faces"]] == [("Alice", 0), ("Bob", 100)]
    assert all(f["crop_url"] == f"/api/v1/faces/{f['face_id']}/crop" for f in body["faces"])
    assert body["total"] == 2
    second = ok(await api.get(f"/api/v1/images/{BEACH}/faces", params={"limit": 1, "offset": 1}))
    assert ([f["person_name"] for f in second["faces"]], second["total"]) == (["Bob"], 2)
    refused(await api.get(f"/api/v1/images/{BEACH}/faces", params={"limit": 501}), 400, "limit")
    none = ok(await api.get(f"/api/v1/images/{image_id('outside')}/faces"))  # known image, no faces
    assert none == {"image_id": image_id("outside"), "faces": [], "total": 0}


async def test_an_edit_stands_when_the_event_cannot_be_published(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    world.published.down = True
    renamed = ok(await api.patch(f"/api/v1/people/{seed.alice}", json={"name": "Alicia"}))
    assert renamed["name"] == "Alicia"


async def test_openapi_documents_the_people_api(api: httpx.AsyncClient) -> None:
    paths = ok(await api.get("/openapi.json"))["paths"]
    assert {"/api/v1/people", "/api/v1/clusters/run", "/api/v1/faces/{face_id}/crop",
            "/api/v1/images/{image_id}/faces"} <= set(paths)


# -- search by people -------------------------------------------------------------------------------


async def search(api: httpx.AsyncClient, **params: Any) -> list[str]:
    body = ok(await api.get("/api/v1/search", params={"q": "sunset", **params}))
    return [h["image_id"] for h in body["hits"]]


async def test_search_with_people_filters(
    api: httpx.AsyncClient, world: GatewayWorld, seed: PeopleSeed
) -> None:
    assert await search(api, people_all=[seed.alice]) == [BEACH]
    assert await search(api, people_all=[seed.alice, seed.bob]) == [BEACH]
    assert await search(api, people_any=[seed.alice, seed.bob]) == [BEACH, STREET]
    assert await search(api, people_none=[seed.alice]) == [STREET]
    assert await search(api, people_any=[seed.bob], people_none=[seed.alice]) == [STREET]
    assert await search(api, people_all=[seed.alice], folder=f"{world.library}/2020") == [BEACH]
    assert await search(api, people_all=[seed.alice], taken_before="2019-12-31") == []
    nobody = world.people.add_person("Nobody")
    assert await search(api, people_all=[nobody]) == []  # no photos of them: nothing matches
    assert await search(api, people_any=[nobody, seed.alice]) == [BEACH]
    refused(await api.get("/api/v1/search", params={"q": "sunset", "people_none": [999]}), 404, "999")
    assert world.people.filter_calls[0] == ((seed.alice,), (), ())
    similar = ok(await api.get(f"/api/v1/images/{BEACH}/similar", params={"people_any": [seed.bob]}))
    assert [h["image_id"] for h in similar["hits"]] == [STREET]


@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"people_all": list(range(1, 52))}, "people_all"),
        ({"people_none": [-1]}, "people_none"),
        ({"people_any": [0]}, "people_any"),
        ({"people_any": [2**63]}, "people_any"),
        ({"people_all": ["bob"]}, "people_all"),
    ],
)
async def test_bad_people_filters_are_refused(
    api: httpx.AsyncClient, world: GatewayWorld, params: dict[str, Any], mentions: str
) -> None:
    refused(await api.get("/api/v1/search", params={"q": "sunset", **params}), 400, mentions)
    refused(await api.get(f"/api/v1/images/{BEACH}/similar", params=params), 400, mentions)
    assert world.people.filter_calls == []


async def test_a_database_outage_is_503_not_500(api: httpx.AsyncClient, world: GatewayWorld,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    async def down(*args: object, **kwargs: object) -> None:
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(world.people, "list_people", down)
    refused(await api.get("/api/v1/people"), 503, "database")


async def test_a_name_that_would_display_as_another_is_refused(api: httpx.AsyncClient) -> None:
    refused(await api.post("/api/v1/people", json={"name": "Ann\u202eeb"}), 400, "control")
    # joiners are fine (emoji, many scripts)
    created = ok(await api.post("/api/v1/people", json={"name": "👩\u200d👧 family"}), 201)
    assert created["name"] == "👩\u200d👧 family"


async def test_a_change_touching_many_faces_is_published_in_parts(tmp_path: Path) -> None:
    from imgsearch.common.db.people_records import PeopleChange
    from imgsearch.gateway.people import FACE_IDS_PER_EVENT, PeopleService
    from tests.support.people_fakes import FakePeopleStore, FakePublisher

    published = FakePublisher()
    service = PeopleService(FakePeopleStore(images=set()), published, tmp_path)
    faces = tuple(f"00000000-0000-4000-8000-{i:012d}" for i in range(FACE_IDS_PER_EVENT + 3))
    await service._changed(PeopleChange("merged", (1, 2), faces))
    events = [PeopleChanged.FromString(m.SerializeToString()) for m in published.on(PEOPLE_CHANGED)]
    assert [len(e.face_ids) for e in events] == [FACE_IDS_PER_EVENT, 3]
    assert {e.request_id for e in events} == {events[0].request_id}
    assert [f for e in events for f in e.face_ids] == list(faces)
