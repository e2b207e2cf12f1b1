"""Nearest neighbours for the clustering engine, from BLAS matrix products (euclidean distance).

``IvfIndex`` is an inverted file: k-means cells, and every point searched only in the ``nprobe`` cells
whose centroids are nearest to it, so a search costs about n · nprobe · (n / nlist) · d instead of n² · d.
Faces of one person are tight and far from everyone else's, so they share a cell or sit in neighbouring
ones: the near neighbours that shape the clusters are found; the far ones (other people) are approximate.
``exact_outside`` scores chosen rows against every point, for the rare component the cells cannot link.

Memory stays O(n · nprobe · k) plus one block of at most ``BLOCK`` scores."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]

F32 = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]
BLOCK = 1 << 22  # scores per block (16 MiB of float32)


def sq_norms(x: F32) -> F32:
    norms: F32 = np.einsum("ij,ij->i", x, x)
    return norms


def sq_dists(q: F32, q_sq: F32, db: F32, db_sq: F32) -> F32:
    """Squared euclidean distances, (len(q), len(db)), clipped at 0 against rounding."""
    d2: F32 = q @ db.T
    d2 *= -2.0
    d2 += db_sq
    d2 += q_sq[:, None]
    return np.maximum(d2, 0.0, out=d2)


def top_k(scores: F32, k: int) -> tuple[IntArray, F32]:
    """Per row: the columns of the k smallest scores, ascending (ties: lowest column first)."""
    rows, width = scores.shape
    if k >= width:
        order = np.argsort(scores, axis=1, kind="stable")
        return order, np.take_along_axis(scores, order, axis=1)
    if 16 * k <= width:  # a few SIMD argmin sweeps beat a partition of wide rows several times over
        scores = scores.copy()
        cols = np.empty((rows, k), dtype=np.intp)
        vals = np.empty((rows, k), dtype=scores.dtype)
        r = np.arange(rows)
        for j in range(k):
            cols[:, j] = c = np.argmin(scores, axis=1)
            vals[:, j] = scores[r, c]
            scores[r, c] = np.inf
        return cols, vals
    cols = np.argpartition(scores, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(scores, cols, axis=1)
    order = np.argsort(vals, axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1), np.take_along_axis(vals, order, axis=1)


def exact_neighbours(q: F32, db: F32, k: int, self_rows: IntArray | None = None) -> tuple[IntArray, F32]:
    """The k nearest rows of db for each row of q, ascending: (indices, distances). With self_rows,
    query i is db[self_rows[i]] and does not count as its own neighbour. Needs k < len(db) then."""
    k = min(k, len(db) - (self_rows is not None))
    idx = np.empty((len(q), k), dtype=np.intp)
    dist = np.empty((len(q), k), dtype=np.float32)
    q_sq, db_sq = sq_norms(q), sq_norms(db)
    step = max(1, BLOCK // max(1, len(db)))
    for start in range(0, len(q), step):
        stop = min(len(q), start + step)
        d2 = sq_dists(q[start:stop], q_sq[start:stop], db, db_sq)
        if self_rows is not None:
            d2[np.arange(stop - start), self_rows[start:stop]] = np.inf
        idx[start:stop], d2_best = top_k(d2, k)
        dist[start:stop] = np.sqrt(d2_best)
    return idx, dist


def with_reverse(idx: IntArray, dist: F32) -> tuple[IntArray, F32]:
    """Each point's k nearest among what it found and the points that found it (j lists i: i is near j).
    An approximate search misses pairs one way round far more often than both ways round."""
    n, k = idx.shape
    found = idx.ravel() >= 0
    rows = np.repeat(np.arange(n), k)[found]
    src, dst = np.r_[rows, idx.ravel()[found]], np.r_[idx.ravel()[found], rows]
    d = np.r_[dist.ravel()[found], dist.ravel()[found]]
    pair = src * n + dst
    order = np.argsort(pair, kind="stable")
    order = order[np.r_[True, pair[order][1:] != pair[order][:-1]]]  # a pair found both ways: once
    src, dst, d = src[order], dst[order], d[order]
    order = np.argsort(src * (2.0 * float(d.max(initial=0.0)) + 1.0) + d, kind="stable")  # by row, then d
    src, dst, d = src[order], dst[order], d[order]
    rank = np.arange(len(src)) - np.searchsorted(src, src)
    keep = rank < k
    out_idx = np.full((n, k), -1, dtype=np.intp)
    out_dist = np.full((n, k), np.inf, dtype=np.float32)
    out_idx[src[keep], rank[keep]] = dst[keep]
    out_dist[src[keep], rank[keep]] = d[keep]
    return out_idx, out_dist


def exact_outside(x: F32, sq: F32, rows: IntArray, comp: IntArray, core: F32) -> tuple[IntArray, F32]:
    """For each of rows: the point of another component at the least mutual-reachability distance."""
    best_j = np.full(len(rows), -1, dtype=np.intp)
    best_mr = np.full(len(rows), np.inf, dtype=np.float32)
    step = max(1, BLOCK // max(1, len(x)))
    for start in range(0, len(rows), step):
        r = rows[start:start + step]
        mr = _mutual_reachability(x[r], sq[r], core[r], x, sq, core)
        mr[comp[r][:, None] == comp[None, :]] = np.inf
        j = np.argmin(mr, axis=1)
        best_j[start:start + step] = j
        best_mr[start:start + step] = mr[np.arange(len(r)), j]
    return best_j, best_mr


def _mutual_reachability(q: F32, q_sq: F32, q_core: F32, db: F32, db_sq: F32, db_core: F32) -> F32:
    mr = np.sqrt(sq_dists(q, q_sq, db, db_sq))
    np.maximum(mr, q_core[:, None], out=mr)
    return np.maximum(mr, db_core[None, :], out=mr)


@dataclass(frozen=True)
class IvfIndex:
    x: F32
    sq: F32
    centroids: F32
    probes: IntArray  # (n, nprobe): each point's nearest cells, nearest first (its own cell first)
    members: IntArray  # points ordered by their own cell
    starts: IntArray  # cell c holds members[starts[c]:starts[c + 1]]

    @classmethod
    def build(cls, x: F32, *, cell_size: int = 100, nprobe: int = 8, seed: int = 0) -> IvfIndex:
        """k-means cells of about cell_size points; cells over twice that are split by k-means again,
        since one crowded cell probed by many points would cost more than all the others."""
        rng = np.random.default_rng(seed)
        nlist = max(1, min(len(x), round(len(x) / cell_size)))
        sample = x[np.sort(rng.choice(len(x), min(len(x), nlist * 20), replace=False))]
        # unit rows (face embeddings): spherical k-means. Plain centroids of loose cells are short, and
        # short centroids pull in every far point (the strangers), making a few huge cells.
        sq = sq_norms(x)
        spherical = bool(np.all(np.abs(sq - 1.0) < 1e-3))
        centroids = _kmeans(sample, nlist, 5, spherical, rng)
        centroids = _split_crowded(sample, centroids, cell_size * len(sample) / len(x), spherical, rng)
        probes = _nearest_cells(x, centroids, nprobe, None)
        members = np.argsort(probes[:, 0], kind="stable")
        starts = np.searchsorted(probes[members, 0], np.arange(len(centroids) + 1))
        return cls(x, sq, centroids, probes, members, starts)

    def _blocks(self, probes: IntArray) -> Iterator[tuple[IntArray, IntArray, IntArray, F32]]:
        """(queries, their probe slot, cell members, squared distances) for every probed cell."""
        nprobe = probes.shape[1]
        flat = np.argsort(probes.ravel(), kind="stable")  # -1 (no cell) sorts first and is never read
        q_starts = np.searchsorted(probes.ravel()[flat], np.arange(len(self.starts)))
        for c in range(len(self.starts) - 1):
            db = self.members[self.starts[c]:self.starts[c + 1]]
            if len(db) == 0:
                continue
            picked = flat[q_starts[c]:q_starts[c + 1]]
            step = max(1, BLOCK // len(db))
            for start in range(0, len(picked), step):
                chunk = picked[start:start + step]
                q = chunk // nprobe
                d2 = sq_dists(self.x[q], self.sq[q], self.x[db], self.sq[db])
                yield q, chunk % nprobe, db, d2

    def knn(self, k: int) -> tuple[IntArray, F32]:
        """k nearest other points per point, ascending: (indices, distances); missing ones are -1/inf."""
        n, nprobe = self.probes.shape
        cand_i = np.full((n, nprobe, k), -1, dtype=np.int32)  # memory: n · nprobe · k · 8 bytes
        cand_d = np.full((n, nprobe, k), np.inf, dtype=np.float32)
        for q, slot, db, d2 in self._blocks(self.probes):
            d2[q[:, None] == db[None, :]] = np.inf  # a point is not its own neighbour
            kk = min(k, len(db))
            cols, vals = top_k(d2, kk)
            cand_i[q, slot, :kk] = db[cols]
            cand_d[q, slot, :kk] = vals
        cols, d2_best = top_k(cand_d.reshape(n, -1), k)
        idx = np.take_along_axis(cand_i.reshape(n, -1), cols, axis=1).astype(np.intp)
        return idx, np.sqrt(d2_best)

    def nearest_outside(self, comp: IntArray, core: F32, nprobe: int) -> tuple[IntArray, F32]:
        """Per point: the point of another component at the least mutual-reachability distance among
        the nprobe nearest cells that hold any point of another component."""
        cells = comp[self.members]
        lo = np.full(len(self.starts) - 1, -1, dtype=np.intp)
        hi = np.full(len(self.starts) - 1, -2, dtype=np.intp)  # empty cells: lo != hi, never probed
        filled = np.flatnonzero(np.diff(self.starts) > 0)
        lo[filled] = np.minimum.reduceat(cells, self.starts[filled])
        hi[filled] = np.maximum.reduceat(cells, self.starts[filled])
        only = np.where(lo == hi, lo, -1)  # the one component a cell holds, or -1 if mixed
        probes = _nearest_cells(self.x, self.centroids, nprobe, (only, comp, np.diff(self.starts) == 0))
        best_j = np.full(len(self.x), -1, dtype=np.intp)
        best_mr = np.full(len(self.x), np.inf, dtype=np.float32)
        for q, _, db, d2 in self._blocks(probes):
            mr = np.sqrt(d2, out=d2)
            np.maximum(mr, core[q][:, None], out=mr)
            np.maximum(mr, core[db][None, :], out=mr)
            mr[comp[q][:, None] == comp[db][None, :]] = np.inf
            j = np.argmin(mr, axis=1)
            v = mr[np.arange(len(q)), j]
            better = v < best_mr[q]  # a query appears at most once per cell block
            best_mr[q[better]] = v[better]
            best_j[q[better]] = db[j[better]]
        return best_j, best_mr


def _nearest_cells(x: F32, centroids: F32, nprobe: int,
                   skip: tuple[IntArray, IntArray, npt.NDArray[np.bool_]] | None) -> IntArray:
    """Each point's nprobe nearest cells, nearest first. With skip = (only, comp, empty): leave out
    empty cells and cells holding nothing but the point's own component; missing probes are -1."""
    nlist = len(centroids)
    nprobe = min(nprobe, nlist)
    c_sq = sq_norms(centroids)
    probes = np.empty((len(x), nprobe), dtype=np.intp)
    step = max(1, BLOCK // nlist)
    for start in range(0, len(x), step):
        stop = min(len(x), start + step)
        scores = c_sq - 2.0 * (x[start:stop] @ centroids.T)
        if skip is not None:
            only, comp, empty = skip
            scores[(only[None, :] == comp[start:stop, None]) | empty[None, :]] = np.inf
        cols, vals = top_k(scores, nprobe)
        probes[start:stop] = np.where(np.isfinite(vals), cols, -1)
    return probes


def _split_crowded(sample: F32, centroids: F32, per_cell: float, spherical: bool,
                   rng: np.random.Generator) -> F32:
    """Split, by k-means again, the cells that hold over twice per_cell of the sample; drop empty ones."""
    own = _nearest_cells(sample, centroids, 1, None)[:, 0]
    sizes = np.bincount(own, minlength=len(centroids))
    kept = [centroids[(sizes > 0) & (sizes <= 2 * per_cell)]]
    order = np.argsort(own, kind="stable")
    starts = np.searchsorted(own[order], np.arange(len(centroids) + 1))
    for c in np.flatnonzero(sizes > 2 * per_cell).tolist():
        points = sample[order[starts[c]:starts[c + 1]]]
        kept.append(_kmeans(points, round(len(points) / per_cell), 4, spherical, rng))
    return np.ascontiguousarray(np.concatenate(kept), dtype=np.float32)


def _kmeans(points: F32, k: int, iters: int, spherical: bool, rng: np.random.Generator) -> F32:
    """Lloyd's k-means; cells only need to keep near points together, not be optimal."""
    centroids = points[rng.choice(len(points), k, replace=False)].copy()
    for _ in range(iters):
        assign = _nearest_cells(points, centroids, 1, None)[:, 0]
        onehot = sp.csr_matrix((np.ones(len(points), dtype=np.float32), (assign, np.arange(len(points)))),
                               shape=(k, len(points)))
        counts = np.bincount(assign, minlength=k)
        sums = np.asarray(onehot @ points, dtype=np.float32)
        empty = counts == 0
        centroids = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
        centroids[empty] = points[rng.choice(len(points), int(empty.sum()), replace=False)]
        if spherical:
            centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(centroids, dtype=np.float32)
