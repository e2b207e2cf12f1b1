"""Placing faces that are in no cluster into existing clusters, without re-clustering (incremental runs).

A face joins a cluster when its average distance to the cluster's faces is below the merge threshold (the
rule that joins two clusters, applied to a cluster of one) and clearly below its distance to any other."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from imgsearch.faces.embeddings import Matrix, distances

MARGIN = 0.03
_BLOCK = 512


def attach_faces(x_loose: Matrix, x_members: Matrix, member_labels: npt.NDArray[np.int64],
                 threshold: float) -> npt.NDArray[np.int64]:
    """Label per loose face: a member label, or -1."""
    out = np.full(len(x_loose), -1, dtype=np.int64)
    if not len(x_loose) or not len(x_members):
        return out
    order = np.argsort(member_labels, kind="stable")
    sorted_labels = member_labels[order]
    members = x_members[order]
    starts = np.flatnonzero(np.r_[True, np.diff(sorted_labels) != 0])
    counts = np.diff(np.append(starts, len(sorted_labels))).astype(np.float32)
    cluster_of = sorted_labels[starts]
    for lo in range(0, len(x_loose), _BLOCK):
        average = np.add.reduceat(distances(x_loose[lo:lo + _BLOCK], members), starts, axis=1) / counts
        best = np.argmin(average, axis=1)
        rows = np.arange(len(average))
        s1 = average[rows, best]
        average[rows, best] = np.inf
        s2 = average.min(axis=1) if average.shape[1] > 1 else np.full(len(rows), np.inf)
        ok = (s1 < threshold) & (s2 - s1 >= MARGIN)
        out[lo:lo + _BLOCK][ok] = cluster_of[best[ok]]
    return out
