"""The bench's scoring: metrics and the simulated user must be right for the figures to mean anything."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from faces_eval import (
    assign_scores,
    cluster_scores,
    naive_assign,
    read_manifest,
    scored_face,
    simulate_user,
)


def test_manifest_skips_the_header_and_unlabeled_rows(tmp_path: Path) -> None:
    (tmp_path / "MANIFEST.tsv").write_text(
        "path\tlabel\tsource\na/1.jpg\tAnn\tx\nb/2.jpg\t\tx\nc/3.jpg\tBo\n"
    )
    assert read_manifest(tmp_path) == {"a/1.jpg": "Ann", "c/3.jpg": "Bo"}


def test_the_scored_face_is_the_largest_near_the_centre() -> None:
    boxes = [(0, 0, 30, 30), (40, 40, 70, 70), (60, 60, 65, 65)]
    assert scored_face(boxes, 110, 110) == 1
    assert scored_face([], 100, 100) is None


def test_pairwise_and_bcubed_scores() -> None:
    perfect = cluster_scores([1, 1, 2, 2], ["a", "a", "b", "b"])
    assert (perfect.precision, perfect.recall, perfect.f1, perfect.bcubed_f1) == (1.0, 1.0, 1.0, 1.0)
    merged = cluster_scores([1, 1, 1, 1], ["a", "a", "b", "b"])
    assert merged.precision == pytest.approx(2 / 6) and merged.recall == 1.0
    noise = cluster_scores([None, None, 2, 2], ["a", "a", "b", "b"])
    assert noise.precision == 1.0 and noise.recall == pytest.approx(0.5)


def test_the_user_labels_each_identitys_main_cluster_and_rejects_intruders() -> None:
    cluster_of = {"a1": 1, "a2": 1, "b1": 1, "a3": 2, "b2": 3, "b3": 3, "c1": None}
    identity_of = {"a1": "A", "a2": "A", "b1": "B", "a3": "A", "b2": "B", "b3": "B", "c1": "C"}
    actions = {a.identity: a for a in simulate_user(cluster_of, identity_of)}
    assert set(actions) == {"A", "B"}
    assert (
        actions["A"].cluster == 1
        and sorted(actions["A"].keep) == ["a1", "a2"]
        and actions["A"].reject == ["b1"]
    )
    assert actions["B"].cluster == 3
    scores = assign_scores(list(actions.values()), {"a3": "A", "b1": "A", "c1": "B"}, identity_of)
    assert scores.other_faces == 2  # a3 and b1 (c1 has no label)
    assert scores.assigned == pytest.approx(1.0)
    assert scores.assign_precision == pytest.approx(1 / 3)


def test_naive_assignment_takes_the_nearest_prototype_within_the_threshold() -> None:
    x = np.array([[1, 0], [0, 1], [0.99, 0.141], [-1, 0]], dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    out = naive_assign(x, ["p", "q", "f", "g"], {"p": "P", "q": "Q"}, {("g", "P")}, 0.5)
    assert out == {"f": "P"}
