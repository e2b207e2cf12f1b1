"""FaceRepository against the real PostgreSQL: detection writes (idempotent, keeping assignments), matching
reads, automatic assignment under the rules, prototypes and eras, clustering runs, re-indexing."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import numpy as np
import pytest

from imgsearch.common.db.face_records import AutoAssignment, BackendRecord, ClusteringRun, FaceStore
from imgsearch.common.errors import InvalidInput, NotFound
from imgsearch.faces.calibration import DLIB
from imgsearch.faces.clustering.service import ClusteringService
from tests.support.faces_db import DIM, FacesDb, embedding, new_face

pytestmark = pytest.mark.integration

INSIGHT = BackendRecord("insightface", "buffalo_l", 512, "found in /models")


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[FacesDb]:
    async with FacesDb.open(pg_url) as opened:
        yield opened


async def test_backend_is_recorded_once_and_replaced(db: FacesDb) -> None:
    store: FaceStore = db.faces  # the adapter satisfies the port
    assert await store.recorded_backend() is None
    await store.record_backend(BackendRecord("dlib", "resnet_v1", 128))
    await store.record_backend(INSIGHT)
    assert await store.recorded_backend() == INSIGHT
    assert await db.scalar("SELECT count(*) FROM face_backend") == 1


async def test_replace_image_faces_marks_the_image_and_copies_its_date(db: FacesDb) -> None:
    taken = datetime(2019, 6, 1, 10, tzinfo=UTC)
    image = await db.image("p", taken)
    faces = [new_face(image, 0, quality=0.7, age=31.0), new_face(image, 1)]
    assert await db.faces.replace_image_faces(image, faces) == []
    status = await db.scalar("SELECT (faces_status, faces_count, faces_error, faces_at IS NOT NULL)::text"
                             " FROM images WHERE id = %s", image)
    assert status == "(done,2,,t)"
    row = await db.row(faces[0].id)
    assert (row["taken_at"], row["age"], row["embedding"], row["x2"]) == (taken, 31.0, faces[0].embedding, 90)
    assert row["landmarks"] == [float(k) for k in range(10)]
    with pytest.raises(NotFound):
        await db.faces.replace_image_faces("0" * 64, faces)
    with pytest.raises(InvalidInput):
        await db.faces.replace_image_faces(image, [faces[0], faces[0]])


async def test_replace_image_faces_is_idempotent_and_keeps_assignments(db: FacesDb) -> None:
    image, (a, b, c) = await db.photo("p", 3)
    ann, _ = await db.people.create_person("Ann", [a])
    await db.people.pin_face(a, True)
    cluster = await db.cluster([b, c])
    before = {f: (await db.row(f))["updated_at"] for f in (a, b, c)}
    again = [new_face(image, slot, quality=0.5) for slot in range(3)]
    assert await db.faces.replace_image_faces(image, again) == []
    rows = [await db.row(f) for f in (a, b, c)]
    assert [(r["person_id"], r["cluster_id"], r["pinned"], r["quality"]) for r in rows] == [
        (ann.id, None, True, 0.5), (None, cluster, False, 0.5), (None, cluster, False, 0.5)]
    assert [r["updated_at"] for r in rows] == list(before.values())  # same embeddings: nothing to recluster
    changed = dataclasses.replace(again[1], embedding=embedding(99))
    assert await db.faces.replace_image_faces(image, [again[0], changed]) == [c]
    assert (await db.row(b))["updated_at"] > before[b]
    assert await db.scalar("SELECT size FROM face_clusters WHERE id = %s", cluster) == 1
    assert await db.faces.replace_image_faces(image, []) == sorted([a, b])
    assert await db.scalar("SELECT count(*) FROM face_clusters") == 0
    assert await db.scalar("SELECT faces_count FROM images WHERE id = %s", image) == 0
    assert (await db.people.get_person(ann.id)).face_count == 0


async def test_mark_faces_failed(db: FacesDb) -> None:
    image = await db.image("p")
    await db.faces.mark_faces_failed(image, "x" * 3000)
    status, error = await db.scalar("SELECT (faces_status, faces_error) FROM images WHERE id = %s", image)
    assert (status, len(error)) == ("failed", 2000)
    await db.faces.replace_image_faces(image, [])
    assert await db.scalar("SELECT faces_error IS NULL FROM images WHERE id = %s", image)
    with pytest.raises(NotFound):
        await db.faces.mark_faces_failed("0" * 64, "gone")


async def test_faces_unassigned_pages_and_people_in_images(db: FacesDb) -> None:
    image, faces = await db.photo("p", 5)
    other = await db.image("empty")
    ann, _ = await db.people.create_person("Ann", [faces[0]])
    await db.people.reject_face(faces[1], ann.id)
    stored = await db.faces.faces([faces[1], "junk", faces[0], "00000000-0000-0000-0000-000000000000"])
    assert [(s.id, s.person_id, s.assigned_by, s.rejected) for s in stored] == [
        (faces[1], None, None, frozenset({ann.id})), (faces[0], ann.id, "user", frozenset())]
    assert stored[0].embedding == embedding(1) and stored[0].image_id == image
    unassigned = sorted(faces[1:])
    first = await db.faces.unassigned_faces(limit=3)
    rest = await db.faces.unassigned_faces(after_id=first[-1].id, limit=3)
    assert [f.id for f in first + rest] == unassigned
    assert [f.id for f in await db.faces.clustering_input()] == unassigned
    assert await db.faces.people_in_images([image, other]) == {image: {ann.id}, other: set()}


async def test_auto_assign_applies_only_what_is_still_valid(db: FacesDb) -> None:
    _, (ok, rejected) = await db.photo("p1", 2)
    _, (taken, free) = await db.photo("has ann", 2)
    _, (low, high) = await db.photo("two candidates", 2)
    _, (gone,) = await db.photo("merged away")
    _, (twice,) = await db.photo("two people for one face")
    ann, _ = await db.people.create_person("Ann", [taken])
    bo, _ = await db.people.create_person("Bo")
    old, _ = await db.people.create_person("Old")
    await db.people.merge_people(bo.id, [old.id])
    await db.people.reject_face(rejected, bo.id)
    cluster = await db.cluster([ok, low])
    wanted = [AutoAssignment(ok, bo.id, 0.8), AutoAssignment(rejected, bo.id, 0.9),
              AutoAssignment(free, ann.id, 0.9), AutoAssignment(taken, bo.id, 0.9),
              AutoAssignment(low, bo.id, 0.6), AutoAssignment(high, bo.id, 0.7),
              AutoAssignment(gone, old.id, 0.9), AutoAssignment(twice, ann.id, 0.5),
              AutoAssignment(twice, bo.id, 0.75), AutoAssignment("junk", bo.id, 0.9)]
    applied = await db.faces.auto_assign(wanted)
    assert applied == [wanted[0], wanted[5], wanted[8]]
    row = await db.row(ok)
    assert (row["person_id"], row["assigned_by"], row["cluster_id"]) == (bo.id, "auto", None)
    assert row["confidence"] == pytest.approx(0.8)
    assert await db.people_of([rejected, free, taken, low, gone]) == [None, None, ann.id, None, None]
    assert await db.scalar("SELECT size FROM face_clusters WHERE id = %s", cluster) == 1
    assert await db.faces.auto_assign([]) == []


async def test_refresh_prototypes_eras_from_age_and_from_birth_date(db: FacesDb) -> None:
    born = date(2000, 1, 1)
    photos = [await db.photo(f"p{n}", taken_at=datetime(year, 6, 1, tzinfo=UTC), qualities=[q], ages=[age])
              for n, (year, q, age) in enumerate([
                  (2001, 0.9, None),  # 1.4 years old by the birth date: infant
                  (2005, 0.5, None),  # child
                  (2005, 0.8, None),  # child, better
                  (2005, 0.7, 40.0),  # the estimated age wins: adult
                  (1990, 0.6, None),  # before birth: no era
              ])]
    _, (undated,) = await db.photo("undated", qualities=[0.3])
    faces = [f[0] for _, f in photos] + [undated]
    ann, _ = await db.people.create_person("Ann", faces)
    await db.people.set_birth_date(ann.id, born)
    await db.faces.refresh_prototypes([ann.id], per_era=1)
    rows = [await db.row(f) for f in faces]
    assert [r["era"] for r in rows] == ["infant", "child", "child", "adult", None, None]
    assert [r["prototype"] for r in rows] == [True, False, True, True, True, False]
    await db.people.pin_face(faces[5], True)
    await db.people.set_birth_date(ann.id, None)  # eras from dates go; the estimated age stays
    await db.faces.refresh_prototypes([ann.id], per_era=2)
    rows = [await db.row(f) for f in faces]
    assert [r["era"] for r in rows] == [None, None, None, "adult", None, None]
    assert [r["prototype"] for r in rows] == [True, False, True, True, False, True]
    assert (await db.people.get_person(ann.id)).eras == ("adult",)
    protos = {p.face_id: p for p in await db.faces.prototypes()}
    assert set(protos) == {faces[0], faces[2], faces[3], faces[5]} and protos[faces[5]].pinned


async def test_prototypes_prefer_user_faces_within_an_era_and_follow_merges(db: FacesDb) -> None:
    async def face(name: str, age: float, quality: float) -> str:
        return (await db.photo(name, ages=[age], qualities=[quality]))[1][0]

    user = await face("user, young adult", 30.0, 0.2)
    auto_young = [await face("auto young 1", 31.0, 0.9), await face("auto young 2", 32.0, 0.95)]
    auto_old = [await face("auto old 1", 70.0, 0.4), await face("auto old 2", 71.0, 0.6)]
    source, _ = await db.people.create_person("Source", [user])
    target, _ = await db.people.create_person("Target")
    await db.faces.auto_assign([AutoAssignment(f, source.id, 0.9) for f in auto_young + auto_old])
    await db.people.merge_people(target.id, [source.id])
    await db.faces.refresh_prototypes([source.id, 12345], per_era=1)  # resolved; unknown ignored
    protos = {p.face_id: p for p in await db.faces.prototypes()}
    # young_adult: the one user face beats better automatic ones; senior has no user face: best auto
    assert set(protos) == {user, auto_old[1]}
    assert {p.person_id for p in protos.values()} == {target.id}
    assert protos[user].era == "young_adult" and not protos[user].pinned
    assert [(await db.row(f))["prototype"] for f in auto_young] == [False, False]
    with pytest.raises(InvalidInput):
        await db.faces.refresh_prototypes([target.id], per_era=-1)


async def test_clustering_runs_save_clusters_and_see_changes(db: FacesDb) -> None:
    _, faces = await db.photo("p", 6)
    assert await db.faces.last_run() is None
    assert await db.faces.unassigned_changed_since(None) == 6
    first, second = await db.faces.new_cluster_ids(2)
    assert second > first and await db.faces.new_cluster_ids(0) == []
    run = await db.faces.start_run(ClusteringRun(full=True, reason="initial", params={"min_size": 2}))
    assert await db.faces.last_run() is None  # not finished yet
    await db.people.create_person("Ann", [faces[5]])  # assigned while the run was working
    membership: dict[str, int | None] = {faces[0]: first, faces[1]: first, faces[2]: second,
                                         faces[3]: second, faces[4]: None, faces[5]: second}
    applied = await db.faces.save_clusters(run, membership, new_clusters=2, noise=1)
    # what it changed: not faces[4] (noise, as it was), not faces[5] (assigned meanwhile)
    assert applied == {faces[0]: first, faces[1]: first, faces[2]: second, faces[3]: second}
    assert [(await db.row(f))["cluster_id"] for f in faces] == [first, first, second, second, None, None]
    assert await db.scalar("SELECT array_agg(size ORDER BY id) FROM face_clusters") == [2, 2]
    run_row = await db.scalar("SELECT (faces, clusters, noise, new_clusters, finished_at IS NOT NULL)::text"
                              " FROM clustering_runs WHERE id = %s", run)
    assert run_row == "(6,2,1,2,t)"
    last = await db.faces.last_run()
    assert last is not None and last[0] == run
    assert await db.faces.unassigned_changed_since(run) == 0  # the run's own output is no change
    await db.people.unassign_face(faces[5])
    await db.people.remove_from_cluster(faces[0])
    assert await db.faces.unassigned_changed_since(run) == 2
    again = await db.faces.start_run(ClusteringRun(full=False, reason="changes", params={}))
    applied = await db.faces.save_clusters(again, {faces[0]: None, faces[1]: None}, new_clusters=0, noise=2)
    assert applied == {faces[1]: None}  # faces[0] is out of its cluster already
    assert await db.scalar("SELECT array_agg(id) FROM face_clusters") == [second]  # left empty: deleted
    with pytest.raises(NotFound):
        await db.faces.unassigned_changed_since(again + 10)
    with pytest.raises(NotFound):
        await db.faces.save_clusters(again + 10, {}, 0, 0)


async def test_reset_faces_keeps_people_and_records_the_new_backend(db: FacesDb) -> None:
    image, faces = await db.photo("p", 3)
    ann, _ = await db.people.create_person("Ann", faces[:1])
    await db.people.reject_face(faces[1], ann.id)
    await db.cluster(faces[1:])
    await db.faces.record_backend(BackendRecord("dlib", "resnet_v1", 128))
    assert await db.faces.reset_faces(INSIGHT) == 3
    assert await db.faces.recorded_backend() == INSIGHT
    for table in ("faces", "face_clusters", "face_rejections"):
        assert await db.scalar(f"SELECT count(*) FROM {table}") == 0
    assert await db.scalar("SELECT faces_status FROM images WHERE id = %s", image) == "pending"
    assert (await db.people.get_person(ann.id)).name == "Ann"


async def test_a_clustering_run_never_undoes_what_a_user_did_meanwhile(db: FacesDb) -> None:
    _, faces = await db.photo("q", 4)
    first, second = await db.faces.new_cluster_ids(2)
    run = await db.faces.start_run(ClusteringRun(full=True, reason="initial", params={}))
    await db.faces.save_clusters(run, {f: first for f in faces}, new_clusters=1, noise=0)
    again = await db.faces.start_run(ClusteringRun(full=True, reason="again", params={}))
    await db.people.remove_from_cluster(faces[0])  # while the second run is working
    applied = await db.faces.save_clusters(again, {f: second for f in faces}, new_clusters=1, noise=0)
    assert applied == {f: second for f in faces[1:]}  # what the faces collection is told
    assert (await db.row(faces[0]))["cluster_id"] is None  # the user's removal stands
    assert [(await db.row(f))["cluster_id"] for f in faces[1:]] == [second] * 3


async def test_taking_a_face_from_a_person_keeps_it_from_them(db: FacesDb) -> None:
    _, faces = await db.photo("r", 1)
    person, _ = await db.people.create_person("Bo", [faces[0]])
    await db.people.unassign_face(faces[0])
    (stored,) = await db.faces.faces([faces[0]])
    assert stored.person_id is None and person.id in stored.rejected


def near(base: np.ndarray, seed: int) -> bytes:
    """A unit vector close to ``base`` (the same person)."""
    rng = np.random.default_rng(seed)
    v = base + rng.normal(size=DIM) * 0.01
    return (v / np.linalg.norm(v)).astype("<f4").tobytes()


async def test_no_clustering_run_puts_a_removed_face_back(db: FacesDb) -> None:
    base = np.frombuffer(embedding(1), dtype="<f4").astype(np.float64)
    faces = []
    for k in range(10):
        image = await db.image(f"same person {k}")
        face = dataclasses.replace(new_face(image, 0), embedding=near(base, k))
        await db.faces.replace_image_faces(image, [face])
        faces.append(face.id)
    cluster = await db.cluster(faces)
    service = ClusteringService(db.faces, DIM, DLIB)
    assert await service.run(reason="nothing changed") is None
    await db.people.remove_from_cluster(faces[0])
    result = await service.run(reason="a face left its cluster")
    # incremental: without the exclusion, the loose face (distance ~0 to the others) is placed right back
    assert result is not None and not result.full and result.faces == 9
    assert result.moved == {}
    assert (await db.row(faces[0]))["cluster_id"] is None
    assert [(await db.row(f))["cluster_id"] for f in faces[1:]] == [cluster] * 9
    result = await service.run(full=True, reason="full")
    assert result is not None and result.faces == 9 and faces[0] not in result.moved
    assert (await db.row(faces[0]))["cluster_id"] is None
