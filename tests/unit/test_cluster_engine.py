"""The HDBSCAN engine gives sklearn's clustering, on both of its paths (exact below exact_max_n, the
neighbour graph above it), handles duplicates, disconnected neighbour graphs and small inputs, and
importing it compiles nothing."""

from __future__ import annotations

import subprocess
import sys
import warnings
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.cluster import HDBSCAN  # type: ignore[import-untyped]
from sklearn.datasets import make_blobs  # type: ignore[import-untyped]
from sklearn.metrics import adjusted_rand_score  # type: ignore[import-untyped]
from sklearn.neighbors import NearestNeighbors  # type: ignore[import-untyped]

from imgsearch.faces.clustering import engine
from imgsearch.faces.clustering.engine import hdbscan_cluster
from imgsearch.faces.clustering.knn import IvfIndex, exact_neighbours, with_reverse

F32 = npt.NDArray[np.float32]


def _unit(x: npt.NDArray[np.float64]) -> F32:
    unit: F32 = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


@cache
def dataset(name: str) -> F32:
    rng = np.random.default_rng(7)
    if name == "blobs":
        x, _ = make_blobs(2000, n_features=16, centers=20, cluster_std=1.0, random_state=0)
    elif name == "varied":  # densities differing tenfold
        stds = rng.uniform(0.3, 3.0, 10)
        x, _ = make_blobs(2000, n_features=8, centers=10, cluster_std=stds, random_state=1)
    else:  # "faces": 150 people on the unit sphere in 128-d, plus 10% strangers
        centers = _unit(rng.standard_normal((150, 128)))
        person = rng.integers(0, 150, 1800)
        x = np.r_[centers[person] + 0.05 * rng.standard_normal((1800, 128)), rng.standard_normal((200, 128))]
        return _unit(x)
    return np.asarray(x, dtype=np.float32)


@cache
def sklearn_labels(name: str, mcs: int, ms: int, selection: str, epsilon: float) -> npt.NDArray[np.intp]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklearn 1.8+: the `copy` default changes
        model = HDBSCAN(min_cluster_size=mcs, min_samples=ms, cluster_selection_method=selection,
                        cluster_selection_epsilon=epsilon).fit(dataset(name))
    return np.asarray(model.labels_, dtype=np.intp)


EXACT_CASES = [
    ("blobs", 5, 5, "eom", 0.0), ("blobs", 2, 2, "eom", 0.0), ("blobs", 10, 3, "leaf", 0.0),
    ("blobs", 5, 3, "eom", 0.5), ("blobs", 5, 3, "leaf", 0.5),
    ("varied", 5, 5, "eom", 0.0), ("varied", 2, 2, "eom", 0.0), ("varied", 10, 3, "leaf", 0.0),
    ("varied", 5, 3, "eom", 0.5),
    ("faces", 2, 2, "eom", 0.0), ("faces", 5, 3, "leaf", 0.0), ("faces", 5, 3, "eom", 0.3),
]


@pytest.mark.parametrize(("name", "mcs", "ms", "selection", "epsilon"), EXACT_CASES)
def test_exact_path_matches_sklearn(name: str, mcs: int, ms: int, selection: str, epsilon: float) -> None:
    result = hdbscan_cluster(dataset(name), mcs, ms, selection=selection, epsilon=epsilon)
    expected = sklearn_labels(name, mcs, ms, selection, epsilon)
    assert adjusted_rand_score(expected, result.labels) >= 0.95
    assert result.n_clusters == expected.max() + 1
    assert sorted(set(result.labels.tolist()) - {-1}) == list(range(result.n_clusters))
    assert ((result.probabilities >= 0) & (result.probabilities <= 1)).all()
    assert (result.probabilities[result.labels < 0] == 0).all()


@pytest.mark.parametrize(("name", "mcs", "ms"), [
    ("blobs", 5, 5), ("blobs", 2, 2), ("varied", 5, 5), ("varied", 2, 2), ("faces", 2, 2), ("faces", 5, 5)])
def test_neighbour_graph_path_matches_sklearn(name: str, mcs: int, ms: int) -> None:
    result = hdbscan_cluster(dataset(name), mcs, ms, exact_max_n=0)
    assert adjusted_rand_score(sklearn_labels(name, mcs, ms, "eom", 0.0), result.labels) >= 0.95


def test_approximate_search_with_small_cells_matches_sklearn(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 2000 points the default cells make the index search everything; small cells make it skip.
    The people's faces cluster as sklearn has them; which strangers (200 random points, all about
    equally far from everything) pair up by chance may differ."""
    monkeypatch.setattr(engine, "CELL_SIZE", 25)
    monkeypatch.setattr(engine, "NPROBE", 4)
    result = hdbscan_cluster(dataset("faces"), 2, 2, exact_max_n=0)
    expected = sklearn_labels("faces", 2, 2, "eom", 0.0)
    assert adjusted_rand_score(expected[:1800], result.labels[:1800]) >= 0.99
    assert adjusted_rand_score(expected, result.labels) >= 0.9


def test_index_finds_near_neighbours() -> None:
    x = dataset("faces")
    idx, dist = with_reverse(*IvfIndex.build(x, cell_size=25, nprobe=4).knn(8))
    exact_idx, exact_dist = exact_neighbours(x, x, 8, np.arange(len(x)))
    assert (idx != np.arange(len(x))[:, None]).all()
    assert (np.diff(dist, axis=1) >= 0).all()
    people = slice(0, 1800)  # the strangers' neighbours are all about equally far
    assert np.mean(idx[people, 0] == exact_idx[people, 0]) >= 0.98
    assert np.mean(np.isclose(dist[people, 0], exact_dist[people, 0], atol=1e-5)) >= 0.98


def test_reverse_neighbours_fill_in_missed_pairs() -> None:
    """0 found only 2; 1 found 0: so 0's nearest is 1, once, whatever way round it was found."""
    idx = np.array([[2, -1], [0, 2], [1, 0]])
    dist = np.array([[0.5, np.inf], [0.1, 0.3], [0.3, 0.5]], dtype=np.float32)
    merged_idx, merged_dist = with_reverse(idx, dist)
    assert merged_idx.tolist() == [[1, 2], [0, 2], [1, 0]]
    assert np.allclose(merged_dist, [[0.1, 0.5], [0.1, 0.3], [0.3, 0.5]])


@pytest.mark.parametrize("exact_max_n", [4096, 0])
def test_core_distances_count_the_point_itself(exact_max_n: int) -> None:
    x = dataset("blobs")
    result = hdbscan_cluster(x, 5, 4, exact_max_n=exact_max_n)
    expected = NearestNeighbors(n_neighbors=4).fit(x).kneighbors(x)[0][:, -1]
    assert np.mean(np.isclose(result.core_distances, expected, rtol=1e-4, atol=1e-5)) >= 0.99


def test_sparse_neighbour_graph_is_linked_into_one_tree() -> None:
    """With 2 neighbours each the graph falls apart into many pieces; linking them must recover the
    clustering of the exact path."""
    x = dataset("varied")
    exact = hdbscan_cluster(x, 5, 2)
    linked = hdbscan_cluster(x, 5, 2, exact_max_n=0, neighbours=2)
    assert adjusted_rand_score(exact.labels, linked.labels) >= 0.95


@pytest.mark.parametrize("exact_max_n", [4096, 0])
def test_duplicate_faces(exact_max_n: int) -> None:
    """The same photo imported twice gives identical embeddings: distance 0, lambda infinite."""
    x = dataset("faces")
    x = np.r_[x, x[:300]]
    result = hdbscan_cluster(x, 2, 2, exact_max_n=exact_max_n)
    assert np.isfinite(result.probabilities).all()
    assert (result.labels[:300] == result.labels[2000:]).all()
    assert (result.labels[:300] >= 0).all()


def test_tiny_inputs() -> None:
    assert hdbscan_cluster(np.zeros((0, 8), dtype=np.float32), 2, 2).labels.shape == (0,)
    assert hdbscan_cluster(np.ones((1, 8), dtype=np.float32), 2, 2).labels.tolist() == [-1]
    three = np.array([[1, 0], [1, 0.01], [0, 1]], dtype=np.float32)
    assert hdbscan_cluster(three, 2, 5).labels.shape == (3,)  # min_samples above n is taken as n
    assert hdbscan_cluster(three, 2, 2, exact_max_n=0).labels.shape == (3,)


@pytest.mark.parametrize("kwargs", [
    {"min_cluster_size": 1}, {"min_samples": 0}, {"selection": "dbscan"}, {"epsilon": -1.0}])
def test_rejects_bad_parameters(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"min_cluster_size": 2, "min_samples": 2} | kwargs
    with pytest.raises(ValueError):
        hdbscan_cluster(dataset("blobs"), **args)  # type: ignore[arg-type]


def test_rejects_non_finite_input() -> None:
    x = dataset("blobs").copy()
    x[3, 1] = np.nan
    with pytest.raises(ValueError):
        hdbscan_cluster(x, 2, 2)


def test_import_compiles_and_loads_nothing_heavy() -> None:
    code = ("import sys; import imgsearch.faces.clustering; import imgsearch.faces.clustering.engine, "
            "imgsearch.faces.clustering.attach, imgsearch.faces.clustering.stable_ids; "
            "print(sorted(m for m in ('numba', 'sklearn', 'fast_hdbscan', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
