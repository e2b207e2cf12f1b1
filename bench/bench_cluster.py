"""Face clustering speed and quality: the HDBSCAN engine vs sklearn. Run by `make bench-cluster`.

Data: synthetic face embeddings — unit vectors in 128-d (dlib) and 512-d (ArcFace); people with 2–30
faces each (few with many, many with few), a face's cosine distance to another of the same person
about 0.1–0.3 and to other people about 0.7–1.0 (people share a few broad "look" directions), plus 20%
strangers seen once. Engine: ``imgsearch.faces.clustering.engine.hdbscan_cluster``; naive:
``sklearn.cluster.HDBSCAN`` with the same parameters, at the naive size only (it is quadratic).
Both are scored by pairwise precision/recall against the true people, so speed isn't bought with quality.

Usage: bench/bench_cluster.py [--sizes 10000,50000,100000] [--dims 128,512] [--naive-n 10000]
[--min-cluster-size 2] [--min-samples 2] [--selection eom]. The last line is ``cluster100k: S seconds``,
the slower of the two 100k runs."""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import numpy.typing as npt
from sklearn.cluster import HDBSCAN  # type: ignore[import-untyped]
from sklearn.metrics import adjusted_rand_score  # type: ignore[import-untyped]

from imgsearch.faces.calibration import INSIGHTFACE
from imgsearch.faces.clustering.engine import hdbscan_cluster
from imgsearch.faces.clustering.refine import refine

IntArray = npt.NDArray[np.intp]
Faces = npt.NDArray[np.float32]


def _unit(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    unit: npt.NDArray[np.float64] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return unit


def faces(n: int, dim: int, seed: int = 0, strangers: float = 0.2) -> tuple[Faces, IntArray]:
    """(embeddings, person of each face), shuffled."""
    rng = np.random.default_rng(seed)
    known = n - int(n * strangers)
    span = np.arange(2, 31)
    weights = span ** -1.2  # a power law: most people have a handful of photos
    sizes = rng.choice(span, size=known, p=weights / weights.sum())
    sizes = sizes[:np.searchsorted(np.cumsum(sizes), known) + 1]
    sizes[-1] -= sizes.sum() - known
    sizes = np.r_[sizes[sizes > 0], np.ones(n - known, dtype=sizes.dtype)]
    looks = _unit(rng.standard_normal((8, dim)))
    centers = _unit(rng.standard_normal((len(sizes), dim)) / np.sqrt(dim)
                    + 0.6 * looks[rng.integers(0, len(looks), len(sizes))])
    person = np.repeat(np.arange(len(sizes)), sizes)
    spread = rng.uniform(0.35, 0.7, len(sizes))[person, None]  # cosine distance ≈ s² / (1 + s²)
    x = _unit(centers[person] + spread * rng.standard_normal((n, dim)) / np.sqrt(dim))
    order = rng.permutation(n)
    return x[order].astype(np.float32), person[order].astype(np.intp)


def pair_scores(labels: IntArray, truth: IntArray) -> tuple[float, float]:
    """Pairwise precision and recall of the clusters (noise pairs with nobody) against the people."""
    def pairs(counts: IntArray) -> float:
        return float((counts * (counts - 1) // 2).sum())

    member = labels >= 0
    _, both = np.unique(np.c_[labels[member], truth[member]], axis=0, return_counts=True)
    true_pairs = pairs(np.unique(truth, return_counts=True)[1])
    found = pairs(np.unique(labels[member], return_counts=True)[1])
    hit = pairs(both)
    return (hit / found if found else 1.0), (hit / true_pairs if true_pairs else 1.0)


def run_engine(x: Faces, args: argparse.Namespace) -> tuple[float, IntArray]:
    start = time.perf_counter()
    result = hdbscan_cluster(x, args.min_cluster_size, args.min_samples, selection=args.selection)
    return time.perf_counter() - start, result.labels


def run_system(x: Faces, args: argparse.Namespace) -> tuple[float, IntArray]:
    """What a clustering run computes: the engine, then the average-linkage purity refinement. The
    synthetic faces are spread like ArcFace embeddings, so InsightFace's calibration applies."""
    start = time.perf_counter()
    result = hdbscan_cluster(x, args.min_cluster_size, args.min_samples, selection=args.selection)
    labels = refine(np.asarray(result.labels, dtype=np.int64), x.astype(np.float32), INSIGHTFACE.split,
                    INSIGHTFACE.merge)
    return time.perf_counter() - start, labels


def run_naive(x: Faces, args: argparse.Namespace) -> tuple[float, IntArray]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklearn 1.8+: the `copy` default changes
        model = HDBSCAN(min_cluster_size=args.min_cluster_size, min_samples=args.min_samples,
                        cluster_selection_method=args.selection).fit(x)
    return time.perf_counter() - start, np.asarray(model.labels_, dtype=np.intp)


def report(name: str, n: int, dim: int, seconds: float, labels: IntArray, truth: IntArray) -> None:
    precision, recall = pair_scores(labels, truth)
    print(f"  {name:7s} n={n:>6} d={dim}: {seconds:7.2f} s  clusters={labels.max() + 1:>5}  "
          f"noise={np.mean(labels < 0):5.1%}  pair precision={precision:.4f} recall={recall:.4f}", flush=True)


def agreement(labels: IntArray, other: IntArray, truth: IntArray) -> tuple[float, float]:
    """ARI of two clusterings: over all faces (noise one label, as usual), and over the faces of people
    with 2+ photos with each noise face its own singleton (so that which strangers happen to pair up,
    or one big noise label, does not dominate)."""
    def singletons(x: IntArray) -> IntArray:
        out = x.copy()
        out[x < 0] = x.max() + 1 + np.arange(int((x < 0).sum()))
        return out

    people = np.unique(truth, return_counts=True)[1][truth] >= 2
    return (float(adjusted_rand_score(other, labels)),
            float(adjusted_rand_score(singletons(other)[people], singletons(labels)[people])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--dims", default="128,512")
    parser.add_argument("--naive-n", type=int, default=10_000, help="0: skip sklearn")
    parser.add_argument("--min-cluster-size", type=int, default=2)
    parser.add_argument("--min-samples", type=int, default=2)
    parser.add_argument("--selection", default="eom", choices=["eom", "leaf"])
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    dims = [int(d) for d in args.dims.split(",")]
    print(f"min_cluster_size={args.min_cluster_size} min_samples={args.min_samples} "
          f"selection={args.selection}, {os.cpu_count()} CPUs; engine has no JIT: every run is a first run")
    slowest: dict[int, float] = {}
    for dim in dims:
        runs: dict[int, tuple[float, IntArray]] = {}
        for n in sizes:
            x, truth = faces(n, dim)
            runs[n] = run_engine(x, args)
            report("engine", n, dim, *runs[n], truth)
            system = run_system(x, args)
            report("system", n, dim, *system, truth)
            slowest[n] = max(slowest.get(n, 0.0), system[0])
        if args.naive_n:
            x, truth = faces(args.naive_n, dim)
            mine, labels = runs[args.naive_n] if args.naive_n in runs else run_engine(x, args)
            naive, naive_labels = run_naive(x, args)
            report("sklearn", args.naive_n, dim, naive, naive_labels, truth)
            every, people = agreement(labels, naive_labels, truth)
            print(f"  sklearn/engine at n={args.naive_n} d={dim}: {naive / mine:.1f}x  ARI(engine, sklearn): "
                  f"{every:.4f} all faces, {people:.4f} faces of people with 2+ photos", flush=True)
    if 100_000 in slowest:
        print(f"cluster100k: {slowest[100_000]:.1f} seconds")  # engine + refinement, the slower dimension


if __name__ == "__main__":
    main()
