"""PeopleRepository reads against the real PostgreSQL: listing order and pagination totals, covers and
eras, person photos, clusters with samples, faces, and the people filter (ALL / ANY / NONE)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from imgsearch.common.db.people_records import PeopleImageFilter
from imgsearch.common.errors import InvalidInput, NotFound
from tests.support.faces_db import FacesDb

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[FacesDb]:
    async with FacesDb.open(pg_url) as opened:
        yield opened


def day(n: int) -> datetime:
    return datetime(2020, 1, n, 12, tzinfo=UTC)


async def test_list_people_orders_by_face_count_then_name_with_totals(db: FacesDb) -> None:
    faces = [(await db.photo(f"p{n}"))[1][0] for n in range(6)]
    await db.people.create_person("carl", faces[:1])
    await db.people.create_person("Bea", faces[1:2])
    await db.people.create_person("Ann", faces[2:5])
    await db.people.create_person("Dan")
    hidden, _ = await db.people.create_person("Eve", faces[5:])
    await db.people.set_person_hidden(hidden.id, True)
    first = await db.people.list_people(2, 0)
    second = await db.people.list_people(2, 2)
    assert [p.name for p in first.items + second.items] == ["Ann", "Bea", "carl", "Dan"]
    assert (first.total, second.total) == (4, 4)
    assert (await db.people.list_people(10, 50)).items == []
    assert (await db.people.list_people(10, 50)).total == 4
    assert [p.name for p in (await db.people.list_people(10, 0, include_hidden=True)).items] == [
        "Ann", "Bea", "carl", "Eve", "Dan"]
    found = await db.people.list_people(10, 0, name_query=" aN ")
    assert ([p.name for p in found.items], found.total) == (["Ann", "Dan"], 2)
    assert (await db.people.list_people(10, 0, name_query="%")).total == 0  # LIKE wildcards are literal


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (501, 0), (10, -1)])
async def test_page_arguments_are_checked(db: FacesDb, limit: int, offset: int) -> None:
    ann, _ = await db.people.create_person("Ann")
    for read in (db.people.list_people(limit, offset), db.people.person_faces(ann.id, limit, offset),
                 db.people.person_photos(ann.id, limit, offset), db.people.list_clusters(limit, offset)):
        with pytest.raises(InvalidInput):
            await read


async def test_person_record_counts_cover_and_eras(db: FacesDb) -> None:
    _, (a, b) = await db.photo("two", 2, qualities=[0.4, 0.95], ages=[30.0, 8.0])
    _, (c,) = await db.photo("one", qualities=[0.6], ages=[70.0])
    ann, _ = await db.people.create_person("Ann", [a, c])
    bo, _ = await db.people.create_person("Bo", [b])
    assert (ann.face_count, ann.photo_count, ann.eras) == (2, 2, ())
    assert ann.cover_face_id == c  # no prototypes yet: the best face
    await db.faces.refresh_prototypes([ann.id, bo.id], per_era=1)
    ann = await db.people.get_person(ann.id)
    assert ann.eras == ("young_adult", "senior")  # ERAS order
    assert (await db.people.get_person(bo.id)).eras == ("child",)
    with pytest.raises(NotFound):
        await db.people.get_person(bo.id + 50)


async def test_person_faces_and_photos_are_paged(db: FacesDb) -> None:
    photos = [await db.photo(f"p{n}", taken_at=day(n) if n else None, qualities=[0.1 * (n + 1)])
              for n in range(4)]
    ann, _ = await db.people.create_person("Ann", [faces[0] for _, faces in photos])
    page = await db.people.person_photos(ann.id, 2, 0)
    rest = await db.people.person_photos(ann.id, 2, 2)
    assert page.items + rest.items == [photos[3][0], photos[2][0], photos[1][0], photos[0][0]]
    assert (page.total, rest.total) == (4, 4)  # newest first, undated last
    faces = await db.people.person_faces(ann.id, 3, 0)
    assert [f.id for f in faces.items] == [photos[n][1][0] for n in (3, 2, 1)] and faces.total == 4
    assert faces.items[0].person_name == "Ann" and faces.items[0].crop_url.endswith("/crop")


async def test_list_clusters_by_size_with_best_samples_and_totals(db: FacesDb) -> None:
    faces = [(await db.photo(f"p{n}", qualities=[0.1 + 0.1 * n]))[1][0] for n in range(7)]
    big = await db.cluster(faces[:4])
    small = await db.cluster(faces[4:6])
    await db.cluster(faces[6:])  # a single face: below the default min_size
    page = await db.people.list_clusters(1, 0, samples=2)
    assert ([c.id for c in page.items], page.total) == ([big], 2)
    assert [f.id for f in page.items[0].samples] == [faces[3], faces[2]] and page.items[0].size == 4
    page = await db.people.list_clusters(10, 1)
    assert ([(c.id, c.size) for c in page.items], page.total) == ([(small, 2)], 2)
    assert (await db.people.list_clusters(10, 0, min_size=1)).total == 3
    assert [c.id for c in (await db.people.list_clusters(10, 0, min_size=3)).items] == [big]
    assert (await db.people.list_clusters(10, 0, samples=0)).items[0].samples == []
    with pytest.raises(InvalidInput):
        await db.people.list_clusters(10, 0, samples=-1)
    record, members = await db.people.get_cluster(big, 3, 1)
    assert (record.size, record.hidden, members.total) == (4, False, 4)
    assert [f.id for f in members.items] == [faces[2], faces[1], faces[0]]
    assert all(f.cluster_id == big for f in record.samples)


async def test_get_face_and_image_faces(db: FacesDb) -> None:
    image, (a, b) = await db.photo("p", 2, taken_at=day(3))
    face = await db.people.get_face(a)
    assert (face.image_id, face.box, face.taken_at, face.person_id) == (image, (10, 10, 90, 90), day(3), None)
    assert [f.id for f in await db.people.image_faces(image)] == [a, b]
    assert await db.people.image_faces(await db.image("no faces")) == []
    for bad in ("nope", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFound):
            await db.people.get_face(bad)
    with pytest.raises(NotFound):
        await db.people.image_faces("f" * 64)


async def test_images_for_people_all_any_none(db: FacesDb) -> None:
    ann, _ = await db.people.create_person("Ann")
    bo, _ = await db.people.create_person("Bo")
    cy, _ = await db.people.create_person("Cy")
    images = {}
    for name, who in {"ab": (ann, bo), "a": (ann,), "b": (bo,), "abc": (ann, bo, cy), "c": (cy,)}.items():
        image, faces = await db.photo(name, len(who))
        images[name] = image
        for person, face in zip(who, faces, strict=True):
            await db.people.assign_face(face, person.id)

    async def query(all_of: list[int], any_of: list[int], none_of: list[int]) -> PeopleImageFilter:
        return await db.people.images_for_people(all_of, any_of, none_of)

    def ids(*names: str) -> frozenset[str]:
        return frozenset(images[n] for n in names)

    assert await query([], [], []) == PeopleImageFilter(None, frozenset())
    assert (await query([ann.id, bo.id], [], [])).include == ids("ab", "abc")
    assert (await query([], [ann.id, cy.id], [])).include == ids("ab", "a", "abc", "c")
    assert (await query([ann.id], [bo.id, cy.id], [])).include == ids("ab", "abc")
    assert await query([], [], [cy.id]) == PeopleImageFilter(None, ids("abc", "c"))
    assert await query([bo.id], [], [cy.id]) == PeopleImageFilter(ids("ab", "b", "abc"), ids("abc", "c"))
    assert (await query([ann.id, ann.id], [], [])).include == ids("ab", "a", "abc")
    await db.people.merge_people(ann.id, [cy.id])  # Cy is Ann now: both ids mean the same person
    assert (await query([cy.id], [], [])).include == ids("ab", "a", "abc", "c")
    assert (await query([ann.id, cy.id], [], [])).include == ids("ab", "a", "abc", "c")
    with pytest.raises(NotFound):
        await query([], [], [cy.id + 100])
