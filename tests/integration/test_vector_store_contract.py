"""One behaviour contract for every VectorStore adapter.

The server adapter runs against qdrant-client's local mode (``:memory:``), which stands in for a Qdrant
server (none can run here): same client API, exact search.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from qdrant_client.http.exceptions import UnexpectedResponse

from imgsearch.common.errors import ImgSearchError, InvalidInput, ModelMismatch, NotFound, Unavailable
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.common.vectors.port import CollectionSpec, GeoCircle, SearchFilter, VectorPoint, VectorStore
from imgsearch.common.vectors.server import QdrantServerStore, _translated_errors

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")

DIM = 16
SPEC = CollectionSpec(model="ViT-B-32", pretrained="laion2b_s34b_b79k", dim=DIM)
OTHER_SPEC = CollectionSpec(model="ViT-L-14", pretrained="openai", dim=DIM)
DAY = 86_400.0
T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def _id(n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"point-{n}"))


def _points(count: int = 40) -> list[VectorPoint]:
    """Random unit vectors; point n was taken on day n (every 5th undated), in folder /a or /b."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((count, DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    points = []
    for n in range(count):
        payload: dict[str, object] = {"image_id": f"img-{n}", "folders": ["/a" if n % 2 else "/b", "/"]}
        if n % 5:
            payload["taken_at"] = T0 + n * DAY
        points.append(VectorPoint(_id(n), vectors[n].tolist(), payload))
    return points


def _edge(tmp_path: Path) -> VectorStore:
    return QdrantEdgeStore(tmp_path / "vectors", background_optimize=False)


def _server(tmp_path: Path) -> VectorStore:
    return QdrantServerStore(location=":memory:")


@pytest.fixture(params=[_edge, _server], ids=["edge", "server"])
def make_store(request: pytest.FixtureRequest) -> Callable[[Path], VectorStore]:
    maker: Callable[[Path], VectorStore] = request.param
    return maker


@pytest.fixture
async def store(make_store: Callable[[Path], VectorStore], tmp_path: Path) -> AsyncIterator[VectorStore]:
    s = make_store(tmp_path)
    await s.ensure_collection("images", SPEC)
    yield s
    await s.close()


@pytest.fixture
async def filled(store: VectorStore) -> VectorStore:
    await store.upsert("images", _points())
    return store


def _date(n: int) -> datetime:
    return datetime.fromtimestamp(T0 + n * DAY, tz=UTC)


async def test_nearest_point_ranks_first(filled: VectorStore) -> None:
    target = _points()[13]
    query = (np.asarray(target.vector) + 0.05 * np.random.default_rng(1).standard_normal(DIM)).tolist()
    hits = await filled.search("images", query, limit=5)
    assert hits[0].id == target.id
    assert hits[0].payload["image_id"] == "img-13"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].score > 0.95


async def test_upsert_is_idempotent(store: VectorStore) -> None:
    point = _points()[3]
    await store.upsert("images", [point])
    await store.upsert("images", [VectorPoint(point.id, point.vector, {"image_id": "renamed"})])
    assert await store.count("images") == 1
    [back] = await store.retrieve("images", [point.id])
    assert back.payload == {"image_id": "renamed"}


async def test_date_range_excludes_undated_points(filled: VectorStore) -> None:
    window = SearchFilter(taken_after=_date(10), taken_before=_date(20))
    hits = await filled.search("images", _points()[0].vector, limit=40, filter=window)
    expected = {_id(n) for n in range(10, 21) if n % 5}
    assert {h.id for h in hits} == expected
    late = SearchFilter(taken_after=_date(36))
    after = await filled.search("images", _points()[0].vector, limit=40, filter=late)
    assert {h.id for h in after} == {_id(n) for n in range(36, 40) if n % 5}


async def test_folder_filter_and_excluded_ids(filled: VectorStore) -> None:
    excluded = [_id(1), _id(3)]
    hits = await filled.search(
        "images", _points()[1].vector, limit=40, filter=SearchFilter(folder="/a", exclude_ids=excluded)
    )
    assert {h.id for h in hits} == {_id(n) for n in range(40) if n % 2 and n not in (1, 3)}
    everything = await filled.search("images", _points()[1].vector, limit=40, filter=SearchFilter(folder="/"))
    assert len(everything) == 40


async def test_offset_pages_through_the_ranking(filled: VectorStore) -> None:
    query = _points()[4].vector
    top10 = await filled.search("images", query, limit=10)
    page1 = await filled.search("images", query, limit=5)
    page2 = await filled.search("images", query, limit=5, offset=5)
    assert [h.id for h in page1 + page2] == [h.id for h in top10]


async def test_retrieve_returns_vectors_and_payloads(filled: VectorStore) -> None:
    wanted = _points()[6]
    missing = str(uuid.uuid4())
    found = await filled.retrieve("images", [missing, wanted.id])
    assert [p.id for p in found] == [wanted.id]
    assert found[0].payload == wanted.payload
    np.testing.assert_allclose(found[0].vector, wanted.vector, atol=1e-5)  # unit vectors: cosine keeps them


async def test_scroll_lists_every_point_once_with_its_payload(filled: VectorStore) -> None:
    await filled.delete("images", [_id(3)])
    seen: dict[str, dict[str, object]] = {}
    offset: str | None = None
    pages = 0
    while True:
        page = await filled.scroll("images", limit=7, offset=offset)
        pages += 1
        assert len(page.points) <= 7
        for point in page.points:
            assert point.id not in seen
            seen[point.id] = point.payload
        if page.next_offset is None:
            break
        offset = page.next_offset
    assert pages == 6  # 39 points, 7 per page
    assert set(seen) == {_id(n) for n in range(40) if n != 3}
    assert seen[_id(4)]["image_id"] == "img-4" and seen[_id(4)]["folders"] == ["/b", "/"]


async def test_scroll_of_an_empty_collection_is_one_empty_page(store: VectorStore) -> None:
    page = await store.scroll("images", limit=10)
    assert page.points == [] and page.next_offset is None


async def test_delete_and_count(filled: VectorStore) -> None:
    assert await filled.count("images") == 40
    await filled.delete("images", [_id(0), _id(1), str(uuid.uuid4())])
    assert await filled.count("images") == 38
    assert await filled.retrieve("images", [_id(0)]) == []
    hits = await filled.search("images", _points()[0].vector, limit=3)
    assert _id(0) not in {h.id for h in hits}


async def test_spec_is_recorded_and_another_spec_is_refused(store: VectorStore) -> None:
    assert await store.collection_spec("images") == SPEC
    assert await store.collection_spec("faces") is None
    await store.ensure_collection("images", SPEC)  # same spec: fine
    with pytest.raises(ModelMismatch) as refused:
        await store.ensure_collection("images", OTHER_SPEC)
    assert "ViT-B-32" in refused.value.message and "ViT-L-14" in refused.value.message


async def test_a_dropped_collection_can_be_recreated_with_another_spec(filled: VectorStore) -> None:
    await filled.drop_collection("images")
    await filled.drop_collection("images")  # absent: nothing to do
    assert await filled.collection_spec("images") is None
    with pytest.raises(NotFound):
        await filled.count("images")
    await filled.ensure_collection("images", OTHER_SPEC)
    assert await filled.collection_spec("images") == OTHER_SPEC
    assert await filled.count("images") == 0


async def test_missing_collection_is_not_found(store: VectorStore) -> None:
    with pytest.raises(NotFound):
        await store.count("nowhere")


async def test_edge_collection_survives_reopen(tmp_path: Path) -> None:
    first = _edge(tmp_path)
    await first.ensure_collection("images", SPEC)
    await first.upsert("images", _points())
    await first.close()

    second = _edge(tmp_path)
    try:
        assert await second.collection_spec("images") == SPEC
        assert await second.count("images") == 40  # usable before ensure_collection
        hits = await second.search("images", _points()[9].vector, limit=1, filter=SearchFilter(folder="/a"))
        assert hits[0].id == _id(9)
        with pytest.raises(ModelMismatch):
            await second.ensure_collection("images", OTHER_SPEC)
        with pytest.raises(ModelMismatch):
            await second.ensure_collection("images", CollectionSpec(SPEC.model, SPEC.pretrained, dim=DIM * 2))
    finally:
        await second.close()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidInput), (422, InvalidInput), (404, NotFound),
        (408, Unavailable), (409, Unavailable), (429, Unavailable), (500, Unavailable), (503, Unavailable),
    ],
)
def test_server_http_errors_map_to_retryable_or_terminal(status: int, expected: type[ImgSearchError]) -> None:
    with pytest.raises(expected), _translated_errors("images"):
        raise UnexpectedResponse(status, "reason", b"{}", httpx.Headers())


async def test_include_ids_restrict_and_combine_with_other_filters(filled: VectorStore) -> None:
    query = _points()[2].vector
    wanted = [_id(n) for n in (1, 2, 3, 4, 5, 6)]
    only = await filled.search("images", query, limit=40, filter=SearchFilter(include_ids=wanted))
    assert {h.id for h in only} == set(wanted)
    assert only[0].id == _id(2)
    narrowed = SearchFilter(include_ids=wanted, folder="/a", exclude_ids=[_id(3)])
    hits = await filled.search("images", query, limit=40, filter=narrowed)
    assert {h.id for h in hits} == {_id(1), _id(5)}
    stranger = SearchFilter(include_ids=[str(uuid.uuid4())])
    assert await filled.search("images", query, limit=40, filter=stranger) == []


async def test_empty_include_ids_match_nothing(filled: VectorStore) -> None:
    nothing = SearchFilter(include_ids=[])
    assert not nothing.empty and nothing.matches_nothing
    assert await filled.search("images", _points()[0].vector, limit=40, filter=nothing) == []
    with pytest.raises(InvalidInput):  # the vector is still checked
        await filled.search("images", [1.0, 0.0], limit=5, filter=nothing)


async def test_set_payload_merges_keys_and_ignores_missing_points(filled: VectorStore) -> None:
    missing = str(uuid.uuid4())
    await filled.set_payload("images", {
        _id(1): {"person_ids": [7, 9]},
        _id(2).upper(): {"person_ids": [], "folders": ["/c"]},  # any spelling of the UUID
        missing: {"person_ids": [1]},
    })
    one, two = await filled.retrieve("images", [_id(1), _id(2)])
    assert one.payload == {**_points()[1].payload, "person_ids": [7, 9]}
    assert two.payload == {**_points()[2].payload, "person_ids": [], "folders": ["/c"]}
    assert await filled.retrieve("images", [missing]) == []
    assert await filled.count("images") == 40
    await filled.set_payload("images", {_id(1): {"person_ids": [9]}})  # replaces that key only
    [again] = await filled.retrieve("images", [_id(1)])
    assert again.payload["person_ids"] == [9] and again.payload["image_id"] == "img-1"
    hits = await filled.search("images", _points()[2].vector, limit=1, filter=SearchFilter(folder="/c"))
    assert [h.id for h in hits] == [_id(2)]  # the index follows the new payload
    await filled.set_payload("images", {})


async def test_set_payload_on_a_missing_collection_is_not_found(store: VectorStore) -> None:
    with pytest.raises(NotFound):
        await store.set_payload("nowhere", {_id(1): {"person_ids": [1]}})


async def test_people_fields_are_indexed(tmp_path: Path) -> None:
    edge = QdrantEdgeStore(tmp_path / "vectors", background_optimize=False)
    try:
        await edge.ensure_collection("images", SPEC)
        collection, _ = await edge._collection("images")
        schema = collection.read(lambda shard: shard.info().payload_schema)
        assert {"person_ids", "person_id", "cluster_id", "image_id", "folders", "taken_at"} <= set(schema)
    finally:
        await edge.close()


# Places for the geo filter: Arezzo, Florence (~60 km from Arezzo), Sydney (the other side of the earth).
_PLACES = {"arezzo": (43.4674, 11.8851), "florence": (43.7696, 11.2558), "sydney": (-33.8688, 151.2093)}


async def _placed(store: VectorStore) -> dict[str, str]:
    """Four photos: three placed (one per place), one without a location; cameras on two of them."""
    points = _points(4)
    payloads: list[dict[str, object]] = [
        {"image_id": "arezzo", "location": {"lat": _PLACES["arezzo"][0], "lon": _PLACES["arezzo"][1]},
         "camera": "NIKON COOLPIX P6000"},
        {"image_id": "florence", "location": {"lat": _PLACES["florence"][0], "lon": _PLACES["florence"][1]},
         "camera": "Canon EOS 6D"},
        {"image_id": "sydney", "location": {"lat": _PLACES["sydney"][0], "lon": _PLACES["sydney"][1]}},
        {"image_id": "nowhere", "camera": "NIKON COOLPIX P6000"},
    ]
    pairs = list(zip(points, payloads, strict=True))
    await store.upsert("images", [VectorPoint(p.id, p.vector, payload) for p, payload in pairs])
    return {str(payload["image_id"]): p.id for p, payload in pairs}


async def test_geo_radius_keeps_the_photos_inside_the_circle(store: VectorStore) -> None:
    ids = await _placed(store)
    query = _points(1)[0].vector

    async def inside(lat: float, lon: float, radius_km: float) -> set[str]:
        near = SearchFilter(near=GeoCircle(lat, lon, radius_km))
        return {h.id for h in await store.search("images", query, limit=10, filter=near)}

    assert await inside(*_PLACES["arezzo"], 10) == {ids["arezzo"]}
    assert await inside(*_PLACES["arezzo"], 100) == {ids["arezzo"], ids["florence"]}
    assert await inside(*_PLACES["sydney"], 1) == {ids["sydney"]}
    assert await inside(0.0, 0.0, 100) == set()
    assert len(await inside(0.0, 0.0, 20_000)) == 3  # half the earth's circumference: every placed photo
    both = SearchFilter(near=GeoCircle(*_PLACES["arezzo"], 100), camera="Canon EOS 6D")
    assert {h.id for h in await store.search("images", query, limit=10, filter=both)} == {ids["florence"]}


async def test_camera_filter_matches_the_exact_name(store: VectorStore) -> None:
    ids = await _placed(store)
    query = _points(1)[0].vector

    async def shot_with(camera: str) -> set[str]:
        hits = await store.search("images", query, limit=10, filter=SearchFilter(camera=camera))
        return {h.id for h in hits}

    assert await shot_with("NIKON COOLPIX P6000") == {ids["arezzo"], ids["nowhere"]}
    assert await shot_with("Canon EOS 6D") == {ids["florence"]}
    assert await shot_with("Canon") == set()


async def test_geo_and_camera_fields_are_indexed(tmp_path: Path) -> None:
    edge = QdrantEdgeStore(tmp_path / "vectors", background_optimize=False)
    try:
        await edge.ensure_collection("images", SPEC)
        collection, _ = await edge._collection("images")
        schema = collection.read(lambda shard: shard.info().payload_schema)
        assert {"location", "camera"} <= set(schema)
    finally:
        await edge.close()
