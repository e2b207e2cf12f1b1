"""HDBSCAN's tree stages: single linkage from a spanning tree, condensed tree, cluster selection, labels.

The rules are those of Campello et al. as implemented by ``sklearn.cluster.HDBSCAN`` (``_tree.pyx``):
lambda = 1 / distance (infinite at distance 0), a split survives only where both sides have at least
``min_cluster_size`` points, stability = Σ (λ_leave − λ_birth) · size, excess of mass keeps a cluster
unless its children's summed stability is strictly larger, ``cluster_selection_epsilon`` climbs from a
selected cluster born closer than epsilon to its lowest ancestor born farther than epsilon (never to the
root). The root is never a cluster (sklearn's ``allow_single_cluster=False``).

Condensed clusters are numbered 0 (root) .. m-1 so that a parent's number is below its children's,
and the two children of a split get consecutive numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SingleLinkage:
    """Merge i joins nodes left[i] and right[i] (points < n, merge j is node n + j) at distance[i]."""

    left: IntArray
    right: IntArray
    distance: FloatArray
    size: IntArray


@dataclass(frozen=True)
class CondensedTree:
    parent: IntArray  # per condensed cluster; -1 for the root
    birth: FloatArray  # lambda at which the cluster split off its parent (0 for the root)
    size: IntArray  # points in the cluster at its birth
    first_child: IntArray  # the first of its two children, -1 for a leaf
    point_cluster: IntArray  # per point: the cluster it falls out of
    point_lambda: FloatArray  # per point: the lambda at which it falls out

    @property
    def n_clusters(self) -> int:
        return len(self.parent)


def single_linkage(a: IntArray, b: IntArray, w: FloatArray, n: int) -> SingleLinkage:
    """Kruskal order over the n - 1 edges of a spanning tree (numpy's default sort, as sklearn's)."""
    order = np.argsort(w)
    ea, eb = a[order].tolist(), b[order].tolist()
    up = list(range(2 * n - 1))  # union-find parent; merge j becomes node n + j
    count = [1] * n + [0] * (n - 1)
    left, right, size = [0] * (n - 1), [0] * (n - 1), [0] * (n - 1)
    for j in range(n - 1):
        ra, rb = ea[j], eb[j]
        while up[ra] != ra:
            up[ra] = up[up[ra]]
            ra = up[ra]
        while up[rb] != rb:
            up[rb] = up[up[rb]]
            rb = up[rb]
        node = n + j
        up[ra] = up[rb] = node
        count[node] = count[ra] + count[rb]
        left[j], right[j], size[j] = ra, rb, count[node]
    return SingleLinkage(np.array(left, dtype=np.intp), np.array(right, dtype=np.intp),
                         np.asarray(w[order], dtype=np.float64), np.array(size, dtype=np.intp))


def condense(tree: SingleLinkage, min_cluster_size: int) -> CondensedTree:
    """Walk the merges from the top; a side smaller than min_cluster_size falls out of its cluster."""
    n = len(tree.left) + 1
    lefts, rights = tree.left.tolist(), tree.right.tolist()
    dists, sizes = tree.distance.tolist(), tree.size.tolist()
    label = [-1] * (n - 1)  # condensed cluster carried by each merge node; -1: fallen out
    fall_cluster, fall_lambda = [0] * (n - 1), [0.0] * (n - 1)
    point_cluster, point_lambda = [0] * n, [0.0] * n
    parent, birth, csize, first_child = [-1], [0.0], [n], [-1]
    if n > 1:
        label[n - 2] = 0

    def drop(child: int, cluster: int, lam: float) -> None:
        if child < n:
            point_cluster[child], point_lambda[child] = cluster, lam
        else:
            label[child - n], fall_cluster[child - n], fall_lambda[child - n] = -1, cluster, lam

    for j in range(n - 2, -1, -1):
        left, right, cluster = lefts[j], rights[j], label[j]
        if cluster < 0:  # inside a fallen-out subtree: its points leave where the subtree left
            drop(left, fall_cluster[j], fall_lambda[j])
            drop(right, fall_cluster[j], fall_lambda[j])
            continue
        lam = 1.0 / dists[j] if dists[j] > 0.0 else float("inf")
        left_size = sizes[left - n] if left >= n else 1
        right_size = sizes[right - n] if right >= n else 1
        left_big, right_big = left_size >= min_cluster_size, right_size >= min_cluster_size
        if left_big and right_big:
            first_child[cluster] = len(parent)
            for child, child_size in ((left, left_size), (right, right_size)):
                label[child - n] = len(parent)
                parent.append(cluster)
                birth.append(lam)
                csize.append(child_size)
                first_child.append(-1)
        else:
            for child, big in ((left, left_big), (right, right_big)):
                if big:  # the cluster goes on, one side shed
                    label[child - n] = cluster
                else:
                    drop(child, cluster, lam)
    return CondensedTree(np.array(parent, dtype=np.intp), np.array(birth, dtype=np.float64),
                         np.array(csize, dtype=np.intp), np.array(first_child, dtype=np.intp),
                         np.array(point_cluster, dtype=np.intp), np.array(point_lambda, dtype=np.float64))


def stabilities(tree: CondensedTree) -> FloatArray:
    m = tree.n_clusters
    with np.errstate(invalid="ignore"):  # inf - inf where a cluster is born at distance 0: NaN, as sklearn
        points = np.bincount(tree.point_cluster, tree.point_lambda - tree.birth[tree.point_cluster], m)
        kids = tree.parent[1:]
        children = np.bincount(kids, (tree.birth[1:] - tree.birth[kids]) * tree.size[1:], m)
    return np.asarray(points + children, dtype=np.float64)


def select_eom(tree: CondensedTree, stability: FloatArray) -> npt.NDArray[np.bool_]:
    best = stability.copy()
    chosen = np.zeros(tree.n_clusters, dtype=bool)
    first = tree.first_child.tolist()
    for c in range(tree.n_clusters - 1, 0, -1):
        f = first[c]
        below = best[f] + best[f + 1] if f >= 0 else 0.0
        if below > best[c]:
            best[c] = below
        else:
            chosen[c] = True
    return _outermost(tree, chosen)


def select_leaves(tree: CondensedTree) -> npt.NDArray[np.bool_]:
    leaves = tree.first_child < 0
    leaves[0] = False
    return leaves


def apply_epsilon(tree: CondensedTree, selected: npt.NDArray[np.bool_],
                  epsilon: float) -> npt.NDArray[np.bool_]:
    """Replace a selected cluster born closer than epsilon by its lowest ancestor born beyond epsilon."""
    with np.errstate(divide="ignore"):
        born_at = 1.0 / tree.birth  # distance at birth; inf for the root
    out = np.zeros_like(selected)
    for c in np.flatnonzero(selected).tolist():
        node = c
        if born_at[c] < epsilon:
            while tree.parent[node] != 0 and born_at[tree.parent[node]] <= epsilon:
                node = int(tree.parent[node])
            if tree.parent[node] != 0:
                node = int(tree.parent[node])
        out[node] = True
    return _outermost(tree, out)


def _outermost(tree: CondensedTree, flagged: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Keep flagged clusters that have no flagged ancestor."""
    covered = np.zeros(tree.n_clusters, dtype=bool)
    keep = flagged.copy()
    parent = tree.parent.tolist()
    for c in range(1, tree.n_clusters):
        p = parent[c]
        covered[c] = covered[p] or keep[p]
        if covered[c]:
            keep[c] = False
    return keep


def label_points(tree: CondensedTree, selected: npt.NDArray[np.bool_]) -> tuple[IntArray, FloatArray]:
    """Labels 0..k-1 in condensed-cluster order (-1 noise) and sklearn's membership probabilities."""
    clusters = np.flatnonzero(selected)
    own = np.full(tree.n_clusters, -1, dtype=np.intp)
    own[clusters] = np.arange(len(clusters))
    of_cluster = own.tolist()
    parent = tree.parent.tolist()
    for c in range(1, tree.n_clusters):
        if of_cluster[c] < 0:
            of_cluster[c] = of_cluster[parent[c]]
    labels = np.asarray(of_cluster, dtype=np.intp)[tree.point_cluster]
    # a cluster's death: the largest lambda at which anything (point or child cluster) leaves it
    death = np.zeros(tree.n_clusters, dtype=np.float64)
    np.maximum.at(death, tree.point_cluster, tree.point_lambda)
    np.maximum.at(death, tree.parent[1:], tree.birth[1:])
    probabilities = np.zeros(len(labels), dtype=np.float64)
    member = labels >= 0
    top = death[clusters[labels[member]]]
    lam = tree.point_lambda[member]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.minimum(lam, top) / top
    probabilities[member] = np.where((top == 0.0) | np.isinf(lam), 1.0, ratio)
    return labels, probabilities
