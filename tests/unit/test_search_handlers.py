"""Search handlers driven with fakes at the ports: ranking, filters passed down, enrichment, errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.errors import InvalidInput, ModelMismatch, NotFound, Unavailable
from imgsearch.common.ids import point_id
from imgsearch.common.vectors.port import IMAGES_COLLECTION, CollectionSpec, VectorPoint
from imgsearch.search.handlers import SearchHandlers, reply_handler
from imgsearch.search.messages import search_filters
from tests.support.people_fakes import FakePeopleStore
from tests.support.search_fakes import (
    SPEC,
    FakeImages,
    FakeTextEncoder,
    FakeVectorStore,
    image_id,
    in_process_client,
    make_record,
    unit,
)

JUNE_2020 = datetime(2020, 6, 1, tzinfo=UTC)
JAN_2021 = datetime(2021, 1, 1, tzinfo=UTC)
LIBRARY = {  # name: (vector, taken_at, folder)
    "beach": ([1.0, 0.0, 0.0, 0.0], JUNE_2020, "/photos/2020"),
    "dog": ([0.9, 0.3, 0.0, 0.0], JAN_2021, "/photos/2021"),
    "city": ([0.0, 1.0, 0.0, 0.0], None, "/photos/misc"),
    "gone": ([0.99, 0.0, 0.1, 0.0], None, "/photos/2020"),  # vector left behind, row deleted
}


def encoder(random_weights: bool = False) -> FakeTextEncoder:
    return FakeTextEncoder({"sunset": [1, 0, 0, 0], "street": [0, 1, 0, 0]}, random_weights=random_weights)


async def library_store(spec: CollectionSpec = SPEC) -> FakeVectorStore:
    store = FakeVectorStore()
    await store.ensure_collection(IMAGES_COLLECTION, spec)
    await store.upsert(IMAGES_COLLECTION, [
        VectorPoint(point_id(image_id(name)), unit(vector), {
            "image_id": image_id(name), "folders": ["/photos", folder],
            **({"taken_at": taken.timestamp()} if taken else {}),
        })
        for name, (vector, taken, folder) in LIBRARY.items()
    ])
    return store


def records() -> FakeImages:
    return FakeImages([
        make_record(name, f"{folder}/{name}.jpg", taken)
        for name, (_, taken, folder) in LIBRARY.items() if name != "gone"
    ])


async def make_handlers(executor: ThreadPoolExecutor, store: FakeVectorStore | None = None,
                        text_encoder: FakeTextEncoder | None = None) -> SearchHandlers:
    return SearchHandlers(text_encoder or encoder(), store or await library_store(), records(), executor)


async def test_text_search_ranks_enriches_and_drops_vanished_rows(executor: ThreadPoolExecutor) -> None:
    handlers = await make_handlers(executor)
    response = await handlers.text(pb.TextSearchRequest(query="  sunset  "))
    assert [h.image_id for h in response.hits] == [image_id("beach"), image_id("dog"), image_id("city")]
    assert response.hits[0].score == pytest.approx(1.0)
    assert response.hits[0].path == "/photos/2020/beach.jpg"
    assert response.hits[0].taken_at.ToDatetime(tzinfo=UTC) == JUNE_2020
    assert (response.hits[0].width, response.hits[0].height) == (640, 480)
    assert response.hits[0].thumbnail_url == f"/api/v1/images/{image_id('beach')}/thumbnail"
    assert not response.hits[2].HasField("taken_at")
    assert response.model == pb.ModelInfo(model="fake-clip", pretrained="test", dim=4, random_weights=False)


async def test_text_search_passes_filters_and_page_down(executor: ThreadPoolExecutor) -> None:
    store = await library_store()
    handlers = await make_handlers(executor, store)
    request = pb.TextSearchRequest(
        query="sunset", limit=5, offset=1, filters=search_filters(JUNE_2020, JAN_2021, "/photos/2020/"),
    )
    response = await handlers.text(request)
    _, limit, offset, search_filter = store.searches[-1]
    assert (limit, offset) == (5, 1)
    assert search_filter is not None
    assert (search_filter.taken_after, search_filter.taken_before) == (JUNE_2020, JAN_2021)
    assert search_filter.folder == "/photos/2020"
    assert response.hits == []  # beach is the only match, and offset 1 skips it

    await handlers.text(pb.TextSearchRequest(query="sunset"))
    _, limit, offset, search_filter = store.searches[-1]
    assert (limit, offset) == (20, 0)
    assert search_filter is not None and search_filter.empty


async def test_folder_filter_selects_the_folder(executor: ThreadPoolExecutor) -> None:
    handlers = await make_handlers(executor)
    request = pb.TextSearchRequest(query="street", filters=search_filters(folder="/photos/misc"))
    response = await handlers.text(request)
    assert [h.image_id for h in response.hits] == [image_id("city")]


@pytest.mark.parametrize("folder", ["//photos/misc", "//photos//misc/", "/photos/./misc"])
async def test_folder_filter_spellings_are_normalised(executor: ThreadPoolExecutor, folder: str) -> None:
    handlers = await make_handlers(executor)
    request = pb.TextSearchRequest(query="street", filters=search_filters(folder=folder))
    response = await handlers.text(request)
    assert [h.image_id for h in response.hits] == [image_id("city")]


def test_out_of_range_filter_dates_are_invalid_input() -> None:
    late = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))
    with pytest.raises(InvalidInput, match=r"taken_after .* out of range"):
        search_filters(taken_after=late)
    with pytest.raises(InvalidInput, match="taken_before"):
        search_filters(taken_before=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (pb.TextSearchRequest(query="   "), "empty"),
        (pb.TextSearchRequest(query="sunset", limit=201), "limit"),
        (pb.TextSearchRequest(query="sunset", limit=-1), "limit"),
        (pb.TextSearchRequest(query="sunset", offset=-3), "offset"),
        (pb.TextSearchRequest(query="sunset", filters=search_filters(folder="photos")), "absolute"),
        (pb.TextSearchRequest(query="sunset", filters=search_filters(JAN_2021, JUNE_2020)), "later than"),
        (pb.TextSearchRequest(query="sunset", filters=pb.SearchFilters(taken_after=Timestamp(seconds=2**62))),
         "taken_after"),
        (pb.TextSearchRequest(query="sunset", filters=pb.SearchFilters(taken_before=Timestamp(nanos=-5))),
         "taken_before"),
    ],
)
async def test_bad_requests_are_invalid_input(
    executor: ThreadPoolExecutor, request_: pb.TextSearchRequest, message: str
) -> None:
    handlers = await make_handlers(executor)
    with pytest.raises(InvalidInput, match=message):
        await handlers.text(request_)


async def test_mismatched_collection_refuses_every_search(executor: ThreadPoolExecutor) -> None:
    store = await library_store(CollectionSpec(model="ViT-B-32", pretrained="laion2b_s34b_b79k", dim=512))
    text_encoder = encoder()
    handlers = await make_handlers(executor, store, text_encoder)
    with pytest.raises(ModelMismatch, match="ViT-B-32/laion2b_s34b_b79k"):
        await handlers.text(pb.TextSearchRequest(query="sunset"))
    with pytest.raises(ModelMismatch):
        await handlers.similar(pb.SimilarSearchRequest(image_id=image_id("beach")))
    assert text_encoder.calls == []  # refused before spending time in the model
    info = await handlers.info(pb.SearchInfoRequest())
    assert any("ViT-B-32" in w for w in info.warnings)


async def test_no_collection_yet_means_no_results(executor: ThreadPoolExecutor) -> None:
    handlers = await make_handlers(executor, FakeVectorStore())
    response = await handlers.text(pb.TextSearchRequest(query="sunset"))
    assert list(response.hits) == []
    info = await handlers.info(pb.SearchInfoRequest())
    assert not info.collection_exists and info.indexed == 0


async def test_similar_excludes_the_image_itself(executor: ThreadPoolExecutor) -> None:
    store = await library_store()
    handlers = await make_handlers(executor, store)
    response = await handlers.similar(pb.SimilarSearchRequest(image_id=image_id("beach"), limit=2))
    assert [h.image_id for h in response.hits] == [image_id("dog")]  # "gone" ranks 1st but has no row
    search_filter = store.searches[-1][3]
    assert search_filter is not None and search_filter.exclude_ids == (point_id(image_id("beach")),)


async def test_similar_to_an_unembedded_image_is_not_found(executor: ThreadPoolExecutor) -> None:
    handlers = await make_handlers(executor)
    with pytest.raises(NotFound, match="no embedding"):
        await handlers.similar(pb.SimilarSearchRequest(image_id=image_id("never seen")))


async def test_info_reports_random_weights(executor: ThreadPoolExecutor) -> None:
    text_encoder = encoder(random_weights=True)
    store = await library_store(text_encoder.collection_spec())
    info = await (await make_handlers(executor, store, text_encoder)).info(pb.SearchInfoRequest())
    assert info.model.random_weights
    assert info.collection_exists and info.indexed == len(LIBRARY)
    assert any("random weights" in w for w in info.warnings)


async def test_client_round_trip_rebuilds_errors(executor: ThreadPoolExecutor) -> None:
    client = in_process_client(await make_handlers(executor))
    assert (await client.text(pb.TextSearchRequest(query="sunset"))).hits[0].image_id == image_id("beach")
    assert (await client.info()).indexed == len(LIBRARY)
    with pytest.raises(NotFound):
        await client.similar(pb.SimilarSearchRequest(image_id=image_id("nope")))
    with pytest.raises(InvalidInput, match="empty"):
        await client.text(pb.TextSearchRequest(query=""))
    with pytest.raises(Unavailable):
        await in_process_client(None).info()


async def test_unexpected_failure_becomes_a_generic_error_reply() -> None:
    async def broken(request: pb.SearchInfoRequest) -> pb.SearchInfo:
        raise RuntimeError("secret internals")

    reply = pb.SearchReply.FromString(await reply_handler(pb.SearchInfoRequest, broken)(b""))
    assert reply.error.kind == "ImgSearchError" and "secret" not in reply.error.message

    async def unreachable(request: pb.TextSearchRequest) -> pb.SearchResponse:
        raise AssertionError("an undecodable request must not reach the handler")

    garbage = pb.SearchReply.FromString(await reply_handler(pb.TextSearchRequest, unreachable)(b"\xff\xff"))
    assert garbage.error.kind == "InvalidInput"


async def people_handlers(
    executor: ThreadPoolExecutor, store: FakeVectorStore
) -> tuple[SearchHandlers, int, int]:
    """Ann is in beach and dog, Ben in dog and city (faces in an in-memory people store)."""
    people = FakePeopleStore(images={image_id(n) for n in LIBRARY})
    ann, ben = people.add_person("Ann"), people.add_person("Ben")
    for x, (name, person) in enumerate([("beach", ann), ("dog", ann), ("dog", ben), ("city", ben)]):
        people.add_face(image_id(name), x * 100, person_id=person)
    handlers = SearchHandlers(encoder(), store, records(), executor, people=people)
    return handlers, ann, ben


async def test_people_filters_narrow_the_search(executor: ThreadPoolExecutor) -> None:
    store = await library_store()
    handlers, ann, ben = await people_handlers(executor, store)

    async def names(**people: list[int]) -> list[str]:
        request = pb.TextSearchRequest(query="sunset", filters=pb.SearchFilters(**people))
        response = await handlers.text(request)
        return [next(n for n in LIBRARY if image_id(n) == h.image_id) for h in response.hits]

    assert await names(people_all=[ann]) == ["beach", "dog"]
    assert await names(people_all=[ann, ben]) == ["dog"]
    assert await names(people_any=[ann, ben]) == ["beach", "dog", "city"]
    assert await names(people_none=[ann]) == ["city"]  # "gone" has no row: dropped
    assert await names(people_any=[ben], people_none=[ann]) == ["city"]
    with pytest.raises(NotFound, match="12345"):
        await names(people_none=[12345])
    assert await names(people_all=[handlers_people(handlers).add_person("Nobody")]) == []
    search_filter = store.searches[-1][3]
    assert search_filter is not None and search_filter.include_ids == ()
    await names(people_all=[ann, ann])
    search_filter = store.searches[-1][3]
    assert search_filter is not None
    assert set(search_filter.include_ids or ()) == {point_id(image_id("beach")), point_id(image_id("dog"))}


async def test_similar_combines_people_with_the_query_image(executor: ThreadPoolExecutor) -> None:
    store = await library_store()
    handlers, ann, _ = await people_handlers(executor, store)
    request = pb.SimilarSearchRequest(image_id=image_id("beach"), filters=pb.SearchFilters(people_any=[ann]))
    response = await handlers.similar(request)
    assert [h.image_id for h in response.hits] == [image_id("dog")]
    search_filter = store.searches[-1][3]
    assert search_filter is not None and search_filter.exclude_ids[0] == point_id(image_id("beach"))


async def test_people_filters_without_a_people_store_are_unavailable(executor: ThreadPoolExecutor) -> None:
    request = pb.TextSearchRequest(query="sunset", filters=pb.SearchFilters(people_all=[1]))
    with pytest.raises(Unavailable, match="people"):
        await (await make_handlers(executor)).text(request)
    empty = await make_handlers(executor, FakeVectorStore())  # nothing embedded: no people lookup needed
    response = await empty.text(request)
    assert list(response.hits) == []


def handlers_people(handlers: SearchHandlers) -> FakePeopleStore:
    assert isinstance(handlers.people, FakePeopleStore)
    return handlers.people


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (pb.SearchFilters(people_all=range(1, 52)), "people_all names 51 people"),
        (pb.SearchFilters(people_any=[0]), "people_any: 0"),
        (pb.SearchFilters(people_none=[-7]), "people_none: -7"),
    ],
)
async def test_bad_people_filters_are_invalid_input(
    executor: ThreadPoolExecutor, filters: pb.SearchFilters, message: str
) -> None:
    store = await library_store()
    handlers, _, _ = await people_handlers(executor, store)
    with pytest.raises(InvalidInput, match=message):
        await handlers.text(pb.TextSearchRequest(query="sunset", filters=filters))
    with pytest.raises(InvalidInput, match=message):
        await handlers.similar(pb.SimilarSearchRequest(image_id=image_id("beach"), filters=filters))
