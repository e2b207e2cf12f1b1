"""PeopleRepository writes against the real PostgreSQL: every operation and the rules it keeps (a person
at most once per photo, rejections honoured, merged people resolved), concurrency included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta

import psycopg
import pytest

from imgsearch.common.db.face_records import AutoAssignment, ClusteringRun
from imgsearch.common.db.people_records import PeopleChange, PeopleStore
from imgsearch.common.errors import Conflict, InvalidInput, NotFound
from tests.support.faces_db import FacesDb

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[FacesDb]:
    async with FacesDb.open(pg_url) as opened:
        yield opened


async def test_open_pool_applies_the_faces_schema_with_its_once_per_photo_backstop(db: FacesDb) -> None:
    store: PeopleStore = db.people  # the adapter satisfies the port
    assert await db.scalar("SELECT count(*) FROM schema_migrations WHERE name = '0002_faces.sql'") == 1
    _, (a, b) = await db.photo("p", 2)
    person, _ = await store.create_person("Ann", [a])
    with pytest.raises(psycopg.errors.UniqueViolation, match="faces_person_once_per_image"):
        await db.scalar("UPDATE faces SET person_id = %s WHERE id = %s RETURNING id", person.id, b)


async def test_create_person_trims_the_name_and_assigns_faces_as_the_user(db: FacesDb) -> None:
    _, (a,) = await db.photo("p1")
    _, (b,) = await db.photo("p2")
    record, change = await db.people.create_person("  Ann Smith ", [a, b])
    assert (record.name, record.face_count, record.photo_count) == ("Ann Smith", 2, 2)
    assert change == PeopleChange("labeled", (record.id,), (a, b))
    row = await db.row(a)
    assert (row["person_id"], row["assigned_by"], row["confidence"]) == (record.id, "user", None)
    lonely, change = await db.people.create_person("Bo")
    assert (lonely.face_count, lonely.cover_face_id, change.face_ids) == (0, None, ())


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
async def test_bad_names_are_invalid_input(db: FacesDb, name: str) -> None:
    with pytest.raises(InvalidInput):
        await db.people.create_person(name)
    person, _ = await db.people.create_person("Ann")
    with pytest.raises(InvalidInput):
        await db.people.rename_person(person.id, name)


async def test_create_person_is_one_transaction(db: FacesDb) -> None:
    _, (a, b) = await db.photo("p", 2)
    with pytest.raises(InvalidInput):  # two faces of one photo cannot be one person
        await db.people.create_person("Ann", [a, b])
    with pytest.raises(NotFound):
        await db.people.create_person("Ann", [a, "00000000-0000-0000-0000-000000000000"])
    with pytest.raises(NotFound):
        await db.people.create_person("Ann", ["not-a-uuid"])
    assert await db.scalar("SELECT count(*) FROM people") == 0
    assert await db.people_of([a, b]) == [None, None]


async def test_label_cluster_by_name_keeps_one_face_per_photo_and_skips_rejected(db: FacesDb) -> None:
    _, (a1, a2) = await db.photo("two faces", 2, qualities=[0.5, 0.9])
    _, (b,) = await db.photo("b")
    _, (c,) = await db.photo("c")
    cluster = await db.cluster([a1, a2, b, c])
    other, _ = await db.people.create_person("Other")
    await db.people.reject_face(c, other.id)  # a rejection for someone else does not matter
    record, change = await db.people.label_cluster(cluster, name=" Ann ")
    assert record.name == "Ann" and record.face_count == 3
    # a1 (the photo's second face) leaves the cluster too: its payload changes, so it is listed after them
    assert change == PeopleChange("labeled", (record.id,), (*sorted([a2, b, c]), a1))
    assert await db.people_of([a1, a2, b, c]) == [None, record.id, record.id, record.id]
    assert (await db.row(a1))["cluster_id"] is None  # left unassigned, in no cluster
    assert (await db.row(a2))["assigned_by"] == "user"
    with pytest.raises(NotFound):
        await db.people.get_cluster(cluster, 10, 0)


async def test_label_cluster_with_an_existing_person(db: FacesDb) -> None:
    _, (known, stranger) = await db.photo("has ann", 2)
    _, (rejected,) = await db.photo("r")
    _, (fresh,) = await db.photo("f")
    ann, _ = await db.people.create_person("Ann", [known])
    await db.people.reject_face(rejected, ann.id)
    cluster = await db.cluster([stranger, rejected, fresh])
    record, change = await db.people.label_cluster(cluster, person_id=ann.id)
    assert change.face_ids == (fresh, *sorted([stranger, rejected])) and record.face_count == 2
    assert await db.people_of([known, stranger, rejected, fresh]) == [ann.id, None, None, ann.id]
    assert [(await db.row(f))["cluster_id"] for f in (stranger, rejected)] == [None, None]


async def test_label_cluster_arguments(db: FacesDb) -> None:
    _, (a,) = await db.photo("p")
    cluster = await db.cluster([a])
    ann, _ = await db.people.create_person("Ann")
    for kwargs in ({}, {"name": "Bo", "person_id": ann.id}):
        with pytest.raises(InvalidInput):
            await db.people.label_cluster(cluster, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await db.people.label_cluster(cluster, name="  ")
    with pytest.raises(NotFound):
        await db.people.label_cluster(cluster + 1, name="Bo")
    with pytest.raises(NotFound):
        await db.people.label_cluster(cluster, person_id=ann.id + 100)
    assert await db.scalar("SELECT count(*) FROM people") == 1  # the failed label created nobody


async def test_assign_face_wins_in_its_photo_lifts_rejection_and_leaves_the_cluster(db: FacesDb) -> None:
    _, (a, b) = await db.photo("p", 2)
    _, (c,) = await db.photo("q")
    ann, _ = await db.people.create_person("Ann", [a])
    bo, _ = await db.people.create_person("Bo", [c])
    await db.people.pin_face(c, True)
    await db.people.reject_face(b, ann.id)
    cluster = await db.cluster([b])
    change = await db.people.assign_face(b, ann.id)
    assert change == PeopleChange("assigned", (ann.id,), (b, a))
    assert await db.people_of([a, b]) == [None, ann.id]
    assert (ann.id, b) not in {(p, f) for f, p in await db.rejections()}
    assert (await db.row(b))["cluster_id"] is None
    assert await db.scalar("SELECT count(*) FROM face_clusters WHERE id = %s", cluster) == 0
    change = await db.people.assign_face(c, ann.id)  # taken from Bo: pin and prototype go
    assert change.person_ids == (ann.id, bo.id)
    row = await db.row(c)
    assert (row["person_id"], row["pinned"], row["prototype"]) == (ann.id, False, False)
    with pytest.raises(NotFound):
        await db.people.assign_face(c, 999)
    with pytest.raises(NotFound):
        await db.people.assign_face("00000000-0000-0000-0000-000000000000", ann.id)


async def test_concurrent_assignments_of_one_person_in_one_photo_leave_exactly_one(db: FacesDb) -> None:
    ann, _ = await db.people.create_person("Ann")
    photos = [await db.photo(f"p{n}", 3) for n in range(6)]
    for _, (a, b, c) in photos:
        await asyncio.gather(
            db.people.assign_face(a, ann.id), db.people.assign_face(b, ann.id),
            db.faces.auto_assign([AutoAssignment(c, ann.id, 0.9)]),
        )
    for _, faces in photos:
        assert (await db.people_of(faces)).count(ann.id) == 1
    assert (await db.people.get_person(ann.id)).face_count == 6


async def test_concurrent_automatic_batches_never_put_one_person_twice_in_a_photo(db: FacesDb) -> None:
    ann, _ = await db.people.create_person("Ann")
    photos = [await db.photo(f"p{n}", 4) for n in range(6)]
    batches = [[AutoAssignment(faces[k], ann.id, 0.5 + 0.1 * k) for _, faces in photos] for k in range(4)]
    applied = await asyncio.gather(*(db.faces.auto_assign(batch) for batch in batches))
    assert sum(len(a) for a in applied) == len(photos)
    for _, faces in photos:
        assert (await db.people_of(faces)).count(ann.id) == 1


async def test_unassign_face(db: FacesDb) -> None:
    _, (a,) = await db.photo("p")
    ann, _ = await db.people.create_person("Ann", [a])
    await db.people.pin_face(a, True)
    assert await db.people.unassign_face(a) == PeopleChange("unassigned", (ann.id,), (a,))
    row = await db.row(a)
    assert [row[k] for k in ("person_id", "assigned_by", "confidence", "pinned", "prototype")] == [
        None, None, None, False, False]
    assert await db.people.unassign_face(a) == PeopleChange("unassigned", (), (a,))


async def test_reject_face_unassigns_and_is_honoured_later(db: FacesDb) -> None:
    _, (a,) = await db.photo("p")
    _, (b,) = await db.photo("q")
    ann, _ = await db.people.create_person("Ann", [a])
    assert await db.people.reject_face(a, ann.id) == PeopleChange("rejected", (ann.id,), (a,))
    assert await db.people.reject_face(b, ann.id) == PeopleChange("rejected", (ann.id,), (b,))
    await db.people.reject_face(b, ann.id)  # twice is fine
    assert await db.people_of([a, b]) == [None, None]
    assert await db.rejections() == {(a, ann.id), (b, ann.id)}
    assert await db.faces.auto_assign([AutoAssignment(a, ann.id, 0.99)]) == []
    await db.people.assign_face(a, ann.id)  # the user's explicit word lifts it
    assert await db.rejections() == {(b, ann.id)}


async def test_remove_from_cluster_and_hide_cluster(db: FacesDb) -> None:
    _, (a, b) = await db.photo("p", 2)
    cluster = await db.cluster([a, b])
    assert await db.people.remove_from_cluster(a) == PeopleChange("unclustered", (), (a,))
    record, page = await db.people.get_cluster(cluster, 10, 0)
    assert (record.size, [f.id for f in page.items]) == (1, [b])
    await db.people.set_cluster_hidden(cluster, True)
    assert (await db.people.list_clusters(10, 0, min_size=1)).total == 0
    assert (await db.people.list_clusters(10, 0, min_size=1, include_hidden=True)).total == 1
    await db.people.remove_from_cluster(b)
    assert await db.people.remove_from_cluster(b) == PeopleChange("unclustered", (), (b,))  # nothing to do
    assert await db.scalar("SELECT count(*) FROM face_clusters") == 0
    with pytest.raises(NotFound):
        await db.people.set_cluster_hidden(cluster, False)
    with pytest.raises(NotFound):
        await db.people.remove_from_cluster("00000000-0000-0000-0000-000000000000")


async def excluded(db: FacesDb, face_ids: list[str]) -> list[bool]:
    return [(await db.row(f))["cluster_excluded"] for f in face_ids]


async def test_a_face_removed_from_its_cluster_stays_out_of_clustering(db: FacesDb) -> None:
    _, (a, b, c) = await db.photo("p", 3)
    cluster = await db.cluster([a, b, c])
    assert await excluded(db, [a, b, c]) == [False, False, False]
    await db.people.remove_from_cluster(a)
    assert await excluded(db, [a, b, c]) == [True, False, False]
    assert [f.id for f in await db.faces.clustering_input()] == sorted([b, c])
    assert a in [f.id for f in await db.faces.unassigned_faces()]  # still matchable by propagation
    # a run that asks for it anyway (say, one that read its input before the removal) is not obeyed
    run = await db.faces.start_run(ClusteringRun(full=True, reason="test", params={}))
    await db.scalar("UPDATE faces SET updated_at = now() - interval '1 hour' WHERE id = %s RETURNING id", a)
    assert await db.faces.save_clusters(run, {a: cluster, b: cluster, c: cluster}, 0, 0) == {}
    assert (await db.row(a))["cluster_id"] is None
    assert await db.people.remove_from_cluster(a) == PeopleChange("unclustered", (), (a,))  # again: stays
    assert await excluded(db, [a]) == [True]


async def test_a_person_or_an_unassignment_clears_the_exclusion(db: FacesDb) -> None:
    ann, _ = await db.people.create_person("Ann")
    bo, _ = await db.people.create_person("Bo")
    _, (assigned, auto, labeled) = await db.photo("p", 3)
    faces = [assigned, auto, labeled]
    await db.cluster(faces)
    for face in faces:
        await db.people.remove_from_cluster(face)
    assert await excluded(db, faces) == [True] * 3
    await db.people.assign_face(assigned, ann.id)
    wanted = [AutoAssignment(auto, bo.id, 0.9)]
    assert await db.faces.auto_assign(wanted) == wanted
    assert await excluded(db, [assigned, auto]) == [False, False]
    await db.people.remove_from_cluster(assigned)  # a face with a person is not excluded
    assert await excluded(db, [assigned]) == [False]
    # unassigned (or rejected, which unassigns): a fresh start, clustered again
    for face in (assigned, auto):
        await db.scalar("UPDATE faces SET cluster_excluded = true WHERE id = %s RETURNING id", face)
    await db.people.unassign_face(assigned)
    await db.people.reject_face(auto, bo.id)
    assert await excluded(db, [assigned, auto]) == [False, False]
    assert {f.id for f in await db.faces.clustering_input()} == {assigned, auto}
    # label_cluster and merge_people clear it too (defensively: their faces cannot normally have it set)
    await db.scalar("UPDATE faces SET cluster_excluded = false WHERE id = %s RETURNING id", labeled)
    cluster = await db.cluster([labeled])
    await db.scalar("UPDATE faces SET cluster_excluded = true WHERE id = %s RETURNING id", labeled)
    await db.people.label_cluster(cluster, person_id=bo.id)
    assert await db.people_of([labeled]) == [bo.id] and await excluded(db, [labeled]) == [False]
    await db.scalar("UPDATE faces SET cluster_excluded = true WHERE id = %s RETURNING id", labeled)
    await db.people.merge_people(ann.id, [bo.id])
    assert await db.people_of([labeled]) == [ann.id] and await excluded(db, [labeled]) == [False]


async def test_merge_moves_faces_and_rejections_and_keeps_one_face_per_photo(db: FacesDb) -> None:
    _, (t_auto, s_user) = await db.photo("both, user wins", 2)
    _, (t_low, s_high) = await db.photo("both auto, confidence wins", 2)
    _, (s_only,) = await db.photo("source only")
    _, (odd,) = await db.photo("rejected for target")
    _, (loose,) = await db.photo("loose")
    target, _ = await db.people.create_person("Target")
    source, _ = await db.people.create_person("Source", [s_user, s_only, odd])
    await db.faces.auto_assign([AutoAssignment(t_auto, target.id, 0.9), AutoAssignment(t_low, target.id, 0.6),
                                AutoAssignment(s_high, source.id, 0.8)])
    await db.people.reject_face(odd, target.id)
    await db.people.assign_face(odd, source.id)
    await db.people.reject_face(loose, source.id)
    change = await db.people.merge_people(target.id, [source.id])
    assert change.change == "merged" and change.person_ids == (target.id, source.id)
    assert set(change.face_ids) == {s_user, s_high, s_only, t_auto, t_low, odd}
    faces = [t_auto, s_user, t_low, s_high, s_only, odd]
    assert await db.people_of(faces) == [None, target.id, None, target.id, target.id, None]
    assert (loose, target.id) in await db.rejections()
    assert (await db.people.get_person(source.id)).id == target.id
    listed = (await db.people.list_people(10, 0, include_hidden=True)).items
    assert [p.id for p in listed] == [target.id]
    assert listed[0].face_count == 3


async def test_merge_chains_resolve_everywhere(db: FacesDb) -> None:
    a, _ = await db.people.create_person("A")
    b, _ = await db.people.create_person("B")
    c, _ = await db.people.create_person("C")
    await db.people.merge_people(b.id, [a.id])
    await db.people.merge_people(c.id, [b.id])
    assert (await db.people.get_person(a.id)).name == "C"
    _, (f,) = await db.photo("p")
    assert (await db.people.assign_face(f, a.id)).person_ids == (c.id,)
    assert await db.people.rename_person(a.id, "Cee") == PeopleChange("renamed", (c.id,))
    assert (await db.people.get_person(c.id)).name == "Cee"
    assert (await db.people.person_faces(a.id, 10, 0)).total == 1
    assert (await db.people.merge_people(c.id, [a.id])).person_ids == (c.id, a.id)  # a retry: no-op
    d, _ = await db.people.create_person("D")
    assert (await db.people.merge_people(a.id, [d.id])).person_ids == (c.id, d.id)
    assert (await db.people.get_person(d.id)).id == c.id


async def test_merge_arguments(db: FacesDb) -> None:
    a, _ = await db.people.create_person("A")
    with pytest.raises(InvalidInput):
        await db.people.merge_people(a.id, [])
    with pytest.raises(InvalidInput):
        await db.people.merge_people(a.id, [a.id])
    with pytest.raises(NotFound):
        await db.people.merge_people(a.id, [a.id + 10])


async def test_hidden_person_is_unlisted_but_still_recognised(db: FacesDb) -> None:
    _, (f,) = await db.photo("p")
    ann, _ = await db.people.create_person("Ann", [f])
    assert await db.people.set_person_hidden(ann.id, True) == PeopleChange("hidden", (ann.id,))
    assert (await db.people.list_people(10, 0)).total == 0
    listed = await db.people.list_people(10, 0, include_hidden=True)
    assert [(p.id, p.hidden) for p in listed.items] == [(ann.id, True)]
    await db.people.pin_face(f, True)
    assert [p.face_id for p in await db.faces.prototypes()] == [f]
    assert (await db.people.image_faces((await db.row(f))["image_id"]))[0].person_name == "Ann"


async def test_birth_date(db: FacesDb) -> None:
    ann, _ = await db.people.create_person("Ann")
    assert await db.people.set_birth_date(ann.id, date(1990, 5, 1)) == PeopleChange("birth_date", (ann.id,))
    assert (await db.people.get_person(ann.id)).birth_date == date(1990, 5, 1)
    await db.people.set_birth_date(ann.id, None)
    assert (await db.people.get_person(ann.id)).birth_date is None
    with pytest.raises(InvalidInput):
        await db.people.set_birth_date(ann.id, date.today() + timedelta(days=2))
    with pytest.raises(NotFound):
        await db.people.set_person_hidden(ann.id + 1, True)


async def test_pin_face(db: FacesDb) -> None:
    _, (a,) = await db.photo("p", qualities=[0.3])
    _, (b,) = await db.photo("q", qualities=[0.9])
    with pytest.raises(Conflict):
        await db.people.pin_face(a, True)
    assert await db.people.pin_face(a, False) == PeopleChange("pinned", (), (a,))
    ann, _ = await db.people.create_person("Ann", [a, b])
    assert (await db.people.get_person(ann.id)).cover_face_id == b  # best quality
    assert await db.people.pin_face(a, True) == PeopleChange("pinned", (ann.id,), (a,))
    row = await db.row(a)
    assert (row["pinned"], row["prototype"]) == (True, True)
    assert (await db.people.get_person(ann.id)).cover_face_id == a  # pinned first
    await db.people.pin_face(a, False)
    assert (await db.row(a))["pinned"] is False
