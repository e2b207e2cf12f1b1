"""Scoring for `make bench-faces`: the manifest, clustering metrics, the simulated user, assignment figures.

Pure functions (no services), shared by the system's run and the naive alternative's, and unit-tested."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import comb
from pathlib import Path

import numpy as np
import numpy.typing as npt


def read_manifest(data: Path) -> dict[str, str]:
    """MANIFEST.tsv: header row, column 1 relative path, column 2 identity label (empty = not scored)."""
    labels: dict[str, str] = {}
    with (data / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t")
        next(rows, None)
        for row in rows:
            if len(row) >= 2 and row[0].strip() and row[1].strip():
                labels[row[0].strip()] = row[1].strip()
    return labels


def scored_face(boxes: Sequence[tuple[int, int, int, int]], width: int, height: int) -> int | None:
    """Index of the largest face nearest the centre: area, less a penalty for distance from the centre."""
    if not boxes:
        return None
    cx, cy = width / 2, height / 2

    def rank(box: tuple[int, int, int, int]) -> float:
        x1, y1, x2, y2 = box
        off = ((x1 + x2) / 2 - cx) ** 2 + ((y1 + y2) / 2 - cy) ** 2
        return -(x2 - x1) * (y2 - y1) + 0.5 * off

    return min(range(len(boxes)), key=lambda i: rank(boxes[i]))


@dataclass(frozen=True)
class ClusterScores:
    precision: float
    recall: float
    f1: float
    bcubed_f1: float


def cluster_scores(predicted: Sequence[int | None], truth: Sequence[str]) -> ClusterScores:
    """Pairwise precision/recall/F1 and BCubed F1; an unclustered face (None) is a cluster of its own."""
    unique = iter(range(-1, -len(predicted) - 2, -1))
    pred = [p if p is not None else next(unique) for p in predicted]
    joint = Counter(zip(pred, truth, strict=True))
    by_pred = Counter(pred)
    by_truth = Counter(truth)
    tp = sum(comb(n, 2) for n in joint.values())
    pp = sum(comb(n, 2) for n in by_pred.values())
    tt = sum(comb(n, 2) for n in by_truth.values())
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    bp = (
        float(np.mean([joint[(p, t)] / by_pred[p] for p, t in zip(pred, truth, strict=True)]))
        if pred
        else 1.0
    )
    br = (
        float(np.mean([joint[(p, t)] / by_truth[t] for p, t in zip(pred, truth, strict=True)]))
        if pred
        else 1.0
    )
    bf = 2 * bp * br / (bp + br) if bp + br else 0.0
    return ClusterScores(precision, recall, f1, bf)


@dataclass(frozen=True)
class LabelAction:
    cluster: int
    identity: str
    keep: list[str]  # scored faces of that identity in the cluster
    reject: list[str]  # scored faces in the cluster that are someone else ("not this person")
    unknown: list[str] = field(default_factory=list)  # unscored faces (who they are is not known)


def simulate_user(cluster_of: Mapping[str, int | None], identity_of: Mapping[str, str]) -> list[LabelAction]:
    """For each identity, the cluster holding most of its faces is labeled with it — unless that cluster holds
    more of another identity (a person looking at it would name that one); identities with no cluster get no
    label. The faces in a labeled cluster that are not that identity are rejected. Unscored faces (other
    people in the labeled photos, photos without a label) are taken out of the cluster before it is named:
    the manifest does not say who they are, and in these photos they are mostly someone else."""
    per_identity: dict[str, Counter[int]] = defaultdict(Counter)
    per_cluster: dict[int, Counter[str]] = defaultdict(Counter)
    for face, identity in identity_of.items():
        cluster = cluster_of.get(face)
        if cluster is not None:
            per_identity[identity][cluster] += 1
            per_cluster[cluster][identity] += 1
    actions: list[LabelAction] = []
    taken: set[int] = set()
    for identity in sorted(per_identity):
        cluster, _ = max(per_identity[identity].items(), key=lambda kv: (kv[1], -kv[0]))
        top, _ = max(per_cluster[cluster].items(), key=lambda kv: (kv[1], kv[0]))
        if top != identity or cluster in taken:
            continue
        taken.add(cluster)
        members = [f for f, c in cluster_of.items() if c == cluster and f in identity_of]
        unknown = [f for f, c in cluster_of.items() if c == cluster and f not in identity_of]
        actions.append(
            LabelAction(
                cluster,
                identity,
                keep=[f for f in members if identity_of[f] == identity],
                reject=[f for f in members if identity_of[f] != identity],
                unknown=unknown,
            )
        )
    return actions


@dataclass(frozen=True)
class AssignScores:
    assigned: float  # share of the labeled identities' other faces assigned automatically
    assign_precision: float  # correct automatic assignments / all automatic assignments (scored faces)
    other_faces: int
    automatic: int


def assign_scores(
    actions: Sequence[LabelAction], automatic: Mapping[str, str], identity_of: Mapping[str, str]
) -> AssignScores:
    """``automatic``: scored face → identity name it was given automatically (after labeling)."""
    labeled = {a.identity for a in actions}
    by_user = {f for a in actions for f in a.keep}
    other = [f for f, identity in identity_of.items() if identity in labeled and f not in by_user]
    got = sum(1 for f in other if f in automatic)
    scored_auto = [f for f in automatic if f in identity_of]
    correct = sum(1 for f in scored_auto if automatic[f] == identity_of[f])
    return AssignScores(
        assigned=got / len(other) if other else 0.0,
        assign_precision=correct / len(scored_auto) if scored_auto else 0.0,
        other_faces=len(other),
        automatic=len(scored_auto),
    )


def naive_assign(
    x: npt.NDArray[np.float32],
    faces: Sequence[str],
    user: Mapping[str, str],
    rejected: set[tuple[str, str]],
    threshold: float,
) -> dict[str, str]:
    """Nearest prototype (every user-labeled face) within ``threshold``, one face at a time."""
    row = {f: i for i, f in enumerate(faces)}
    labeled = sorted(user)
    if not labeled:
        return {}
    protos = x[[row[f] for f in labeled]]
    names = [user[f] for f in labeled]
    rest = [f for f in faces if f not in user]
    out: dict[str, str] = {}
    for lo in range(0, len(rest), 1024):
        chunk = rest[lo : lo + 1024]
        d = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * (x[[row[f] for f in chunk]] @ protos.T)))
        best = d.argmin(axis=1)
        for f, j, dist in zip(chunk, best, d[np.arange(len(chunk)), best], strict=True):
            if dist < threshold and (f, names[j]) not in rejected:
                out[f] = names[j]
    return out
