"""Matching faces to people: each person is represented by its prototype faces; a face (phase 1, and
propagation for faces in no cluster) or a whole unlabeled cluster (propagation) is given to the person it is
clearly closest to, or to nobody. Precision first: a wrong name on a photo costs a user more than a missing one.

Scores are distances between unit vectors (lower = closer):
- face → person: mean of the average and the smallest distance to the person's prototypes;
- cluster → person: average distance between the cluster's faces and the person's prototypes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imgsearch.common.db.face_records import AutoAssignment, Prototype, StoredFace
from imgsearch.faces.calibration import MIN_COHORT, Calibration
from imgsearch.faces.embeddings import Matrix, distances, stack

_BLOCK = 512  # faces scored at once: bounds the faces x prototypes matrix
_COHORT = 50  # nearest other people a face's score is compared with


@dataclass(frozen=True)
class Candidate:
    face_id: str
    image_id: str
    person_id: int
    score: float
    confidence: float


class PersonIndex:
    """Prototype embeddings grouped by person (rows sorted by person for reduceat)."""

    def __init__(self, people: Sequence[int], prototypes: Matrix, starts: npt.NDArray[np.intp]) -> None:
        self.people = tuple(people)
        self.prototypes = prototypes
        self.starts = starts
        self.counts = np.diff(np.append(starts, len(prototypes))).astype(np.float32)
        self.column = {person: j for j, person in enumerate(self.people)}

    @classmethod
    def build(cls, prototypes: Sequence[Prototype], dim: int) -> PersonIndex:
        ordered = sorted(prototypes, key=lambda p: (p.person_id, p.face_id))
        people: list[int] = []
        starts: list[int] = []
        for row, proto in enumerate(ordered):
            if not people or people[-1] != proto.person_id:
                people.append(proto.person_id)
                starts.append(row)
        matrix = stack([p.embedding for p in ordered], dim)
        return cls(people, matrix, np.asarray(starts, dtype=np.intp))

    def __len__(self) -> int:
        return len(self.people)

    def face_scores(self, x: Matrix) -> Matrix:
        """(faces, people): mean of average and nearest prototype distance."""
        out = np.empty((len(x), len(self.people)), dtype=np.float32)
        for lo in range(0, len(x), _BLOCK):
            d = distances(x[lo:lo + _BLOCK], self.prototypes)
            average = np.add.reduceat(d, self.starts, axis=1) / self.counts
            nearest = np.minimum.reduceat(d, self.starts, axis=1)
            out[lo:lo + _BLOCK] = (average + nearest) / 2
        return out

    def average_distances(self, x: Matrix) -> Matrix:
        """(faces, people): average distance to each person's prototypes."""
        out = np.empty((len(x), len(self.people)), dtype=np.float32)
        for lo in range(0, len(x), _BLOCK):
            d = distances(x[lo:lo + _BLOCK], self.prototypes)
            out[lo:lo + _BLOCK] = np.add.reduceat(d, self.starts, axis=1) / self.counts
        return out

    def blocked(self, scores: Matrix, faces: Sequence[StoredFace]) -> Matrix:
        """Scores with "not this person" pairs set to infinity."""
        for row, face in enumerate(faces):
            for person in face.rejected:
                column = self.column.get(person)
                if column is not None:
                    scores[row, column] = np.inf
        return scores


def match_faces(index: PersonIndex, faces: Sequence[StoredFace], x: Matrix, cal: Calibration,
                only: frozenset[int] | None = None) -> list[Candidate]:
    """Faces judged one by one. ``only``: accept only these people (the ones whose prototypes changed)."""
    if not len(index) or not faces:
        return []
    scores = index.blocked(index.face_scores(x), faces)
    order = np.argsort(scores, axis=1)
    best = order[:, 0]
    rows = np.arange(len(faces))
    s1 = scores[rows, best]
    candidates: list[Candidate] = []
    few = len(index) < MIN_COHORT
    strict = (cal.sure + cal.face_assign) / 2
    for row in np.flatnonzero(s1 < cal.face_assign):
        person = index.people[best[row]]
        if only is not None and person not in only:
            continue
        others = scores[row, order[row, 1:1 + _COHORT]]
        others = others[np.isfinite(others)]
        second = float(others[0]) if len(others) else np.inf
        if few or len(others) < MIN_COHORT:
            if s1[row] > strict or second - s1[row] < cal.face_margin:
                continue
        else:  # stand out from the other people, and from a look-alike (a sibling) by half the margin
            spread = float(others.std()) or 1e-6
            if (float(others.mean()) - s1[row]) / spread < cal.face_z or second - s1[row] < cal.face_margin / 2:
                continue
        face = faces[row]
        candidates.append(Candidate(face.id, face.image_id, person, float(s1[row]),
                                    cal.confidence(float(s1[row]), cal.face_assign)))
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
        finite = np.where(np.isfinite(per_face), per_face, np.nan)
        with np.errstate(all="ignore"):
            scores = np.nanmean(finite, axis=0)
        scores = np.where(np.isnan(scores), np.inf, scores)
        order = np.argsort(scores)
        s1 = float(scores[order[0]])
        s2 = float(scores[order[1]]) if len(order) > 1 else np.inf
        if s1 >= cal.cluster_assign or s2 - s1 < cal.cluster_margin:
            continue
        person = index.people[order[0]]
        if only is not None and person not in only:
            continue
        confidence = cal.confidence(s1, cal.cluster_assign)
        for member in members:
            if person not in member.rejected:
                candidates.append(Candidate(member.id, member.image_id, person, s1, confidence))
    return candidates


def resolve(candidates: Sequence[Candidate], people_in_images: Mapping[str, set[int]]) -> list[AutoAssignment]:
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
