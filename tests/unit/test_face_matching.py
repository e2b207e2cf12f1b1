"""Phase-1 matching, cluster matching and the one-person-per-photo resolution, on synthetic unit vectors."""

from __future__ import annotations

import numpy as np
import pytest

from imgsearch.common.db.face_records import AutoAssignment, Prototype, StoredFace
from imgsearch.faces.calibration import DLIB, calibration_for
from imgsearch.faces.embeddings import Matrix, pack, stack
from imgsearch.faces.matching import (
    Candidate,
    PersonIndex,
    match_clusters,
    match_faces,
    representatives,
    resolve,
)

DIM = 128


def unit(rng: np.random.Generator, n: int) -> Matrix:
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def around(rng: np.random.Generator, centre: Matrix, n: int, spread: float) -> Matrix:
    """Unit vectors at roughly ``spread`` Euclidean distance from centre."""
    noise = rng.normal(size=(n, DIM)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    v = centre + noise * spread
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def people(rng: np.random.Generator, count: int, per_person: int = 6) -> tuple[Matrix, list[Prototype]]:
    centres = unit(rng, count)
    protos = []
    for person, centre in enumerate(centres, start=1):
        for k, v in enumerate(around(rng, centre[None, :], per_person, 0.2)):
            protos.append(
                Prototype(person, f"p{person}-{k}", f"img-p{person}-{k}", pack(v), None, 0.9, False)
            )
    return centres, protos


def face(
    fid: str, image: str, vector: Matrix, rejected: frozenset[int] = frozenset(), cluster: int | None = None
) -> StoredFace:
    return StoredFace(fid, image, pack(vector), 0.8, None, None, cluster, rejected, None)


def test_index_groups_prototypes_by_person() -> None:
    rng = np.random.default_rng(1)
    _, protos = people(rng, 3, per_person=4)
    index = PersonIndex.build(list(reversed(protos)), DIM)
    assert index.people == (1, 2, 3)
    assert index.counts.tolist() == [4, 4, 4]


def test_a_face_near_one_person_is_matched_and_a_stranger_is_not() -> None:
    rng = np.random.default_rng(2)
    centres, protos = people(rng, 20)
    index = PersonIndex.build(protos, DIM)
    own = around(rng, centres[4][None, :], 1, 0.15)
    stranger = unit(rng, 1)
    faces = [face("a", "img1", own[0]), face("b", "img2", stranger[0])]
    found = match_faces(index, faces, stack([f.embedding for f in faces], DIM), DLIB)
    assert [(c.face_id, c.person_id) for c in found] == [("a", 5)]
    assert 0.5 <= found[0].confidence <= 1.0


def test_a_rejected_person_is_never_matched() -> None:
    rng = np.random.default_rng(3)
    centres, protos = people(rng, 20)
    index = PersonIndex.build(protos, DIM)
    vector = around(rng, centres[0][None, :], 1, 0.15)[0]
    faces = [face("a", "img1", vector, rejected=frozenset({1}))]
    assert match_faces(index, faces, stack([f.embedding for f in faces], DIM), DLIB) == []


def test_a_face_between_two_look_alikes_is_left_alone() -> None:
    rng = np.random.default_rng(4)
    centres, protos = people(rng, 20)
    twin = around(rng, centres[0][None, :], 1, 0.05)[0]
    for k, v in enumerate(around(rng, twin[None, :], 6, 0.2)):  # person 99 looks like person 1
        protos.append(Prototype(99, f"t{k}", f"it{k}", pack(v), None, 0.9, False))
    index = PersonIndex.build(protos, DIM)
    vector = around(rng, centres[0][None, :], 1, 0.12)[0]
    faces = [face("a", "img1", vector)]
    assert match_faces(index, faces, stack([f.embedding for f in faces], DIM), DLIB) == []


def test_only_restricts_matches_to_changed_people() -> None:
    rng = np.random.default_rng(5)
    centres, protos = people(rng, 20)
    index = PersonIndex.build(protos, DIM)
    vector = around(rng, centres[2][None, :], 1, 0.15)[0]
    faces = [face("a", "img1", vector)]
    x = stack([f.embedding for f in faces], DIM)
    assert match_faces(index, faces, x, DLIB, only=frozenset({7})) == []
    assert [c.person_id for c in match_faces(index, faces, x, DLIB, only=frozenset({3}))] == [3]


def test_with_few_people_a_clear_margin_is_required() -> None:
    rng = np.random.default_rng(6)
    centres, protos = people(rng, 2)
    index = PersonIndex.build(protos, DIM)
    near = around(rng, centres[1][None, :], 1, 0.1)[0]
    far = around(rng, centres[1][None, :], 1, 0.6)[0]
    faces = [face("a", "img1", near), face("b", "img2", far)]
    found = match_faces(index, faces, stack([f.embedding for f in faces], DIM), DLIB)
    assert [(c.face_id, c.person_id) for c in found] == [("a", 2)]


def test_a_cluster_close_to_a_person_is_matched_whole_except_rejected_members() -> None:
    rng = np.random.default_rng(7)
    centres, protos = people(rng, 20)
    index = PersonIndex.build(protos, DIM)
    members = around(rng, centres[3][None, :], 4, 0.22)
    strangers = around(rng, unit(rng, 1), 3, 0.15)
    faces = [
        face(f"m{k}", f"im{k}", v, cluster=10, rejected=frozenset({4}) if k == 0 else frozenset())
        for k, v in enumerate(members)
    ]
    faces += [face(f"s{k}", f"is{k}", v, cluster=11) for k, v in enumerate(strangers)]
    x = stack([f.embedding for f in faces], DIM)
    found = match_clusters(index, {10: [0, 1, 2, 3], 11: [4, 5, 6]}, faces, x, DLIB)
    assert sorted(c.face_id for c in found) == ["m1", "m2", "m3"]
    assert {c.person_id for c in found} == {4}


def test_resolve_keeps_one_person_per_photo_and_the_best_match() -> None:
    candidates = [
        Candidate("f1", "img", 7, 0.30, 0.8),
        Candidate("f2", "img", 7, 0.20, 0.9),  # better match for person 7 in the same photo
        Candidate("f3", "img2", 7, 0.25, 0.9),
        Candidate("f4", "img3", 8, 0.25, 0.9),  # person 8 is already in img3
    ]
    chosen = resolve(candidates, {"img3": {8}})
    assert [(a.face_id, a.person_id) for a in chosen] == [("f2", 7), ("f3", 7)]


def test_confidence_falls_from_one_to_half_at_the_threshold() -> None:
    assert DLIB.confidence(0.1, DLIB.face_assign) == 1.0
    assert DLIB.confidence(DLIB.face_assign, DLIB.face_assign) == pytest.approx(0.5)
    assert calibration_for("dlib", 0.3).face_assign == 0.3
    assert calibration_for("insightface").face_assign > 0.9


def test_an_unnamed_cluster_nearer_than_the_person_blocks_the_match() -> None:
    """With few people named, a margin to the next person proves nothing: the unnamed clusters compete."""
    rng = np.random.default_rng(8)
    centres, protos = people(rng, 2)
    look_alike = around(rng, centres[0][None, :], 6, 0.2)  # an unnamed cluster around person 1's face
    vector = around(rng, centres[0][None, :], 1, 0.12)[0]
    faces = [face("a", "img1", vector)]
    x = stack([f.embedding for f in faces], DIM)
    alone = PersonIndex.build(protos, DIM)
    with_cluster = PersonIndex.build(protos, DIM, {77: look_alike})
    assert [c.person_id for c in match_faces(alone, faces, x, DLIB)] == [1]
    assert match_faces(with_cluster, faces, x, DLIB) == []


def test_a_face_is_not_blocked_by_its_own_cluster() -> None:
    rng = np.random.default_rng(9)
    centres, protos = people(rng, 2)
    own = around(rng, centres[1][None, :], 4, 0.2)
    vector = around(rng, centres[1][None, :], 1, 0.1)[0]
    faces = [face("a", "img1", vector, cluster=5)]
    index = PersonIndex.build(protos, DIM, {5: own})
    found = match_faces(index, faces, stack([f.embedding for f in faces], DIM), DLIB)
    assert [c.person_id for c in found] == [2]


def test_representatives_are_the_best_faces_of_unnamed_clusters() -> None:
    rng = np.random.default_rng(10)
    vectors = unit(rng, 4)
    faces = [
        StoredFace("a", "i", pack(vectors[0]), 0.2, None, None, 3, frozenset(), None),
        StoredFace("b", "i", pack(vectors[1]), 0.9, None, None, 3, frozenset(), None),
        StoredFace("c", "i", pack(vectors[2]), 0.5, None, None, None, frozenset(), None),
        StoredFace("d", "i", pack(vectors[3]), 0.7, 4, "user", 6, frozenset(), None),
    ]
    reps = representatives(faces, vectors, per_cluster=1)
    assert list(reps) == [3] and np.allclose(reps[3][0], vectors[1])


def test_big_assignment_lists_are_published_in_chunks() -> None:
    from imgsearch.faces.messages import ASSIGNMENTS_PER_MESSAGE, chunks, faces_assigned

    applied = [AutoAssignment(f"f{i}", 1, 0.9) for i in range(2 * ASSIGNMENTS_PER_MESSAGE + 1)]
    parts = chunks(applied, ASSIGNMENTS_PER_MESSAGE)
    assert [len(p) for p in parts] == [ASSIGNMENTS_PER_MESSAGE, ASSIGNMENTS_PER_MESSAGE, 1]
    assert max(len(faces_assigned(p, {}).SerializeToString()) for p in parts) < 1_000_000
