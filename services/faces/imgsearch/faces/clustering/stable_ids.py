"""Persistent cluster ids across re-clusterings: a person's pile keeps its id while its faces stay together.

Rule: count, for every new cluster and previous id, the faces they share. A pair is a candidate when the
shared faces are at least half of the previous cluster's surviving members (its faces still being
clustered — faces assigned to people meanwhile have left) or at least half of the new cluster. Candidates
are taken greedily, largest overlap first, one-to-one. So a cluster that splits keeps its id on its
largest part, two that merge keep the id of the larger contributor, and a relabelling changes nothing.
New clusters left unmatched get ``new_id()``, called in ascending label order. Noise (-1) gets no id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

SHARE = 0.5


def assign_stable_ids(labels: npt.NDArray[np.integer], face_ids: Sequence[str],
                      previous: Mapping[str, int], new_id: Callable[[], int]) -> dict[int, int]:
    """Map each new label (>= 0) to a persistent cluster id. labels[i] is the label of face_ids[i];
    previous maps face id → persistent cluster id from the last clustering (noise faces absent)."""
    if len(labels) != len(face_ids):
        raise ValueError(f"{len(labels)} labels for {len(face_ids)} faces")
    label_list = [int(label) for label in labels]
    new_size = Counter(label for label in label_list if label >= 0)
    surviving: Counter[int] = Counter()
    shared: Counter[tuple[int, int]] = Counter()
    for face, label in zip(face_ids, label_list, strict=True):
        old = previous.get(face)
        if old is None:
            continue
        surviving[old] += 1
        if label >= 0:
            shared[label, old] += 1
    candidates = sorted(
        ((count, label, old) for (label, old), count in shared.items()
         if count >= SHARE * surviving[old] or count >= SHARE * new_size[label]),
        key=lambda c: (-c[0], c[2], c[1]))
    ids: dict[int, int] = {}
    taken: set[int] = set()
    for _, label, old in candidates:
        if label not in ids and old not in taken:
            ids[label] = old
            taken.add(old)
    for label in sorted(new_size):
        if label not in ids:
            ids[label] = new_id()
    return ids
