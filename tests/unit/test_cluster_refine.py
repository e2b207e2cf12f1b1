"""Purity refinement (split + merge), incremental attachment, parameter scaling."""

from __future__ import annotations

import numpy as np

from imgsearch.faces.clustering.attach import attach_faces
from imgsearch.faces.clustering.params import default_params
from imgsearch.faces.clustering.refine import merge_clusters, refine, split_clusters

DIM = 64


def blob(rng: np.random.Generator, n: int, spread: float = 0.15) -> np.ndarray:
    centre = rng.normal(size=DIM)
    centre /= np.linalg.norm(centre)
    v = centre + rng.normal(size=(n, DIM)) * spread / np.sqrt(DIM)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_a_cluster_holding_two_people_is_split() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([blob(rng, 5), blob(rng, 4)])
    labels = np.zeros(9, dtype=np.int64)
    out = split_clusters(labels, x, 0.36)
    assert len(set(out[:5])) == 1 and len(set(out[5:])) == 1 and out[0] != out[5]
    assert (out >= 0).all()


def test_a_lone_face_split_off_becomes_noise_and_noise_stays_noise() -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate([blob(rng, 4), blob(rng, 1), blob(rng, 2)])
    labels = np.array([0, 0, 0, 0, 0, -1, -1], dtype=np.int64)
    out = split_clusters(labels, x, 0.36)
    assert out[4] == -1 and (out[:4] == out[0]).all() and (out[5:] == -1).all()


def test_one_person_in_two_clusters_is_merged_and_different_people_are_not() -> None:
    rng = np.random.default_rng(3)
    same = blob(rng, 6)
    other = blob(rng, 3)
    x = np.concatenate([same, other])
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2], dtype=np.int64)
    out = merge_clusters(labels, x, 0.34)
    assert len(set(out[:6])) == 1 and out[6] != out[0] and len(set(out[6:])) == 1


def test_refine_keeps_labels_dense() -> None:
    rng = np.random.default_rng(4)
    x = np.concatenate([blob(rng, 3), blob(rng, 3), blob(rng, 3)])
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1], dtype=np.int64)
    out = refine(labels, x, 0.36, 0.34)
    assert sorted(set(out.tolist())) == [0, 1, 2]


def test_new_faces_join_their_cluster_and_strangers_do_not() -> None:
    rng = np.random.default_rng(5)
    a, b = blob(rng, 6), blob(rng, 6)
    members = np.concatenate([a[:5], b[:5]])
    labels = np.array([3] * 5 + [8] * 5, dtype=np.int64)
    loose = np.concatenate([a[5:], b[5:], blob(rng, 1)])
    assert attach_faces(loose, members, labels, 0.34).tolist() == [3, 8, -1]


def test_parameters_grow_with_the_library_and_settings_win() -> None:
    assert default_params(500).min_cluster_size == 2
    assert default_params(50_000).min_cluster_size == 3
    assert default_params(500_000).min_cluster_size == 4
    chosen = default_params(500, min_cluster_size=5, min_samples=3)
    assert (chosen.min_cluster_size, chosen.min_samples) == (5, 3)


def test_a_pair_of_strangers_is_not_a_cluster() -> None:
    rng = np.random.default_rng(6)
    x = np.concatenate([blob(rng, 1), blob(rng, 1), blob(rng, 2)])
    out = split_clusters(np.array([0, 0, 1, 1], dtype=np.int64), x, 0.36)
    assert out[:2].tolist() == [-1, -1] and out[2] == out[3] >= 0
