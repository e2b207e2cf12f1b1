"""Matching faces to people: each person is represented by its prototype faces; a face (phase 1, and
propagation for faces in no cluster) or a whole unlabeled cluster (propagation) is given to the person it is
clearly closest to, or to nobody. Precision first: a wrong name on a photo costs a user more than a
missing one.

"Clearly" is judged against every identity-like group the library holds, not only the people named so far:
the unlabeled clusters compete too. With three people named, a stranger is always far from two of them, so
a margin to the next *person* proves nothing; a margin to the nearest unnamed cluster does. This keeps the
decisions the same whether a user names one cluster or three hundred.

Scores are distances between unit vectors (lower = closer):
- face → group: mean of the average and the smallest distance to the group's faces;
- cluster → group: average distance between the cluster's faces and the group's faces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imgsearch.common.db.face_records import AutoAssignment, Prototype, StoredFace
from imgsearch.faces.calibration import MIN_COHORT, Calibration
from imgsearch.faces.embeddings import Matrix, distances, stack

_BLOCK = 512  # faces scored at once: bounds the faces x group-members matrix
_COHORT = 50  # nearest other groups a face's score is compared with
REPRESENTATIVES = 8  # faces per unlabeled cluster that stand for it as a competitor


@dataclass(frozen=True)
class Candidate:
    face_id: str
    image_id: str
    person_id: int
    score: float
    confidence: float


def cluster_key(cluster_id: int) -> int:
    """Groups are keyed by person id (> 0) or by the negated cluster id (< 0)."""
    return -cluster_id


class PersonIndex:
    """Faces grouped by person (prototypes) and by unlabeled cluster (representatives); rows are sorted by
    group so that per-group averages and minima are one reduceat."""

    def __init__(self, keys: Sequence[int], members: Matrix, starts: npt.NDArray[np.intp]) -> None:
        self.keys = tuple(keys)
        self.members = members
        self.starts = starts
        self.counts = np.diff(np.append(starts, len(members))).astype(np.float32)
        self.column = {key: j for j, key in enumerate(self.keys)}
        self.person_columns = np.array([j for j, key in enumerate(self.keys) if key > 0], dtype=np.intp)
        self.people = tuple(key for key in self.keys if key > 0)

    @classmethod
    def build(cls, prototypes: Sequence[Prototype], dim: int,
              clusters: Mapping[int, Matrix] | None = None) -> PersonIndex:
        """``clusters``: unlabeled cluster id → representative faces (competitors, never assigned to)."""
        groups: list[tuple[int, Matrix]] = []
        by_person: dict[int, list[Prototype]] = {}
        for proto in prototypes:
            by_person.setdefault(proto.person_id, []).append(proto)
        for person, protos in by_person.items():
            ordered = sorted(protos, key=lambda p: p.face_id)
            groups.append((person, stack([p.embedding for p in ordered], dim)))
        for cluster, faces in (clusters or {}).items():
            if len(faces):
                groups.append((cluster_key(cluster), faces.astype(np.float32)))
        groups.sort(key=lambda g: g[0])
        if not groups:
            return cls([], np.zeros((0, dim), dtype=np.float32), np.zeros(0, dtype=np.intp))
        starts = np.cumsum([0] + [len(m) for _, m in groups[:-1]]).astype(np.intp)
        return cls([k for k, _ in groups], np.concatenate([m for _, m in groups]), starts)

    def __len__(self) -> int:
        return len(self.people)

    def face_scores(self, x: Matrix) -> Matrix:
        """(faces, groups): mean of average and nearest member distance."""
        out = np.empty((len(x), len(self.keys)), dtype=np.float32)
        for lo in range(0, len(x), _BLOCK):
            d = distances(x[lo : lo + _BLOCK], self.members)
            average = np.add.reduceat(d, self.starts, axis=1) / self.counts
            nearest = np.minimum.reduceat(d, self.starts, axis=1)
            out[lo : lo + _BLOCK] = (average + nearest) / 2
        return out

    def average_distances(self, x: Matrix) -> Matrix:
        """(faces, groups): average distance to each group's members."""
        out = np.empty((len(x), len(self.keys)), dtype=np.float32)
        for lo in range(0, len(x), _BLOCK):
            d = distances(x[lo : lo + _BLOCK], self.members)
            out[lo : lo + _BLOCK] = np.add.reduceat(d, self.starts, axis=1) / self.counts
        return out

    def blocked(self, scores: Matrix, faces: Sequence[StoredFace]) -> Matrix:
        """Scores with "not this person" pairs and each face's own cluster set to infinity."""
        for row, face in enumerate(faces):
            for person in face.rejected:
                column = self.column.get(person)
                if column is not None:
                    scores[row, column] = np.inf
            if face.cluster_id is not None:
                own = self.column.get(cluster_key(face.cluster_id))
                if own is not None:
                    scores[row, own] = np.inf
        return scores


def _best_person(scores: Matrix, index: PersonIndex) -> tuple[npt.NDArray[np.intp], Matrix]:
    """Per row: the column of the closest person, and its score."""
    person_scores = scores[:, index.person_columns]
    best = index.person_columns[np.argmin(person_scores, axis=1)]
    return best, scores[np.arange(len(scores)), best]


def match_faces(index: PersonIndex, faces: Sequence[StoredFace], x: Matrix, cal: Calibration,
                only: frozenset[int] | None = None) -> list[Candidate]:
    """Faces judged one by one. ``only``: accept only these people (the ones whose prototypes changed)."""
    if not len(index) or not faces:
        return []
    scores = index.blocked(index.face_scores(x), faces)
    best, s1 = _best_person(scores, index)
    strict = (cal.sure + cal.face_assign) / 2
    candidates: list[Candidate] = []
    for row in np.flatnonzero(s1 < cal.face_assign):
        person = index.keys[best[row]]
        if only is not None and person not in only:
            continue
        others = np.delete(scores[row], best[row])
        others = np.sort(others[np.isfinite(others)])[:_COHORT]
        second = float(others[0]) if len(others) else np.inf
        if len(others) < MIN_COHORT:  # a tiny library: no cohort to stand out from, ask for more
            if s1[row] > strict or second - s1[row] < cal.face_margin:
                continue
        else:  # stand out from the nearest groups, and from the nearest one (a sibling?) by half the margin
            z = (float(others.mean()) - s1[row]) / (float(others.std()) or 1e-6)
            if z < cal.face_z or second - s1[row] < cal.face_margin / 2:
                continue
        face = faces[int(row)]
        candidates.append(
            Candidate(face.id, face.image_id, person, float(s1[row]),
                      cal.confidence(float(s1[row]), cal.face_assign))
        )
    return candidates


def match_clusters(index: PersonIndex, clusters: Mapping[int, Sequence[int]], faces: Sequence[StoredFace],
                   x: Matrix, cal: Calibration, only: frozenset[int] | None = None) -> list[Candidate]:
    """Unlabeled clusters judged whole: many faces agreeing is stronger evidence than any one of them.
    ``clusters`` maps a cluster id to row numbers in ``faces``/``x``."""
    if not len(index) or not clusters:
        return []
    candidates: list[Candidate] = []
    for rows in clusters.values():
        if len(rows) < 2:
            continue
        members = [faces[r] for r in rows]
        per_face = index.blocked(index.average_distances(x[list(rows)]), members)
        finite = np.isfinite(per_face)  # a member's own cluster and rejected people are infinite
        counts = finite.sum(axis=0)
        sums = np.where(finite, per_face, 0.0).sum(axis=0)
        scores = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)
        best = int(index.person_columns[np.argmin(scores[index.person_columns])])
        s1 = float(scores[best])
        scores[best] = np.inf
        s2 = float(scores.min()) if len(scores) else np.inf  # the nearest other person or cluster
        if s1 >= cal.cluster_assign or s2 - s1 < cal.cluster_margin:
            continue
        person = index.keys[best]
        if only is not None and person not in only:
            continue
        confidence = cal.confidence(s1, cal.cluster_assign)
        for member in members:
            if person not in member.rejected:
                candidates.append(Candidate(member.id, member.image_id, person, s1, confidence))
    return candidates


def representatives(faces: Sequence[StoredFace], x: Matrix, per_cluster: int = REPRESENTATIVES
                    ) -> dict[int, Matrix]:
    """The best faces (by quality) of each unlabeled cluster, as that cluster's stand-ins."""
    rows: dict[int, list[int]] = {}
    for row, face in enumerate(faces):
        if face.cluster_id is not None and face.person_id is None:
            rows.setdefault(face.cluster_id, []).append(row)
    out: dict[int, Matrix] = {}
    for cluster, members in rows.items():
        best = sorted(members, key=lambda r: -faces[r].quality)[:per_cluster]
        out[cluster] = x[best]
    return out


def resolve(candidates: Sequence[Candidate], people_in_images: Mapping[str, set[int]]
            ) -> list[AutoAssignment]:
    """Best matches first; a face gets one person and a person appears once per photo."""
    taken_faces: set[str] = set()
    present = {image: set(people) for image, people in people_in_images.items()}
    chosen: list[AutoAssignment] = []
    for candidate in sorted(candidates, key=lambda c: (c.score, c.face_id)):
        in_photo = present.setdefault(candidate.image_id, set())
        if candidate.face_id in taken_faces or candidate.person_id in in_photo:
            continue
        taken_faces.add(candidate.face_id)
        in_photo.add(candidate.person_id)
        chosen.append(AutoAssignment(candidate.face_id, candidate.person_id, candidate.confidence))
    return chosen
